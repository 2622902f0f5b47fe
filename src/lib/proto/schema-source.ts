// The one place commands get their message types (`--schema local|fleet|auto`): the .proto files of
// proto/ (and --proto), or the descriptor sets the running fleet serves (fleet-schema.ts), cached by
// digest. `auto` is local when there is a proto/ folder above the working directory (or --proto),
// else fleet: an operator without a checkout needs nothing but a server URL; where the fleet cannot
// tell (services built before reflection, or none running), the .proto files shipped with gs.
import { readFileSync } from "node:fs";
import path from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import { ProtoRegistry, findProtoDir } from "@gs/fleet/sdk/registry";
import { closestNames } from "@gs/fleet/sdk/closest-names";
import { UsageError } from "../output/errors.js";
import {
  digestGroups,
  fetchDescriptorSetByDigest,
  instanceSchemas,
  noSchemaServed,
  schemaCacheDir,
  writeCacheFile,
  type InstanceSchema,
} from "./fleet-schema.js";
import { loadRegistry, loadRegistryForSubject } from "./load.js";
import type { SchemaMode } from "./schema-mode.js";
import type protobuf from "protobufjs";

export interface SchemaOptions {
  cwd: string;
  /** --proto directories */
  extra?: string[];
  mode: SchemaMode;
  /** per NATS round trip */
  timeoutMs: number;
  /** default `schemaCacheDir()`; null: no cache */
  cacheDir?: string | null;
  /** keep comments of local .proto files (descriptor sets from the fleet always carry theirs) */
  comments?: boolean;
}

/** The schema options of a command's flags (`schemaFlags` and `--timeout`), from the working directory. */
export function schemaOptionsOf(
  flags: { proto?: string[]; schema: SchemaMode; timeout: number },
  more: Partial<SchemaOptions> = {},
): SchemaOptions {
  return { cwd: process.cwd(), extra: flags.proto, mode: flags.schema, timeoutMs: flags.timeout, ...more };
}

/** Where the types came from: `fleet` lists the set each service's instances serve. */
export interface SchemaOrigin {
  source: "local" | "fleet";
  services?: { service: string; digest: string; versions: string[] }[];
}

export interface ResolvedSchema extends SchemaOrigin {
  registry: ProtoRegistry;
}

/** Opens the NATS connection when the schema needs it; the command keeps and closes it. */
export type Connect = () => Promise<NatsConnection>;

/** Whether `opts` resolves from local files (no NATS needed) or from the fleet. */
export function schemaSource(opts: SchemaOptions): "local" | "fleet" {
  if (opts.mode === "fleet") {
    if (opts.extra?.length)
      throw new UsageError("--proto reads local .proto files, --schema fleet the fleet's", "drop one of them");
    return "fleet";
  }
  if (opts.mode === "local") return "local";
  return opts.extra?.length || findProtoDir(opts.cwd) ? "local" : "fleet";
}

/** The service a subject belongs to by the convention: `auth.login` -> auth, `events.auth.x` -> auth. */
export function serviceOfSubject(subject: string): string | undefined {
  const t = subject.split(".");
  const name = t[0] === "events" ? t[1] : t[0];
  // a fleet service name is short (ECS allows 255 for a whole service name); a longer token is no service,
  // and asking $SRV.INFO.<it> could pass the server's control-line limit, which closes the connection
  return name && name.length <= 64 && /^[a-z][a-z0-9-]*$/.test(name) ? name : undefined;
}

/**
 * The types for one subject (`gs request`, `publish`, `bench`): locally, only its service's package
 * is parsed; from the fleet, only its service's set is fetched, from the first instance that answers.
 */
