// The dashboard's NATS sources, polled separately so that one slow answer never holds the others:
// discovery ($SRV.INFO: which instances answer, with which version) and stats ($SRV.STATS: counters).
import type { NatsConnection } from "@nats-io/transport-node";
import type { ServiceInfo, ServiceStats } from "@nats-io/services";
import { statsTotals, windowSummaries } from "../nats/discovery.js";
import type { LatencySummary } from "../nats/latency-data.js";
import { gatherJson, type SourceWindow } from "../nats/gather.js";

export type { SourceWindow };

export interface DiscoveredInstance {
  /** the micro service instance id */
  id: string;
  service: string;
  version: string;
}

export interface InstanceCounters {
  id: string;
  service: string;
  requests: number;
  errors: number;
  /** total processing time, ns */
  processingNs: number;
  started?: string;
  lastError?: string;
  /** the last minute of each endpoint that keeps histograms (the SDK's $SRV.STATS `data`) */
  windows?: { subject: string; window: LatencySummary }[];
}

export async function pollDiscovery(nc: NatsConnection, w: SourceWindow): Promise<DiscoveredInstance[]> {
  return (await gatherJson<ServiceInfo>(nc, "$SRV.INFO", w)).map((i) => ({
    id: i.id,
    service: i.name,
    version: i.version,
  }));
}

export async function pollStats(nc: NatsConnection, w: SourceWindow): Promise<InstanceCounters[]> {
  return (await gatherJson<ServiceStats>(nc, "$SRV.STATS", w)).map((s) => {
    const t = statsTotals(s);
    const bySubject = new Map((s.endpoints ?? []).map((e) => [e.name, e.subject]));
    const windows = [...windowSummaries(s)].map(([name, window]) => ({ subject: bySubject.get(name) ?? name, window }));
    return {
      id: s.id,
      service: s.name,
      requests: t.requests,
      errors: t.errors,
      processingNs: t.processingNs,
      started: s.started,
      lastError: t.lastError || undefined,
      ...(windows.length ? { windows } : {}),
    };
  });
}
