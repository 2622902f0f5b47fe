// The dashboard's NATS sources, polled separately so that one slow answer never holds the others:
// discovery ($SRV.INFO: which instances answer, with which version) and stats ($SRV.STATS: counters).
import type { NatsConnection } from "@nats-io/transport-node";
import type { ServiceInfo, ServiceStats } from "@nats-io/services";
import { statsTotals } from "../nats/discovery.js";
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
    return {
      id: s.id,
      service: s.name,
      requests: t.requests,
      errors: t.errors,
      processingNs: t.processingNs,
      started: s.started,
      lastError: t.lastError || undefined,
    };
  });
}
