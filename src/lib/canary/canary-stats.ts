// The figures a canary is judged by, from the instances' own $SRV.STATS: each instance's requests,
// errors and HDR latency histogram since it started (the SDK's `data.total`, services/sdk/latency.ts),
// minus what it had when the analysis began, so only the window counts. Instances are split by the
// version they report: the new one is the canary, any other the baseline. A group's p99 comes from
// adding its instances' histograms (LatencyMerger), never from averaging percentiles.
import hdr, { type Histogram } from "hdr-histogram-js";
import type { NatsConnection } from "@nats-io/transport-node";
import type { ServiceStats } from "@nats-io/services";
import { gatherJson } from "../nats/gather.js";
import { latencyBuckets } from "../metrics/latency-buckets.js";
import { decodeHistogram, latencyData, LatencyMerger, type LatencySummary } from "../nats/latency-data.js";

/** One endpoint of one instance: counters since the instance started, with the histogram when it keeps one. */
export interface EndpointReading {
  requests: number;
  errors: number;
  latency?: LatencySummary;
}

export interface InstanceReading {
  id: string;
  version: string;
  endpoints: Map<string, EndpointReading>;
}

/** A group of instances over the analysis so far. */
export interface GroupFigures {
  instances: number;
  requests: number;
  errors: number;
  /** errors / requests; null without requests */
  errorRate: number | null;
  /** ms; null without requests or histograms */
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface CanaryFigures {
  canary: GroupFigures;
  baseline: GroupFigures;
  /** everything the canary's instances served since they started, warm-up included: what clients got from it */
  canaryLifetime: { requests: number; errors: number };
  /**
   * canary requests of the analysis slower than the p99 limit (`slowLimitMs`: --max-p99-ratio x the
   * baseline's p99, and at least P99_FLOOR_MS above it); 0 while the baseline has no p99
   */
  canarySlow: number;
  slowLimitMs: number | null;
}

/** p99s closer than this are the same, whatever their ratio (timer and scheduling noise on a fast rpc) */
export const P99_FLOOR_MS = 2;

/** Every instance of `service` that answers $SRV.STATS within the window (all `expected` of them, or until quiet). */
export async function readStats(
  nc: NatsConnection,
  service: string,
  opts: { expected?: number; maxWaitMs?: number } = {},
): Promise<InstanceReading[]> {
  const stats = await gatherJson<ServiceStats>(nc, `$SRV.STATS.${service}`, {
    maxWaitMs: opts.maxWaitMs ?? 1500,
    stallMs: 300,
    expected: opts.expected ? () => opts.expected : undefined,
  });
  return stats.filter((s) => s.name === service).map(instanceReading);
}

export function instanceReading(s: ServiceStats): InstanceReading {
  const endpoints = new Map<string, EndpointReading>();
  for (const e of s.endpoints ?? []) {
    const total = latencyData(e.data)?.total;
    endpoints.set(e.name, {
      // the histogram's own counts when there is one: its requests and its latencies are the same set
      requests: total?.count ?? e.num_requests,
      errors: total?.errors ?? e.num_errors,
      ...(total ? { latency: total } : {}),
    });
  }
  return { id: s.id, version: s.version, endpoints };
}

const EMPTY: EndpointReading = { requests: 0, errors: 0 };

/**
 * The analysis's figures: `begin` with the first reading, then `update` with each new one. An instance
 * first seen later started during the analysis: all of its requests count. One that misses a reading
 * keeps its last one (a slow reply is not a reset).
 */
export class CanaryStats {
  private readonly start = new Map<string, InstanceReading>();
  private readonly last = new Map<string, InstanceReading>();
  private readonly merger = new LatencyMerger();
  private readonly decoded = new Map<string, Histogram>();

  constructor(
    private readonly canaryVersion: string,
    private readonly maxP99Ratio: number,
  ) {}

  begin(readings: InstanceReading[]): void {
    for (const r of readings) {
      this.start.set(r.id, r);
      this.last.set(r.id, r);
    }
  }

