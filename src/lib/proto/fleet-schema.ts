// The client side of reflection over NATS (services/sdk/schema.ts, docs/schemas.md): which descriptor
// set a service's running instances serve, its bytes, and a cache of them by digest so a set is
// fetched once per machine.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { errors, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { SCHEMA_DIGEST_KEY, SCHEMA_SUBJECT_KEY, schemaDigest, schemaSubject } from "@gs/fleet/sdk/schema";
import { UsageError } from "../output/errors.js";

/** What a service's instances serve, as `fetchServiceDescriptorSet` found it. */
export interface FleetDescriptorSet {
  /** sha256 hex of `bytes` */
  digest: string;
  /** the google.protobuf.FileDescriptorSet, imports and source info included */
  bytes: Uint8Array;
  /** the versions of the instances serving this digest (the one most instances run); when they disagree, `others` has the rest */
  versions: string[];
  /** how many instances serve this digest */
  instances: number;
  /** the other digests running at the same time (a rollout in progress), most instances first */
  others: { digest: string; versions: string[]; instances: number }[];
}

export interface FetchSchemaOptions {
  /** per round trip; default 5000 */
  timeoutMs?: number;
  /** where sets are cached by digest; default `schemaCacheDir()`; null: no cache */
  cacheDir?: string | null;
  /**
   * `all` (default): gather every instance's $SRV.INFO and take the digest most run.
   * `first`: the first instance that answers (one round trip; what a one-off request needs).
   */
  instances?: "all" | "first";
}

/** One instance's identity and advertised schema, from its $SRV.INFO reply. */
export interface InstanceSchema {
  service: string;
  id: string;
  version: string;
  /** undefined when the instance advertises no schema (built before reflection) */
  digest?: string;
  subject?: string;
  /** the rpc subjects it serves */
  subjects: string[];
}

/** `$XDG_CACHE_HOME/gs/schemas`, else `~/.cache/gs/schemas`. */
export function schemaCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return path.join(base, "gs", "schemas");
}

/** A cached set of `digest`, undefined when absent or not what its name says. */
export function readCachedSet(cacheDir: string, digest: string): Uint8Array | undefined {
  try {
    const bytes = new Uint8Array(readFileSync(path.join(cacheDir, `${digest}.binpb`)));
    return schemaDigest(bytes) === digest ? bytes : undefined;
  } catch {
    return undefined;
  }
}

/** Write a file of the cache atomically; a cache that cannot be written (read-only home) is no error. */
export function writeCacheFile(cacheDir: string, name: string, data: Uint8Array | string): void {
  try {
    mkdirSync(cacheDir, { recursive: true });
    const tmp = path.join(cacheDir, `.${name}.${process.pid}.tmp`);
    writeFileSync(tmp, data);
    renameSync(tmp, path.join(cacheDir, name));
  } catch {
    // the cache only saves a round trip next time
  }
}

const INFO_STALL_MS = 250;

function parseInfo(msg: Msg): InstanceSchema | undefined {
  try {
    const info = msg.json<{
      name?: string;
      id?: string;
      version?: string;
      metadata?: Record<string, string> | null;
      endpoints?: { subject?: string }[] | null;
    }>();
    if (!info.name || !info.id) return undefined;
    const digest = info.metadata?.[SCHEMA_DIGEST_KEY];
    return {
      service: info.name,
      id: info.id,
      version: info.version ?? "",
      digest: digest && /^[0-9a-f]{64}$/.test(digest) ? digest : undefined,
      subject: info.metadata?.[SCHEMA_SUBJECT_KEY],
      subjects: (info.endpoints ?? []).map((e) => e.subject ?? "").filter(Boolean),
    };
  } catch {
    return undefined; // not a micro INFO reply
  }
}

function isNoResponders(err: unknown): boolean {
  return err instanceof errors.NoRespondersError || (err instanceof errors.RequestError && err.isNoResponders());
}

/**
 * The $SRV.INFO of the running instances: of one service, or of every service when `service` is
 * undefined. `first` takes the first answer only. An empty list when nothing answers.
 */
