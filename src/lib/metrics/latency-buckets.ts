// Prometheus histogram buckets from a service instance's HDR histogram of request latencies (the SDK's
// `data.total.hdr` in $SRV.STATS, in ns; services/sdk/latency.ts). Fixed bounds in seconds, the same
// for every series, so `sum by (le)` across instances and services works.
import { decodeHistogram } from "../nats/latency-data.js";

/** Upper bounds, seconds: 100 µs to 10 s, 1-2.5-5 per decade (a NATS request is often well under 1 ms). */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

export interface LatencyBuckets {
  /** cumulative counts, one per LATENCY_BUCKETS_SECONDS bound (the +Inf bucket is `count`) */
  cumulative: number[];
  count: number;
  /** sum of the latencies, seconds (each HDR sub-bucket counted at its middle value: within ~1%) */
  sumSeconds: number;
}

/**
 * The buckets of one encoded histogram. A request counts under a bound when the whole HDR sub-bucket
 * it fell in (~1% wide) is at or below it: near a bound the count errs towards the slower bucket, so
 * a quantile read from these buckets never understates a latency.
 */
export function latencyBuckets(encoded: string, bounds: readonly number[] = LATENCY_BUCKETS_SECONDS): LatencyBuckets {
  const h = decodeHistogram(encoded);
  const boundsNs = bounds.map((b) => Math.round(b * 1e9));
  const perBucket = new Array<number>(bounds.length).fill(0);
  let count = 0;
  let sumNs = 0;
  const it = h.recordedValuesIterator;
  it.reset();
  while (it.hasNext()) {
    const v = it.next();
    const n = v.countAtValueIteratedTo;
    count += n;
    sumNs += h.medianEquivalentValue(v.valueIteratedTo) * n;
    // valueIteratedTo is the sub-bucket's highest equivalent value
    const i = boundsNs.findIndex((b) => v.valueIteratedTo <= b);
    if (i >= 0) perBucket[i]! += n;
  }
  h.destroy();
  let running = 0;
  return { cumulative: perBucket.map((n) => (running += n)), count, sumSeconds: sumNs / 1e9 };
}
