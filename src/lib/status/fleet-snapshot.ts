// What the dashboard shows, computed from whatever each source last returned: one row per service
// (platform counts joined with the instances NATS hears and the rates from $SRV.STATS), its health,
// and how fresh each source's data is. Pure: the store feeds it, the UI and --json read it.
import type {
  DeploymentInfo,
  InstanceInfo,
  LogLine,
  PlatformEvent,
  ServiceDescription,
  ServiceState,
  StoppedInstance,
} from "../platform/platform.js";
import type { NatsLayer } from "../nats-layer/nats-layer.js";
import type { RedisLayer } from "../redis-layer/redis-layer.js";
import type { EndpointLatencyRow, FleetLatency } from "./fleet-latency.js";
import type { DiscoveredInstance, InstanceCounters } from "./sources.js";
import { sumRates, type Rates } from "./stats-rates.js";

export type SourceName = "platform" | "nats" | "stats";
export const SOURCES: readonly SourceName[] = ["platform", "nats", "stats"];

/** healthy; rolling-out: a deployment is in progress; degraded: below desired or silent on NATS; failing: crash loop or failed deployment. */
export type Health = "healthy" | "rolling-out" | "degraded" | "failing" | "stopped" | "unknown";

/** How bad each health is, for sorting (worst first) and for the totals. */
export const HEALTH_RANK: Record<Health, number> = {
  failing: 0,
  degraded: 1,
  unknown: 2,
  "rolling-out": 3,
  stopped: 4,
  healthy: 5,
};

export interface SourceRecord {
  /** last successful poll (unix ms) */
  okAt?: number;
  /** why the last poll failed; undefined when it succeeded */
  error?: string;
}

/** What the store knows: the last good answer of each source and how each poll went. */
export interface FleetData {
  target: string;
  platformKind: string;
  natsServer: string;
  /** the NATS connection is up (false while disconnected or reconnecting) */
  natsConnected: boolean;
  /** why the fleet's NATS could not be reached at all (no connection to wait for): the platform's view alone */
  natsUnavailable?: string;
  platform?: ServiceDescription[];
  discovery?: DiscoveredInstance[];
  /**
   * the discovery poll before the last: a service counts as silent only when both polls missed an
   * instance, as one poll can race an instance that is just starting or a reply that comes late
   */
  previousDiscovery?: DiscoveredInstance[];
  counters?: InstanceCounters[];
  /** per NATS instance id; undefined until an instance was seen in two stats polls */
  rates?: Map<string, Rates | undefined>;
  /** the last minute's latency, merged from the last stats poll's histograms */
  latency?: FleetLatency;
  sources: Record<SourceName, SourceRecord>;
  /** detail view: the focused service's last log lines */
  logs?: { service: string; lines: LogLine[]; error?: string };
  /** the NATS layer (servers, JetStream, streams) when the store reads it: the last read and how its polls went */
  natsLayer?: { layer?: NatsLayer; source: SourceRecord };
  /** a local fleet's Redis Cluster when the store reads it: the last read (null: the fleet has none) */
  redisLayer?: { layer?: RedisLayer | null; source: SourceRecord };
}

export interface SourceHealth {
  /** the last poll succeeded */
  ok: boolean;
  /** the data shown is from an earlier poll (or there is none) */
  stale: boolean;
  /** age of the data shown, ms; null when there never was any */
  ageMs: number | null;
  lastOkAt: string | null;
  error?: string;
}

export interface ServiceRow {
  name: string;
  health: Health;
  /** one line: why this health (empty when healthy) */
  why: string;
  desired: number | null;
  running: number | null;
  pending: number | null;
  restarts: number | null;
  /** instances answering on NATS; null when NATS is down or was never heard */
  responding: number | null;
  version: string | null;
  platformState: ServiceState | null;
  rps: number | null;
  errorRate: number | null;
  avgMs: number | null;
  /** the last minute's latency over every instance, ms; null without requests in it, without histograms or without NATS */
  p50Ms: number | null;
  p99Ms: number | null;
  /** while rolling out: the new deployment's running / desired */
  progress: { running: number; desired: number } | null;
  lastEvent: PlatformEvent | null;
}

