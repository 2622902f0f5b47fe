// `gs status --watch` without the dashboard: one JSON document per poll (NDJSON), or, for logs and
// pipes, one plain line per change of state and nothing while nothing changes.
import { formatDuration } from "../output/format.js";
import { emptyNatsLayer, sourceLabel, type NatsLayer } from "../nats-layer/nats-layer.js";
import type { ServiceState } from "../platform/platform.js";
import type { RedisLayer } from "../redis-layer/redis-layer.js";
import { redisSummary } from "../redis-layer/redis-layer-text.js";
import {
  legacyState,
  SOURCES,
  type FleetSnapshot,
  type Health,
  type ServiceRow,
  type SourceHealth,
  type SourceName,
} from "./fleet-snapshot.js";
import type { ServiceStatus } from "./status.js";

/** One line of `gs status --watch --json`: the `gs status --json` fields, plus health, rates and source freshness. */
export interface StatusWatchJson {
  at: string;
  target: string;
  /**
   * the fleet's NATS connection (`available: false` with the `reason` when it could not be reached at
   * the start: the platform's view alone), and the NATS layer as `gs status --json` has it (empty
   * until read, or when not read)
   */
  nats: { server: string; down: boolean; available: boolean; reason?: string } & NatsLayer;
  lastPollAt: string | null;
  /** a local fleet's Redis Cluster as `gs status --json` has it; null without one (or until read) */
  redis: RedisLayer | null;
  /** `natsLayer`, `redisLayer`: present when the NATS layer, a Redis Cluster is read */
  sources: Record<SourceName, SourceHealth> & { natsLayer?: SourceHealth; redisLayer?: SourceHealth };
  services: (Omit<ServiceStatus, "responding" | "desired" | "running" | "pending" | "restarts" | "state"> & {
    desired: number | null;
    running: number | null;
    pending: number | null;
    restarts: number | null;
    /** null when NATS is down */
    responding: number | null;
    state: ServiceState | "silent" | null;
    health: Health;
    why: string;
    rps: number | null;
    errorRate: number | null;
    avgMs: number | null;
    progress: { running: number; desired: number } | null;
    lastEvent: { at: string; message: string } | null;
  })[];
  totals: FleetSnapshot["totals"];
}

export function toWatchJson(s: FleetSnapshot): StatusWatchJson {
  const round = (x: number | null, d = 3) => (x === null ? null : Math.round(x * 10 ** d) / 10 ** d);
  return {
    at: new Date(s.at).toISOString(),
    target: s.target,
    nats: {
      server: s.natsServer,
      down: s.natsDown,
      available: s.natsUnavailable === null,
      ...(s.natsUnavailable !== null ? { reason: s.natsUnavailable } : {}),
      ...(s.natsLayer?.layer ?? emptyNatsLayer()),
    },
    redis: s.redisLayer?.layer ?? null,
    lastPollAt: s.lastPollAt === null ? null : new Date(s.lastPollAt).toISOString(),
    sources: {
      ...s.sources,
      ...(s.natsLayer ? { natsLayer: s.natsLayer.health } : {}),
      ...(s.redisLayer ? { redisLayer: s.redisLayer.health } : {}),
    },
    services: s.services.map((r) => ({
      name: r.name,
      desired: r.desired,
      running: r.running,
      pending: r.pending,
      responding: r.responding,
      version: r.version,
      restarts: r.restarts,
      state: legacyState(r),
      health: r.health,
      why: r.why,
      rps: round(r.rps, 2),
      errorRate: round(r.errorRate, 4),
      avgMs: round(r.avgMs),
      p50Ms: r.p50Ms,
      p99Ms: r.p99Ms,
      progress: r.progress,
      lastEvent: r.lastEvent,
    })),
    totals: { ...s.totals, rps: round(s.totals.rps, 2), errorRate: round(s.totals.errorRate, 4) },
  };
}

/** The `--check` rule of every form: below desired on the platform, or fewer answering on NATS than desired, the platform or NATS not answering, or a problem in the NATS layer or the Redis Cluster. */
export function snapshotUnhealthy(s: FleetSnapshot): boolean {
  if (!s.sources.platform.ok) return true;
  if (s.natsDown) return true;
  if (s.natsLayer?.layer?.problems.length) return true;
  if (s.redisLayer?.layer?.problems.length) return true;
  return s.services.some(
    (r) => r.desired !== null && ((r.running ?? 0) < r.desired || (r.responding ?? 0) < r.desired),
  );
}

/** Local wall-clock time, HH:MM:SS: the header's "last poll" and each change line. */
export function clock(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
}

export function totalsLine(s: FleetSnapshot): string {
  const t = s.totals;
  return `${t.healthy}/${t.services} services healthy, ${t.running}/${t.desired} tasks`;
}

function serviceLine(r: ServiceRow): string {
  const counts =
    r.desired === null
      ? ""
      : ` (${r.running}/${r.desired} running, ${r.responding === null ? "NATS down" : `${r.responding} answering`})`;
  return `${r.name}: ${r.health}${counts}${r.why ? ` — ${r.why}` : ""}`;
}

