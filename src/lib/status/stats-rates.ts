// Request rate, error rate and processing time from the deltas of $SRV.STATS counters between two
// polls. Counters only count since an instance started, so a rate needs the same instance twice.
import type { InstanceCounters } from "./sources.js";

export interface Rates {
  /** requests per second over the last interval */
  rps: number;
  /** errors per second over the last interval */
  eps: number;
  /** errors / requests over the last interval (0..1); null when there were no requests */
  errorRate: number | null;
  /** mean processing time over the last interval, else since start; null when never asked */
  avgMs: number | null;
}

export interface StatsSample {
  at: number;
  byId: Map<string, InstanceCounters>;
}

export function sampleOf(counters: InstanceCounters[], at: number): StatsSample {
  return { at, byId: new Map(counters.map((c) => [c.id, c])) };
}

/** Rates of each instance in `cur`; an instance new since `prev` (or without `prev`) has no rate yet. */
export function instanceRates(prev: StatsSample | undefined, cur: StatsSample): Map<string, Rates | undefined> {
  const out = new Map<string, Rates | undefined>();
  const dt = prev ? (cur.at - prev.at) / 1000 : 0;
  for (const [id, c] of cur.byId) {
    const p = prev?.byId.get(id);
    const lifetimeAvg = c.requests ? c.processingNs / c.requests / 1e6 : null;
    if (!p || dt <= 0 || c.requests < p.requests) {
      out.set(id, undefined);
      continue;
    }
    const dReq = c.requests - p.requests;
    const dErr = Math.max(0, c.errors - p.errors);
    const dNs = Math.max(0, c.processingNs - p.processingNs);
    out.set(id, {
      rps: dReq / dt,
      eps: dErr / dt,
      errorRate: dReq ? dErr / dReq : null,
      avgMs: dReq ? dNs / dReq / 1e6 : lifetimeAvg,
    });
  }
  return out;
}

/** Sum the rates of a group of instances (a service); undefined when none of them has a rate yet. */
export function sumRates(parts: { rates?: Rates; counters: InstanceCounters }[]): Rates | undefined {
  const known = parts.filter((p) => p.rates);
  if (known.length === 0) return undefined;
  let rps = 0;
  let eps = 0;
  let weightedMs = 0;
  let totalReq = 0;
  let totalNs = 0;
  for (const p of known) {
    rps += p.rates!.rps;
    eps += p.rates!.eps;
    weightedMs += (p.rates!.avgMs ?? 0) * p.rates!.rps;
  }
  for (const p of parts) {
    totalReq += p.counters.requests;
    totalNs += p.counters.processingNs;
  }
  return {
    rps,
    eps,
    errorRate: rps > 0 ? Math.min(1, eps / rps) : null,
    avgMs: rps > 0 ? weightedMs / rps : totalReq ? totalNs / totalReq / 1e6 : null,
  };
}
