// The last minute's latency of each service, instance and endpoint (per service), from the windows
// the instances reported in one $SRV.STATS poll: histograms merged, never percentiles averaged.
import { LatencyMerger, type LatencyPercentiles, type LatencySummary } from "../nats/latency-data.js";
import type { InstanceCounters } from "./sources.js";

export interface EndpointLatencyRow {
  subject: string;
  latency: LatencyPercentiles;
}

export interface FleetLatency {
  /** by service name; absent: no instance of it keeps histograms */
  services: Map<string, LatencyPercentiles>;
  /** by NATS instance id */
  instances: Map<string, LatencyPercentiles>;
  /** by service name: each endpoint over every instance, by subject */
  endpoints: Map<string, EndpointLatencyRow[]>;
}

export function fleetLatency(counters: InstanceCounters[]): FleetLatency {
  const merger = new LatencyMerger();
  const byService = new Map<string, LatencySummary[]>();
  const byEndpoint = new Map<string, Map<string, LatencySummary[]>>();
  const out: FleetLatency = { services: new Map(), instances: new Map(), endpoints: new Map() };
  for (const c of counters) {
    const windows = c.windows ?? [];
    if (!windows.length) continue;
    const own = merger.percentiles(windows.map((w) => w.window));
    if (own) out.instances.set(c.id, own);
    byService.set(c.service, [...(byService.get(c.service) ?? []), ...windows.map((w) => w.window)]);
    const eps = byEndpoint.get(c.service) ?? new Map<string, LatencySummary[]>();
    for (const w of windows) eps.set(w.subject, [...(eps.get(w.subject) ?? []), w.window]);
    byEndpoint.set(c.service, eps);
  }
  for (const [name, parts] of byService) {
    const p = merger.percentiles(parts);
    if (p) out.services.set(name, p);
  }
  for (const [name, eps] of byEndpoint)
    out.endpoints.set(
      name,
      [...eps]
        .sort(([a], [b]) => a.localeCompare(b))
        .flatMap(([subject, parts]) => {
          const latency = merger.percentiles(parts);
          return latency ? [{ subject, latency }] : [];
        }),
    );
  return out;
}
