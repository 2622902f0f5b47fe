// The dashboard's NATS sources, polled separately so that one slow answer never holds the others:
// discovery ($SRV.INFO: which instances answer, with which version) and stats ($SRV.STATS: counters).
import { createInbox, Empty, type Msg, type NatsConnection } from "@nats-io/transport-node";
import type { ServiceInfo, ServiceStats } from "@nats-io/services";

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

export interface SourceWindow {
  /** never wait longer than this */
  maxWaitMs: number;
  /** without an expected count: stop once nothing came for this long */
  stallMs: number;
  /**
   * how many instances should answer (what the platform runs): stop as soon as they all did. A
   * fixed quiet period alone ends early on a busy machine and reads as instances gone silent.
   * Asked at each reply, so a platform answer that lands during the window still counts.
   */
  expected?: () => number | undefined;
}

/** Every reply to one publish on `subject`, within the window. */
export function gather(nc: NatsConnection, subject: string, w: SourceWindow): Promise<Msg[]> {
  return new Promise((resolve) => {
    const replies: Msg[] = [];
    let quiet: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(deadline);
      clearTimeout(quiet);
      clearInterval(recheck);
      sub.unsubscribe();
      resolve(replies);
    };
    const deadline = setTimeout(done, w.maxWaitMs);
    // every answer may be in before the platform's count is (the first round): once it lands, do not
    // sit out the quiet period
    const recheck = setInterval(() => {
      const expected = w.expected?.();
      if (expected && replies.length >= expected) done();
    }, 20);
    const sub = nc.subscribe(createInbox(), {
      callback: (err, m) => {
        if (err) return done();
        replies.push(m);
        clearTimeout(quiet);
        const expected = w.expected?.();
        // all expected answers in: a moment more for any the platform does not know about
        if (expected && replies.length >= expected) quiet = setTimeout(done, 25);
        else if (!expected) quiet = setTimeout(done, w.stallMs);
      },
    });
    nc.publish(subject, Empty, { reply: sub.getSubject() });
  });
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