  update(readings: InstanceReading[]): CanaryFigures {
    for (const r of readings) this.last.set(r.id, r);
    const canary: LatencySummary[] = [];
    const baseline: LatencySummary[] = [];
    const counts = { canary: { n: 0, requests: 0, errors: 0 }, baseline: { n: 0, requests: 0, errors: 0 } };
    const lifetime = { requests: 0, errors: 0 };
    for (const r of this.last.values()) {
      const group = r.version === this.canaryVersion ? "canary" : "baseline";
      const c = counts[group];
      c.n++;
      const before = this.start.get(r.id);
      for (const [name, now] of r.endpoints) {
        const was = before?.endpoints.get(name) ?? EMPTY;
        if (group === "canary") {
          lifetime.requests += now.requests;
          lifetime.errors += now.errors;
        }
        c.requests += Math.max(0, now.requests - was.requests);
        c.errors += Math.max(0, now.errors - was.errors);
        const d = now.latency && this.delta(now.latency, was.latency);
        if (d) (group === "canary" ? canary : baseline).push(d);
      }
    }
    const figures = { canary: this.figures(counts.canary, canary), baseline: this.figures(counts.baseline, baseline) };
    const b99 = figures.baseline.p99Ms;
    const slowLimitMs = b99 === null ? null : Math.max(b99 * this.maxP99Ratio, b99 + P99_FLOOR_MS);
    return {
      ...figures,
      canaryLifetime: lifetime,
      canarySlow: slowLimitMs === null ? 0 : slowerThan(canary, slowLimitMs),
      slowLimitMs,
    };
  }

  private figures(c: { n: number; requests: number; errors: number }, parts: LatencySummary[]): GroupFigures {
    const p = this.merger.percentiles(parts);
    return {
      instances: c.n,
      requests: c.requests,
      errors: c.errors,
      errorRate: c.requests ? c.errors / c.requests : null,
      p50Ms: p?.p50Ms ?? null,
      p99Ms: p?.p99Ms ?? null,
    };
  }

  /** The requests of `now` not in `was` (same instance, same endpoint): the histogram minus the earlier one. */
  private delta(now: LatencySummary, was: LatencySummary | undefined): LatencySummary | undefined {
    if (!was || was.count === 0) return now;
    const count = now.count - was.count;
    const base = { seconds: Math.max(0, now.seconds - was.seconds), count: Math.max(0, count) };
    if (count <= 0) return { ...base, errors: 0, p50: 0, p90: 0, p99: 0, max: 0, hdr: "" };
    let h: Histogram;
    let start: Histogram;
    try {
      h = decodeHistogram(now.hdr);
      start = this.decodeOnce(was.hdr);
    } catch {
      return undefined; // a histogram gs cannot read: the counts still count
    }
    h.subtract(start);
    const max = h.maxValue;
    return {
      ...base,
      errors: Math.max(0, now.errors - was.errors),
      p50: Math.min(h.getValueAtPercentile(50), max),
      p90: Math.min(h.getValueAtPercentile(90), max),
      p99: Math.min(h.getValueAtPercentile(99), max),
      max,
      hdr: hdr.encodeIntoCompressedBase64(h),
    };
  }

  /** the starting histograms are the same at every reading: decoded once */
  private decodeOnce(encoded: string): Histogram {
    let h = this.decoded.get(encoded);
    if (!h) this.decoded.set(encoded, (h = decodeHistogram(encoded)));
    return h;
  }
}

/** Requests of these histograms slower than `ms` (to HDR's ~1%: a sub-bucket across the limit counts as slower). */
function slowerThan(parts: LatencySummary[], ms: number): number {
  let n = 0;
  for (const p of parts) {
    if (p.count === 0 || !p.hdr) continue;
    try {
      n += p.count - latencyBuckets(p.hdr, [ms / 1000]).cumulative[0]!;
    } catch {
      continue; // a histogram gs cannot read
    }
  }
  return n;
}
