// What NATS itself sees: every micro service instance answering $SRV.PING / INFO / STATS, aggregated
// per service. Works wherever the services run (local, ECS, anywhere) without knowing about it.
import type { NatsConnection } from "@nats-io/transport-node";
import type { ServiceInfo, ServiceStats } from "@nats-io/services";
import { gatherJson } from "./gather.js";
import { latencyData, LatencyMerger, type LatencyPercentiles, type LatencySummary } from "./latency-data.js";

/**
 * Latency over the last minute (55-60 s), from the HDR histograms the instances keep (the SDK's
 * $SRV.STATS `data`), merged: exact percentiles of all the requests of the group, in ms.
 */
export interface LatencyView {
  /** requests in the window (replies and error replies) */
  requests: number;
  errors: number;
  /** null when there was no request in the window */
  p50_ms: number | null;
  p90_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
}

export interface EndpointView {
  name: string;
  subject: string;
  request?: string;
  response?: string;
  requests: number;
  errors: number;
  average_ms: number;
  /** the last minute, over every instance; null when none keeps histograms */
  latency: LatencyView | null;
}

export interface InstanceView {
  id: string;
  version: string;
  started?: string;
  requests: number;
  errors: number;
  average_ms: number;
  /** the last minute, over the instance's endpoints; null when it keeps no histograms */
  latency: LatencyView | null;
  last_error?: string;
}

export interface ServiceView {
  name: string;
  description: string;
  versions: string[];
  instances: InstanceView[];
  requests: number;
  errors: number;
  /** mean processing time over all requests of all instances */
  average_ms: number;
  /** the last minute, over every endpoint of every instance; null when no instance keeps histograms */
  latency: LatencyView | null;
  endpoints: EndpointView[];
}

export interface DiscoverOptions {
  /** how long to wait for the first answers */
  timeoutMs?: number;
  /** stop collecting once no answer came for this long */
  stallMs?: number;
  /** only this service */
  name?: string;
  /** how many instances should answer (e.g. what the platform runs): stop as soon as that many did */
  expected?: () => number | undefined;
}

/** One instance's counters, summed over its endpoints. */
export function statsTotals(s: ServiceStats | undefined): {
  requests: number;
  errors: number;
  processingNs: number;
  lastError?: string;
} {
  const eps = s?.endpoints ?? [];
  return {
    requests: eps.reduce((n, e) => n + e.num_requests, 0),
    errors: eps.reduce((n, e) => n + e.num_errors, 0),
    processingNs: eps.reduce((n, e) => n + e.processing_time, 0),
    lastError: eps.find((e) => e.last_error)?.last_error,
  };
}

const nsToMs = (ns: number): number => Math.round((ns / 1e6) * 1000) / 1000;

/** The last-minute summary of each endpoint of an instance that keeps histograms, by endpoint name. */
export function windowSummaries(s: ServiceStats | undefined): Map<string, LatencySummary> {
  const out = new Map<string, LatencySummary>();
  for (const e of s?.endpoints ?? []) {
    const d = latencyData(e.data);
    if (d) out.set(e.name, d.window);
  }
  return out;
}

export function latencyView(p: LatencyPercentiles | null): LatencyView | null {
  return p
    ? { requests: p.requests, errors: p.errors, p50_ms: p.p50Ms, p90_ms: p.p90Ms, p99_ms: p.p99Ms, max_ms: p.maxMs }
    : null;
}

export async function discoverServices(nc: NatsConnection, opts: DiscoverOptions = {}): Promise<ServiceView[]> {
  const window = { maxWaitMs: opts.timeoutMs ?? 1000, stallMs: opts.stallMs ?? 150, expected: opts.expected };
  const suffix = opts.name ? `.${opts.name}` : "";
  const [infos, stats] = await Promise.all([
    gatherJson<ServiceInfo>(nc, `$SRV.INFO${suffix}`, window),
    gatherJson<ServiceStats>(nc, `$SRV.STATS${suffix}`, window),
  ]);
  const statsById = new Map(stats.map((s) => [s.id, s]));
  const byName = new Map<string, ServiceView>();
  // the window summaries of each group, merged once every instance is in
  const merger = new LatencyMerger();
  const serviceWindows = new Map<ServiceView, LatencySummary[]>();
  const endpointWindows = new Map<EndpointView, LatencySummary[]>();
  const push = <K>(m: Map<K, LatencySummary[]>, k: K, v: LatencySummary) => m.set(k, [...(m.get(k) ?? []), v]);
  for (const info of infos) {
    let view = byName.get(info.name);
    if (!view) {
      view = {
        name: info.name,
        description: info.description,
        versions: [],
        instances: [],
        requests: 0,
        errors: 0,
        average_ms: 0,
        latency: null,
        endpoints: [],
      };
      byName.set(info.name, view);
    }
    if (!view.versions.includes(info.version)) view.versions.push(info.version);
    const st = statsById.get(info.id);
    const eps = st?.endpoints ?? [];
    const { requests, errors, processingNs, lastError } = statsTotals(st);
    const windows = windowSummaries(st);
    for (const w of windows.values()) push(serviceWindows, view, w);
    view.instances.push({
      id: info.id,
      version: info.version,
      started: st?.started,
      requests,
      errors,
      average_ms: requests ? nsToMs(processingNs / requests) : 0,
      latency: latencyView(merger.percentiles([...windows.values()])),
      last_error: lastError,
    });
    for (const ep of info.endpoints) {
      let e = view.endpoints.find((x) => x.subject === ep.subject);
      if (!e) {
        e = {
          name: ep.name,
          subject: ep.subject,
          request: ep.metadata?.request,
          response: ep.metadata?.response,
          requests: 0,
          errors: 0,
          average_ms: 0,
          latency: null,
        };
        view.endpoints.push(e);
      }
      const w = windows.get(ep.name);
      if (w) push(endpointWindows, e, w);
      const s = eps.find((x) => x.name === ep.name);
      if (s) {
        const total = e.average_ms * e.requests + nsToMs(s.processing_time);
        e.requests += s.num_requests;
        e.errors += s.num_errors;
        e.average_ms = e.requests ? Math.round((total / e.requests) * 1000) / 1000 : 0;
      }
    }
  }
  for (const [v, parts] of serviceWindows) v.latency = latencyView(merger.percentiles(parts));
  for (const [e, parts] of endpointWindows) e.latency = latencyView(merger.percentiles(parts));
  for (const v of byName.values()) {
    v.requests = v.instances.reduce((n, i) => n + i.requests, 0);
    v.errors = v.instances.reduce((n, i) => n + i.errors, 0);
    const time = v.instances.reduce((n, i) => n + i.average_ms * i.requests, 0);
    v.average_ms = v.requests ? Math.round((time / v.requests) * 1000) / 1000 : 0;
    v.versions.sort();
    v.instances.sort((a, b) => a.id.localeCompare(b.id));
    v.endpoints.sort((a, b) => a.subject.localeCompare(b.subject));
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}