function sourceLine(name: SourceName, h: SourceHealth): string {
  const label = name === "nats" ? "NATS discovery" : name === "stats" ? "NATS stats" : "platform";
  return h.ok
    ? `${label}: back`
    : `${label}: ${h.error ?? "no data"}${h.ageMs !== null ? ` (showing data from ${formatDuration(h.ageMs)} ago)` : ""}`;
}

/**
 * Remembers what it last printed and returns the lines for what changed: service health (and why),
 * NATS up or down, a source failing or recovering. The first call describes the starting state.
 */
export class ChangeLog {
  private prev?: FleetSnapshot;

  /** `totals`: follow each batch of changes with the totals line (the dashboard has them in its header) */
  constructor(private readonly opts: { totals?: boolean } = {}) {}

  next(s: FleetSnapshot): string[] {
    const stamp = clock(s.at);
    const lines: string[] = [];
    const prev = this.prev;
    if (!prev) {
      const nats = s.natsUnavailable !== null ? `, unavailable: ${s.natsUnavailable}` : s.natsDown ? ", down" : "";
      lines.push(`${s.target}: ${totalsLine(s)} (NATS ${s.natsServer}${nats})`);
      for (const r of s.services) if (r.health !== "healthy") lines.push(serviceLine(r));
      for (const n of SOURCES)
        if (!s.sources[n].ok && !(n !== "platform" && s.natsDown)) lines.push(sourceLine(n, s.sources[n]));
      lines.push(...natsLayerChanges(undefined, s));
      lines.push(...redisLayerChanges(undefined, s));
    } else {
      if (s.natsDown !== prev.natsDown)
        lines.push(s.natsDown ? `NATS ${s.natsServer}: down` : `NATS ${s.natsServer}: back`);
      for (const n of SOURCES) {
        if (n !== "platform" && (s.natsDown || prev.natsDown)) continue;
        if (s.sources[n].ok !== prev.sources[n].ok) lines.push(sourceLine(n, s.sources[n]));
      }
      const before = new Map(prev.services.map((r) => [r.name, r]));
      for (const r of s.services) {
        const b = before.get(r.name);
        if (!b || b.health !== r.health || b.why !== r.why)
          lines.push(b && b.health !== r.health ? `${serviceLine(r)} (was ${b.health})` : serviceLine(r));
      }
      const now = new Set(s.services.map((r) => r.name));
      for (const b of prev.services) if (!now.has(b.name)) lines.push(`${b.name}: gone`);
      lines.push(...natsLayerChanges(prev, s));
      lines.push(...redisLayerChanges(prev, s));
      if (this.opts.totals !== false && lines.length && totalsLine(s) !== totalsLine(prev)) lines.push(totalsLine(s));
    }
    this.prev = s;
    return lines.map((l) => `${stamp} ${l}`);
  }
}

/**
 * The NATS layer's news: a problem that appears or clears (a server down, a stream short of replicas
 * or without a leader, a consumer's backlog), a note that appears, the layer becoming unreadable.
 * Problems are matched by what they are about, so a backlog that only grows is not a new line.
 */
function natsLayerChanges(prev: FleetSnapshot | undefined, s: FleetSnapshot): string[] {
  const layer = s.natsLayer?.layer;
  if (!layer) return [];
  const before = prev?.natsLayer?.layer;
  const lines = problemChanges("NATS", before?.problems ?? [], layer.problems);
  const noted = new Set(before?.notes ?? []);
  for (const n of layer.notes) if (!noted.has(n)) lines.push(`NATS layer: ${n}`);
  if (before && before.source !== layer.source)
    lines.push(`NATS layer: ${layer.source ? `read through the ${sourceLabel(layer.source)}` : "unreadable"}`);
  return lines;
}

/**
 * The Redis Cluster's news: its summary at the start, then a problem that appears or clears (a node
 * down, cluster_state fail, slots uncovered, a replica out of sync) and a role that changes (a failover).
 */
function redisLayerChanges(prev: FleetSnapshot | undefined, s: FleetSnapshot): string[] {
  const layer = s.redisLayer?.layer;
  if (!layer) return [];
  const before = prev?.redisLayer?.layer;
  const lines = before ? [] : [`Redis: ${redisSummary(layer)}`];
  lines.push(...problemChanges("Redis", before?.problems ?? [], layer.problems));
  const roles = new Map((before?.nodes ?? []).map((n) => [n.name, n.role]));
  for (const n of layer.nodes) {
    const was = roles.get(n.name);
    if (n.role && was && n.role !== was) lines.push(`Redis: ${n.name} is now a ${n.role} (was ${was})`);
  }
  return lines;
}

interface Problem {
  kind: string;
  subject: string;
  message: string;
}

/**
 * A line per problem that appeared and per problem that cleared, matched by what it is about (so a
 * backlog that only grows is not a new line): `<label>: <message>`, `<label>: cleared: <message>`.
 */
function problemChanges(label: string, before: Problem[], now: Problem[]): string[] {
  const key = (p: Problem) => `${p.kind} ${p.subject}`;
  const had = new Map(before.map((p) => [key(p), p]));
  const has = new Map(now.map((p) => [key(p), p]));
  const lines: string[] = [];
  for (const [k, p] of has) if (!had.has(k)) lines.push(`${label}: ${p.message}`);
  for (const [k, p] of had) if (!has.has(k)) lines.push(`${label}: cleared: ${p.message}`);
  return lines;
}
