// The breaking-change check: each service's proto package in proto/ against what it is compatible with
// now — the descriptor set its running instances serve (reflection, fetched over NATS), or proto/ at a
// git ref — by buf's wire and JSON rules (buf.ts). `gs proto check` and the deploy gate share it.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import { GsError } from "../output/errors.js";
import { fetchServiceDescriptorSet } from "../proto/fleet-schema.js";
import { bufBreaking, type Violation } from "./buf.js";
import { protoAtRef } from "./git-snapshot.js";

export type { Violation };

export type Against =
  { kind: "fleet"; nc: NatsConnection; timeoutMs?: number; cacheDir?: string | null } | { kind: "git"; ref: string };

export interface ServiceCheck {
  /** the service, or the folder of shared protos (e.g. `gs`) a violation is in */
  service: string;
  status: "compatible" | "breaking" | "skipped";
  /** fleet: the digest of the descriptor set its instances serve; git: the commit */
  against?: string;
  /** skipped: why (e.g. no instance runs) */
  reason?: string;
  violations: Violation[];
}

export interface ContractReport {
  /** `fleet`, or the git ref as given */
  against: string;
  /** where the .proto files are (violations' files are relative to it) */
  protoDir: string;
  breaking: boolean;
  services: ServiceCheck[];
}

export interface CheckOptions {
  protoDir: string;
  /** the services to check (fleet names, e.g. `quest-system`) */
  services: string[];
  against: Against;
  /**
   * fleet: a service whose descriptors cannot be fetched is an error (true: services the user named)
   * or skipped with the reason (false: every service of proto/, some of which may not run)
   */
  strict?: boolean;
  /** parallel buf runs against the fleet (default 4) */
  concurrency?: number;
}

/** `quest-system` -> the folder of its package in proto/, `quest_system`. */
export const packageDirOf = (service: string): string => service.replace(/-/g, "_");

/** The services whose package folder holds a `service` definition (the fleet's services in proto/). */
export function servicesInProto(protoDir: string): string[] {
  return readdirSync(protoDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && /^[a-z][a-z0-9_]*$/.test(d.name) && hasService(path.join(protoDir, d.name)))
    .map((d) => d.name.replace(/_/g, "-"))
    .sort();
}

function hasService(dir: string): boolean {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory() ? hasService(full) : e.name.endsWith(".proto") && /^\s*service\s/m.test(readText(full)))
      return true;
  }
  return false;
}

function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

export async function checkContracts(opts: CheckOptions): Promise<ContractReport> {
  const services = opts.against.kind === "fleet" ? await againstFleet(opts, opts.against) : await againstRef(opts);
  return {
    against: opts.against.kind === "fleet" ? "fleet" : opts.against.ref,
    protoDir: opts.protoDir,
    breaking: services.some((s) => s.status === "breaking"),
    services,
  };
}

async function againstRef(opts: CheckOptions): Promise<ServiceCheck[]> {
  const ref = (opts.against as { ref: string }).ref;
  const snapshot = await protoAtRef(opts.protoDir, ref);
  try {
    const violations = await bufBreaking(opts.protoDir, snapshot.dir);
    const owner = (v: Violation) => ownerOf(v.file);
    const wanted = new Set(opts.services);
    const checks: ServiceCheck[] = opts.services.map((service) => {
      const mine = violations.filter((v) => owner(v) === service);
      return { service, status: mine.length ? "breaking" : "compatible", against: snapshot.commit, violations: mine };
    });
    // protos no service owns (gs/common/...): every service that imports them is affected
    const shared = groupBy(
      violations.filter((v) => !wanted.has(owner(v)) && !isServiceDir(opts.protoDir, v.file)),
      owner,
    );
    for (const [folder, vs] of shared)
      checks.push({ service: folder, status: "breaking", against: snapshot.commit, violations: vs });
    return checks;
  } finally {
    snapshot.remove();
  }
}

async function againstFleet(opts: CheckOptions, against: Extract<Against, { kind: "fleet" }>): Promise<ServiceCheck[]> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "gs-proto-check-"));
  const seen = new Set<string>();
  try {
    const checks = await mapLimit(opts.services, opts.concurrency ?? 4, async (service): Promise<ServiceCheck> => {
      let set: Awaited<ReturnType<typeof fetchServiceDescriptorSet>>;
      try {
        set = await fetchServiceDescriptorSet(against.nc, service, {
          timeoutMs: against.timeoutMs,
          cacheDir: against.cacheDir,
        });
      } catch (err) {
        // the service does not run, or serves no schema: nothing to be compatible with (unless it was named)
        if (!opts.strict && err instanceof GsError && err.code === "schema_unavailable")
          return { service, status: "skipped", reason: err.message, violations: [] };
        throw err;
      }
      const file = path.join(tmp, `${service}.binpb`);
      writeFileSync(file, set.bytes);
      const violations = await bufBreaking(opts.protoDir, file);
      return { service, status: violations.length ? "breaking" : "compatible", against: set.digest, violations };
    });
    // a change to a shared proto shows in every service that imports it: report it once, with the first
    for (const c of checks) {
      c.violations = c.violations.filter((v) => {
        const key = `${v.file}:${v.line}:${v.column}:${v.rule}:${v.message}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
    }
    return checks;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** `quest_system/v1/x.proto` -> quest-system; `gs/common/v1/common.proto` -> gs. */
function ownerOf(file: string): string {
  return (file.split("/")[0] ?? file).replace(/_/g, "-");
}

function isServiceDir(protoDir: string, file: string): boolean {
  const top = file.split("/")[0] ?? "";
  return existsSync(path.join(protoDir, top)) && hasService(path.join(protoDir, top));
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const i of items) out.set(key(i), [...(out.get(key(i)) ?? []), i]);
  return out;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}
