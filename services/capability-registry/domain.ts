// Capability leases: validation, TTL clamping, liveness, semver matching and the lookup order.

import type { Capability } from "../generated/capability_registry/v1/capability_registry.js";

// proto messages as generated from proto/ (services/generated)
export type { Capability };

/** A registration as stored: the ServiceInstance fields plus the lease end in ms for cheap comparisons. */
export interface Lease {
  instanceId: string;
  serviceName: string;
  capabilities: Capability[];
  version: string;
  metadata: Record<string, string>;
  ttlMs: number;
  registeredAt: string;
  lastHeartbeatAt: string;
  expiresAtMs: number;
}

export interface TtlLimits {
  defaultMs: number;
  minMs: number;
  maxMs: number;
}

export const INSTANCE_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;
export const SERVICE_NAME = /^[a-z][a-z0-9-]{0,62}$/;
export const CAPABILITY_NAME = /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$/;
export const METHOD_NAME = /^[A-Z][A-Za-z0-9]{0,63}$/;
const SEMVER = /^(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?$/;

/** "30s" / "1.5s" (proto3 JSON Duration) -> ms; "" -> 0. */
export function durationToMs(d: string | undefined): number {
  if (!d) return 0;
  const m = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(d);
  if (!m) return NaN;
  const ms = Number(m[2]) * 1000 + Math.round(Number(`0.${m[3] ?? "0"}`) * 1000);
  return m[1] ? -ms : ms;
}

export function msToDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(3).replace(/0+$/, "")}s`;
}

export function clampTtl(requestedMs: number, limits: TtlLimits): number {
  if (!requestedMs) return limits.defaultMs;
  return Math.min(limits.maxMs, Math.max(limits.minMs, requestedMs));
}

export function parseSemver(v: string): [number, number, number] | undefined {
  const m = SEMVER.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

export function compareSemver(a: string, b: string): number {
  const x = parseSemver(a) ?? [0, 0, 0];
  const y = parseSemver(b) ?? [0, 0, 0];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

/** Problems with a registration (empty = valid); capabilities get version "1.0.0" when none is given. */
export function validateRegistration(r: {
  instanceId: string;
  serviceName: string;
  capabilities: Capability[];
  metadata: Record<string, string>;
}): string[] {
  const p: string[] = [];
  if (!r.instanceId) p.push("instance_id is required");
  else if (!INSTANCE_ID.test(r.instanceId)) p.push("instance_id must be 1-128 characters of [A-Za-z0-9._:@-]");
  if (!r.serviceName) p.push("service_name is required");
  else if (!SERVICE_NAME.test(r.serviceName))
    p.push(`service_name "${r.serviceName}" must be kebab-case (e.g. quest-system)`);
  if (!r.capabilities.length) p.push("capabilities: at least one capability is required");
  if (r.capabilities.length > 64) p.push("capabilities: at most 64");
  const seen = new Set<string>();
  r.capabilities.forEach((c, i) => {
    if (!CAPABILITY_NAME.test(c.name) || c.name.length > 128)
      p.push(`capabilities[${i}].name "${c.name}" must be dotted lowercase (e.g. quest.start)`);
    if (seen.has(c.name)) p.push(`capabilities[${i}].name "${c.name}" is listed twice`);
    seen.add(c.name);
    if (c.version && !parseSemver(c.version))
      p.push(`capabilities[${i}].version "${c.version}" is not semver (e.g. 1.0.0)`);
    c.methods.forEach((m, j) => {
      if (!METHOD_NAME.test(m)) p.push(`capabilities[${i}].methods[${j}] "${m}" must be a PascalCase rpc name`);
    });
  });
  if (Object.keys(r.metadata).length > 32) p.push("metadata: at most 32 entries");
  for (const [k, v] of Object.entries(r.metadata))
    if (k.length > 64 || v.length > 512) p.push(`metadata.${k.slice(0, 64)}: key ≤ 64 and value ≤ 512 characters`);
  return p;
}

export function normalizeCapabilities(caps: Capability[]): Capability[] {
  return caps.map((c) => ({ name: c.name, version: c.version || "1.0.0", methods: [...new Set(c.methods)] }));
}

export const isLive = (l: Lease, now: number): boolean => l.expiresAtMs > now;

/** Whether a re-registration changes what the instance offers (registrations that change nothing publish no event). */
export function sameOffer(a: Lease, b: Pick<Lease, "serviceName" | "version" | "capabilities" | "metadata">): boolean {
  return (
    a.serviceName === b.serviceName &&
    a.version === b.version &&
    JSON.stringify(a.capabilities) === JSON.stringify(b.capabilities) &&
    JSON.stringify(a.metadata) === JSON.stringify(b.metadata)
  );
}

/** Live leases offering `capability` at `minVersion` or later, most recent heartbeat first. */
export function lookup(leases: Lease[], capability: string, minVersion: string, now: number): Lease[] {
  return leases
    .filter(
      (l) =>
        isLive(l, now) &&
        l.capabilities.some((c) => c.name === capability && (!minVersion || compareSemver(c.version, minVersion) >= 0)),
    )
    .sort((a, b) => b.lastHeartbeatAt.localeCompare(a.lastHeartbeatAt) || a.instanceId.localeCompare(b.instanceId));
}

export function capabilityIndex(leases: Lease[]): string[] {
  return [...new Set(leases.flatMap((l) => l.capabilities.map((c) => c.name)))].sort();
}