export interface FleetTotals {
  services: number;
  healthy: number;
  desired: number;
  running: number;
  rps: number | null;
  errorRate: number | null;
}

/** The NATS layer as last read, and how fresh that is (it has its own connection, so it is not judged by `natsDown`). */
export interface NatsLayerView {
  /** null until the first read */
  layer: NatsLayer | null;
  health: SourceHealth;
}

/** The Redis Cluster as last read (its own connections), and how fresh that is. */
export interface RedisLayerView {
  /** null until the first read shows one */
  layer: RedisLayer | null;
  health: SourceHealth;
}

export interface FleetSnapshot {
  /** when this snapshot was computed (unix ms) */
  at: number;
  target: string;
  platformKind: string;
  natsServer: string;
  natsDown: boolean;
  /** why the fleet's NATS could not be reached at all (so `natsDown` stays true); null when it was */
  natsUnavailable: string | null;
  /** the time by which every source had answered at least once more: the data is at least this fresh */
  lastPollAt: number | null;
  sources: Record<SourceName, SourceHealth>;
  services: ServiceRow[];
  totals: FleetTotals;
  /** null when this view does not read the NATS layer */
  natsLayer: NatsLayerView | null;
  /** null when this view does not read a Redis Cluster, or the fleet has none */
  redisLayer: RedisLayerView | null;
}

export interface InstanceRow {
  /** the platform's id, or the NATS id of an instance the platform does not know */
  id: string;
  natsId: string | null;
  state: InstanceInfo["state"] | "unknown to the platform";
  version: string;
  pid?: number;
  startedAt?: string;
  /** answers on NATS; null when NATS is down */
  answering: boolean | null;
  rps: number | null;
  errorRate: number | null;
  avgMs: number | null;
  /** the last minute's latency over the instance's endpoints, ms */
  p50Ms: number | null;
  p99Ms: number | null;
  requests: number | null;
  errors: number | null;
  lastError?: string;
}

export interface ServiceDetail {
  row: ServiceRow;
  instances: InstanceRow[];
  /** newest last */
  events: PlatformEvent[];
  /** newest last */
  stopped: StoppedInstance[];
  deployments: DeploymentInfo[];
  /** the last minute's latency of each endpoint over every instance, by subject (empty without histograms or NATS) */
  endpoints: EndpointLatencyRow[];
  logs: LogLine[];
  logsError?: string;
}

function sourceHealth(r: SourceRecord, now: number, down: boolean): SourceHealth {
  const ok = r.okAt !== undefined && !r.error && !down;
  return {
    ok,
    stale: !ok,
    ageMs: r.okAt === undefined ? null : Math.max(0, now - r.okAt),
    lastOkAt: r.okAt === undefined ? null : new Date(r.okAt).toISOString(),
    ...(down ? { error: r.error ?? "NATS down" } : r.error ? { error: r.error } : {}),
  };
}

/**
 * A rolled-back deployment leaves the old version serving, so it shows as failing for a while (long
 * enough to be seen on a second screen), then the row returns to what the instances say.
 */
export const FAILED_DEPLOYMENT_SHOWN_MS = 5 * 60_000;