export async function schemaForSubject(
  opts: SchemaOptions,
  subject: string,
  connect: Connect,
  how: { typesOptional?: boolean } = {},
): Promise<ResolvedSchema> {
  if (schemaSource(opts) === "local") {
    return { registry: loadRegistryForSubject({ cwd: opts.cwd, extra: opts.extra, subject }), source: "local" };
  }
  // raw bytes need no types: the fleet is not asked for them
  if (how.typesOptional) return noTypes();
  try {
    return await fleetSchemaForSubject(opts, subject, connect);
  } catch (err) {
    const shipped = opts.mode === "auto" && fleetCannotTell(err) ? shippedSchemaFor(opts, subject) : undefined;
    if (shipped) return shipped;
    throw err;
  }
}

/** The fleet could not give the types: no instance of the subject's service runs, or those that run serve none. */
function fleetCannotTell(err: unknown): boolean {
  return err instanceof UsageError && (err.code === "unknown_subject" || err.code === "schema_unavailable");
}

/**
 * `auto` without a proto/ folder, when the fleet cannot give a subject's types: the .proto files shipped
 * with gs, when they know the subject or its service. An ECS fleet still on images built before reflection is then
 * answered as before, until it is redeployed; a subject they do not know keeps the fleet's error.
 */
function shippedSchemaFor(opts: SchemaOptions, subject: string): ResolvedSchema | undefined {
  let registry: ProtoRegistry;
  try {
    registry = loadRegistryForSubject({ cwd: opts.cwd, extra: opts.extra, subject });
  } catch {
    return undefined;
  }
  // the subject, or its service (a mistyped rpc then gets the usual suggestions from those files)
  const service = serviceOfSubject(subject);
  const known = registry.rpc(subject) || registry.event(subject) || registry.services.some((s) => s.name === service);
  return known ? { registry, source: "local" } : undefined;
}

async function fleetSchemaForSubject(opts: SchemaOptions, subject: string, connect: Connect): Promise<ResolvedSchema> {
  const service = serviceOfSubject(subject);
  const nc = await connect();
  if (service) {
    const infos = await instanceSchemas(nc, service, { timeoutMs: opts.timeoutMs, instances: "first" });
    const first = infos[0];
    if (first?.digest) {
      const bytes = await fetchDescriptorSetByDigest(nc, service, first.digest, {
        timeoutMs: opts.timeoutMs,
        cacheDir: cacheDirOf(opts),
      });
      const registry = await registryOfSets([{ digest: first.digest, bytes }], cacheDirOf(opts));
      return {
        registry,
        source: "fleet",
        services: [{ service, digest: first.digest, versions: [first.version] }],
      };
    }
    if (first) throw noSchemaServed(service);
  }
  // no such service runs: suggest the subjects the fleet does serve
  const all = await instanceSchemas(nc, undefined, { timeoutMs: opts.timeoutMs });
  const known = [...new Set(all.flatMap((i) => i.subjects))];
  const close = closestNames(subject, known, 3);
  throw new UsageError(
    `the fleet serves no subject ${subject}${close.length ? ` (did you mean ${close.join(", ")}?)` : ""}`,
    all.length
      ? "`gs subjects` lists the subjects it serves; use --raw to send bytes to any subject"
      : "no service answers $SRV.INFO: check --server and that the fleet runs (`gs status`)",
    "unknown_subject",
  );
}

/** The types of every service (`gs subjects`, `subscribe`, `describe`): all of proto/, or every set the fleet serves. */
export async function schemaForFleet(
  opts: SchemaOptions,
  connect: Connect,
  how: { typesOptional?: boolean } = {},
): Promise<ResolvedSchema> {
  if (schemaSource(opts) === "local")
    return { registry: loadRegistry({ cwd: opts.cwd, extra: opts.extra, comments: opts.comments }), source: "local" };
  if (how.typesOptional) return noTypes();
  const nc = await connect();
  const infos = await instanceSchemas(nc, undefined, { timeoutMs: opts.timeoutMs });
  const chosen = choosePerService(infos);
  if (chosen.length === 0) {
    // auto: a fleet built before reflection (or none running) is read with the .proto files shipped with gs
    if (opts.mode === "auto")
      return { registry: loadRegistry({ cwd: opts.cwd, extra: opts.extra, comments: opts.comments }), source: "local" };
    throw new UsageError(
      infos.length
        ? "no running service serves its schema (they were built before reflection)"
        : "no service answers $SRV.INFO, so there are no schemas to read",
      infos.length
        ? "redeploy the services with this gs, or use local .proto files with --schema local --proto DIR"
        : "check --server and that the fleet runs (`gs status`)",
      "schema_unavailable",
    );
  }
  const sets = await Promise.all(
    chosen.map(async (c) => ({
      digest: c.digest,
      bytes: await fetchDescriptorSetByDigest(nc, c.service, c.digest, {
        timeoutMs: opts.timeoutMs,
        cacheDir: cacheDirOf(opts),
      }),
    })),
  );
  return { registry: await registryOfSets(sets, cacheDirOf(opts)), source: "fleet", services: chosen };
}