export async function instanceSchemas(
  nc: NatsConnection,
  service: string | undefined,
  opts: { timeoutMs?: number; instances?: "all" | "first" } = {},
): Promise<InstanceSchema[]> {
  const subject = service ? `$SRV.INFO.${service}` : "$SRV.INFO";
  const timeout = opts.timeoutMs ?? 5000;
  const out: InstanceSchema[] = [];
  try {
    if (opts.instances === "first") {
      const info = parseInfo(await nc.request(subject, "", { timeout }));
      if (info) out.push(info);
    } else {
      const it = await nc.requestMany(subject, "", {
        strategy: "stall",
        stall: Math.min(INFO_STALL_MS, timeout),
        maxWait: timeout,
      });
      for await (const m of it) {
        const info = parseInfo(m);
        if (info) out.push(info);
      }
    }
  } catch (err) {
    if (isNoResponders(err) || err instanceof errors.TimeoutError) return out;
    throw err;
  }
  return out;
}

/** Instances grouped by the digest they advertise, most instances first (ties: the higher versions first); those without one are left out. */
export function digestGroups(instances: InstanceSchema[]): { digest: string; versions: string[]; instances: number }[] {
  const groups = new Map<string, { versions: Set<string>; instances: number }>();
  for (const i of instances) {
    if (!i.digest) continue;
    const g = groups.get(i.digest) ?? { versions: new Set<string>(), instances: 0 };
    g.versions.add(i.version);
    g.instances++;
    groups.set(i.digest, g);
  }
  return [...groups.entries()]
    .map(([digest, g]) => ({ digest, versions: [...g.versions].sort(), instances: g.instances }))
    .sort((a, b) => b.instances - a.instances || b.versions.join().localeCompare(a.versions.join()));
}

/** Fetch the set of `digest` from `service`'s instances (or the cache), checking it is what its digest says. */
export async function fetchDescriptorSetByDigest(
  nc: NatsConnection,
  service: string,
  digest: string,
  opts: { timeoutMs?: number; cacheDir?: string | null } = {},
): Promise<Uint8Array> {
  const cacheDir = opts.cacheDir === undefined ? schemaCacheDir() : opts.cacheDir;
  const cached = cacheDir ? readCachedSet(cacheDir, digest) : undefined;
  if (cached) return cached;
  const subject = schemaSubject(service, digest);
  let bytes: Uint8Array;
  try {
    bytes = (await nc.request(subject, "", { timeout: opts.timeoutMs ?? 5000 })).data;
  } catch (err) {
    const why = isNoResponders(err)
      ? "no instance answers on it"
      : err instanceof errors.TimeoutError
        ? "it timed out"
        : (err as Error).message;
    throw new UsageError(
      `cannot fetch ${service}'s schema from ${subject}: ${why}`,
      "check the service (`gs status`), or use local .proto files with --schema local --proto DIR",
      "schema_unavailable",
      err,
    );
  }
  if (schemaDigest(bytes) !== digest) {
    throw new UsageError(
      `${service} served a schema whose sha256 is not the digest it advertises (${digest.slice(0, 12)})`,
      "redeploy the service, or use local .proto files with --schema local --proto DIR",
      "schema_unavailable",
    );
  }
  if (cacheDir) writeCacheFile(cacheDir, `${digest}.binpb`, bytes);
  return bytes;
}

/**
 * The descriptor set `service`'s running instances serve: the digest from their $SRV.INFO (the one
 * most instances run when they disagree, the rest in `others`), the bytes from the cache or from
 * `gs.schema.<service>.<digest>`. Throws a UsageError (exit 2) when no instance runs, none
 * advertises a schema, or the set cannot be fetched; NATS connection errors pass through (exit 1).
 */
export async function fetchServiceDescriptorSet(
  nc: NatsConnection,
  service: string,
  opts: FetchSchemaOptions = {},
): Promise<FleetDescriptorSet> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const infos = await instanceSchemas(nc, service, { timeoutMs, instances: opts.instances });
  if (infos.length === 0) {
    throw new UsageError(
      `no running instance of ${service} answers $SRV.INFO.${service}`,
      "check the service name and that it runs (`gs status`), or use local .proto files with --schema local",
      "schema_unavailable",
    );
  }
  const groups = digestGroups(infos);
  const chosen = groups[0];
  if (!chosen) throw noSchemaServed(service);
  const bytes = await fetchDescriptorSetByDigest(nc, service, chosen.digest, { timeoutMs, cacheDir: opts.cacheDir });
  return { ...chosen, bytes, others: groups.slice(1) };
}

/** A service runs, but its instances advertise no schema (built before reflection). */
export function noSchemaServed(service: string): UsageError {
  return new UsageError(
    `${service} does not serve its schema (its instances advertise no ${SCHEMA_DIGEST_KEY}: built before reflection)`,
    "redeploy the service with this gs, or use local .proto files with --schema local --proto DIR",
    "schema_unavailable",
  );
}