function classify(
  p: ServiceDescription | undefined,
  responding: number | null,
  now: number,
): { health: Health; why: string; progress: ServiceRow["progress"] } {
  if (!p)
    return {
      health: "unknown",
      why: responding === null ? "no data yet" : "answers on NATS but is not on the platform",
      progress: null,
    };
  const newest = [...p.deployments].sort((a, b) =>
    a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0,
  )[0];
  const primary = p.deployments.find((d) => d.status === "PRIMARY");
  if (p.state === "crash-looping")
    return { health: "failing", why: `crash loop: ${p.restarts} restarts${lastStop(p)}`, progress: null };
  const failed = newest?.rolloutState === "FAILED" ? newest : primary?.rolloutState === "FAILED" ? primary : undefined;
  if (failed && (failed === primary || now - Date.parse(failed.updatedAt) < FAILED_DEPLOYMENT_SHOWN_MS)) {
    return {
      health: "failing",
      why: `deployment of ${failed.artifact.version} failed${failed.reason ? `: ${failed.reason}` : ""}`,
      progress: null,
    };
  }
  if (p.state === "deploying" || p.state === "starting" || primary?.rolloutState === "IN_PROGRESS") {
    const progress = primary
      ? { running: primary.running, desired: primary.desired }
      : { running: p.running, desired: p.desired };
    return {
      health: "rolling-out",
      why: `${p.state === "starting" ? "starting" : `rolling out ${primary?.artifact.version ?? ""}`.trim()}: ${progress.running}/${progress.desired}`,
      progress,
    };
  }
  if (p.desired === 0 && p.running === 0) return { health: "stopped", why: "scaled to 0", progress: null };
  if (p.running < p.desired)
    return {
      health: "degraded",
      why: `${p.running}/${p.desired} running${p.pending ? `, ${p.pending} pending` : ""}${lastStop(p)}`,
      progress: null,
    };
  if (responding !== null && responding < Math.min(p.running, p.desired)) {
    return {
      health: "degraded",
      why: `running but silent on NATS: ${responding} of ${p.running} answer`,
      progress: null,
    };
  }
  return { health: "healthy", why: "", progress: null };
}

function lastStop(p: ServiceDescription): string {
  const s = p.stopped.at(-1);
  return s ? `; last stop: ${s.reason}` : "";
}

/** The platform state as `gs status --json` reports it: `silent` when running but not heard on NATS. */
export function legacyState(row: ServiceRow): ServiceState | "silent" | null {
  if (row.health === "degraded" && row.why.startsWith("running but silent")) return "silent";
  return row.platformState;
}

export function buildSnapshot(data: FleetData, now = Date.now()): FleetSnapshot {
  const natsDown = !data.natsConnected;
  const sources = {
    platform: sourceHealth(data.sources.platform, now, false),
    nats: sourceHealth(data.sources.nats, now, natsDown),
    stats: sourceHealth(data.sources.stats, now, natsDown),
  };
  const heard = !natsDown && data.discovery !== undefined;
  const byService = new Map<string, number>();
  for (const i of heard ? data.discovery! : []) byService.set(i.service, (byService.get(i.service) ?? 0) + 1);
  const before = new Map<string, number>();
  for (const i of heard ? (data.previousDiscovery ?? data.discovery!) : [])
    before.set(i.service, (before.get(i.service) ?? 0) + 1);
  const countersBy = new Map<string, InstanceCounters[]>();
  for (const c of natsDown ? [] : (data.counters ?? []))
    countersBy.set(c.service, [...(countersBy.get(c.service) ?? []), c]);

  const platformBy = new Map((data.platform ?? []).map((p) => [p.name, p]));
  const names = new Set([...platformBy.keys(), ...byService.keys()]);
  const services = [...names].sort().map((name): ServiceRow => {
    const p = platformBy.get(name);
    const responding = heard ? (byService.get(name) ?? 0) : null;
    const { health, why, progress } = classify(
      p,
      responding === null ? null : Math.max(responding, before.get(name) ?? 0),
      now,
    );
    const r = sumRates((countersBy.get(name) ?? []).map((c) => ({ counters: c, rates: data.rates?.get(c.id) })));
    const latency = natsDown ? undefined : data.latency?.services.get(name);
    return {
      name,
      health,
      why,
      desired: p?.desired ?? null,
      running: p?.running ?? null,
      pending: p?.pending ?? null,
      restarts: p?.restarts ?? null,
      responding,
      version: p?.version ?? null,
      platformState: p?.state ?? null,
      rps: r?.rps ?? null,
      errorRate: r?.errorRate ?? null,
      avgMs: r?.avgMs ?? null,
      p50Ms: latency?.p50Ms ?? null,
      p99Ms: latency?.p99Ms ?? null,
      progress,
      lastEvent: p?.events.at(-1) ?? null,
    };
  });
  const withRates = services.filter((s) => s.rps !== null);
  const rps = withRates.length ? withRates.reduce((n, s) => n + s.rps!, 0) : null;
  const eps = withRates.reduce((n, s) => n + s.rps! * (s.errorRate ?? 0), 0);
  const oks = SOURCES.map((s) => data.sources[s].okAt);
  return {
    at: now,
    target: data.target,
    platformKind: data.platformKind,
    natsServer: data.natsServer,
    natsDown,
    natsUnavailable: data.natsUnavailable ?? null,
    lastPollAt: oks.every((t) => t !== undefined) ? Math.min(...(oks as number[])) : null,
    sources,
    services,
    totals: {
      services: services.length,
      healthy: services.filter((s) => s.health === "healthy" || s.health === "stopped").length,
      desired: services.reduce((n, s) => n + (s.desired ?? 0), 0),
      running: services.reduce((n, s) => n + (s.running ?? 0), 0),
      rps,
      errorRate: rps ? eps / rps : null,
    },
    natsLayer: data.natsLayer
      ? { layer: data.natsLayer.layer ?? null, health: sourceHealth(data.natsLayer.source, now, false) }
      : null,
    // a fleet without Redis (the last read said so) shows no Redis section; one that stopped answering does
    redisLayer:
      data.redisLayer && data.redisLayer.layer !== null && (data.redisLayer.layer || data.redisLayer.source.error)
        ? { layer: data.redisLayer.layer ?? null, health: sourceHealth(data.redisLayer.source, now, false) }
        : null,
  };
}