function noTypes(): ResolvedSchema {
  return { registry: ProtoRegistry.fromDescriptor({ nested: {} }), source: "fleet", services: [] };
}

function cacheDirOf(opts: SchemaOptions): string | null {
  return opts.cacheDir === undefined ? schemaCacheDir() : opts.cacheDir;
}

/** Per service, the digest most of its instances serve. */
function choosePerService(infos: InstanceSchema[]): { service: string; digest: string; versions: string[] }[] {
  const byService = new Map<string, InstanceSchema[]>();
  for (const i of infos) byService.set(i.service, [...(byService.get(i.service) ?? []), i]);
  return [...byService.entries()]
    .flatMap(([service, instances]) => {
      const best = digestGroups(instances)[0];
      return best ? [{ service, digest: best.digest, versions: best.versions }] : [];
    })
    .sort((a, b) => a.service.localeCompare(b.service));
}

/**
 * One registry over descriptor sets. Each set is turned into protobufjs's JSON form once, comments
 * included, and cached beside its bytes as `<digest>.json`: loading that is what a warm `gs request`
 * pays, instead of decoding the descriptors again.
 */
export async function registryOfSets(
  sets: { digest: string; bytes: Uint8Array }[],
  cacheDir: string | null,
): Promise<ProtoRegistry> {
  const merged: protobuf.INamespace = { nested: {} };
  for (const set of sets) mergeNamespace(merged, await namespaceOfSet(set, cacheDir));
  try {
    return ProtoRegistry.fromDescriptor(merged);
  } catch (err) {
    throw new UsageError(
      `the fleet's schemas do not load: ${(err as Error).message}`,
      "use local .proto files with --schema local --proto DIR",
      "schema_unavailable",
      err,
    );
  }
}

async function namespaceOfSet(
  set: { digest: string; bytes: Uint8Array },
  cacheDir: string | null,
): Promise<protobuf.INamespace> {
  const file = cacheDir && path.join(cacheDir, `${set.digest}.json`);
  if (file) {
    try {
      return JSON.parse(readFileSync(file, "utf8")) as protobuf.INamespace;
    } catch {
      // not cached yet (or unreadable): convert below
    }
  }
  // the descriptor extension is loaded only here: a warm cache never pays for it
  const { namespaceOfDescriptorSet } = await import("./descriptor-json.js");
  const ns = namespaceOfDescriptorSet(set.bytes);
  if (cacheDir) writeCacheFile(cacheDir, `${set.digest}.json`, JSON.stringify(ns));
  return ns;
}

/** Add `src`'s definitions to `into`; a definition both have (a shared import) is kept once. */
function mergeNamespace(into: protobuf.INamespace, src: protobuf.INamespace): void {
  into.nested ??= {};
  for (const [name, def] of Object.entries(src.nested ?? {})) {
    const have = into.nested[name];
    if (!have) into.nested[name] = def;
    else if (isPlainNamespace(have) && isPlainNamespace(def)) mergeNamespace(have, def);
  }
}

function isPlainNamespace(def: protobuf.AnyNestedObject): def is protobuf.INamespace {
  return !("fields" in def) && !("methods" in def) && !("values" in def);
}
