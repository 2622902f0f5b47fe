// The dashboard's NATS sources, polled separately so that one slow answer never holds the others:
// discovery ($SRV.INFO: which instances answer, with which version) and stats ($SRV.STATS: counters).
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import type { ServiceInfo, ServiceStats } from "@nats-io/services";
import { gather, type SourceWindow } from "../nats/gather.js";

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

function parse<T>(m: Msg): T | undefined {
  try {
    return m.json<T>();
  } catch {
    return undefined;
  }
}

export async function pollDiscovery(nc: NatsConnection, w: SourceWindow): Promise<DiscoveredInstance[]> {
  const infos = (await gather(nc, "$SRV.INFO", w)).map((m) => parse<ServiceInfo>(m)).filter((i): i is ServiceInfo => !!i?.id && !!i.name);
  return infos.map((i) => ({ id: i.id, service: i.name, version: i.version }));
}

export async function pollStats(nc: NatsConnection, w: SourceWindow): Promise<InstanceCounters[]> {
  const stats = (await gather(nc, "$SRV.STATS", w)).map((m) => parse<ServiceStats>(m)).filter((s): s is ServiceStats => !!s?.id && !!s.name);
  return stats.map((s) => {
    const eps = s.endpoints ?? [];
    return {
      id: s.id,
      service: s.name,
      requests: eps.reduce((n, e) => n + e.num_requests, 0),
      errors: eps.reduce((n, e) => n + e.num_errors, 0),
      processingNs: eps.reduce((n, e) => n + e.processing_time, 0),
      started: s.started,
      lastError: eps.find((e) => e.last_error)?.last_error || undefined,
    };
  });
}