export function buildDetail(data: FleetData, name: string, now = Date.now()): ServiceDetail | undefined {
  const row = buildSnapshot(data, now).services.find((s) => s.name === name);
  if (!row) return undefined;
  const p = data.platform?.find((s) => s.name === name);
  const natsDown = !data.natsConnected;
  const discovered = natsDown ? undefined : data.discovery?.filter((i) => i.service === name);
  const counters = new Map(
    (natsDown ? [] : (data.counters ?? [])).filter((c) => c.service === name).map((c) => [c.id, c]),
  );
  const statsOf = (natsId: string | undefined) => {
    const c = natsId ? counters.get(natsId) : undefined;
    const r = natsId ? data.rates?.get(natsId) : undefined;
    const l = natsId && !natsDown ? data.latency?.instances.get(natsId) : undefined;
    return {
      rps: r?.rps ?? null,
      errorRate: r?.errorRate ?? null,
      avgMs: r?.avgMs ?? (c?.requests ? c.processingNs / c.requests / 1e6 : null),
      p50Ms: l?.p50Ms ?? null,
      p99Ms: l?.p99Ms ?? null,
      requests: c?.requests ?? null,
      errors: c?.errors ?? null,
      ...(c?.lastError ? { lastError: c.lastError } : {}),
    };
  };
  const known = new Set<string>();
  const instances: InstanceRow[] = (p?.instances ?? []).map((i) => {
    if (i.natsId) known.add(i.natsId);
    return {
      id: i.id,
      natsId: i.natsId ?? null,
      state: i.state,
      version: i.version,
      ...(i.pid ? { pid: i.pid } : {}),
      startedAt: i.startedAt,
      answering: discovered === undefined ? null : discovered.some((d) => d.id === i.natsId),
      ...statsOf(i.natsId),
    };
  });
  for (const d of discovered ?? []) {
    if (known.has(d.id)) continue;
    instances.push({
      id: d.id,
      natsId: d.id,
      state: "unknown to the platform",
      version: d.version,
      answering: true,
      ...statsOf(d.id),
    });
  }
  const logs = data.logs?.service === name ? data.logs : undefined;
  return {
    row,
    instances,
    events: p?.events ?? [],
    stopped: p?.stopped ?? [],
    deployments: p?.deployments ?? [],
    endpoints: natsDown ? [] : (data.latency?.endpoints.get(name) ?? []),
    logs: logs?.lines ?? [],
    ...(logs?.error ? { logsError: logs.error } : {}),
  };
}
