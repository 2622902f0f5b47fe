// What NATS itself sees: every micro service instance answering $SRV.PING / INFO / STATS, aggregated
// per service. Works wherever the services run (local, ECS, anywhere) without knowing about it.
import type { NatsConnection } from "@nats-io/transport-node";
import type { ServiceInfo, ServiceStats } from "@nats-io/services";
import { gatherJson } from "./gather.js";

export interface EndpointView {
  name: string;
  subject: string;
  request?: string;
  response?: string;
  requests: number;
  errors: number;
  average_ms: number;
}

export interface InstanceView {
  id: string;
  version: string;
  started?: string;
  requests: number;
  errors: number;
  average_ms: number;
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

export async function discoverServices(nc: NatsConnection, opts: DiscoverOptions = {}): Promise<ServiceView[]> {
  const window = { maxWaitMs: opts.timeoutMs ?? 1000, stallMs: opts.stallMs ?? 150, expected: opts.expected };
  const suffix = opts.name ? `.${opts.name}` : "";
  const [infos, stats] = await Promise.all([
    gatherJson<ServiceInfo>(nc, `$SRV.INFO${suffix}`, window),
    gatherJson<ServiceStats>(nc, `$SRV.STATS${suffix}`, window),
  ]);
  const statsById = new Map(stats.map((s) => [s.id, s]));
  const byName = new Map<string, ServiceView>();
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
        endpoints: [],
      };
      byName.set(info.name, view);
    }
    if (!view.versions.includes(info.version)) view.versions.push(info.version);
    const st = statsById.get(info.id);
    const eps = st?.endpoints ?? [];
    const { requests, errors, processingNs, lastError } = statsTotals(st);
    view.instances.push({
      id: info.id,
      version: info.version,
      started: st?.started,
      requests,
      errors,
      average_ms: requests ? nsToMs(processingNs / requests) : 0,
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
        };
        view.endpoints.push(e);
      }
      const s = eps.find((x) => x.name === ep.name);
      if (s) {
        const total = e.average_ms * e.requests + nsToMs(s.processing_time);
        e.requests += s.num_requests;
        e.errors += s.num_errors;
        e.average_ms = e.requests ? Math.round((total / e.requests) * 1000) / 1000 : 0;
      }
    }
  }
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
