// HDR histograms of latencies in microseconds: recorded in each worker, merged in the main thread.
import hdr, { type Histogram, type JsHistogram } from "hdr-histogram-js";
import type { LatencyBucket, LatencyMs } from "./types.js";

/** 1 µs to 1 hour at 3 significant digits: a 1 s stall and a 50 µs reply are both exact to 0.1%. */
export function newHistogram(): Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
  });
}

export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

/** Merge the workers' encoded histograms into one. */
export function mergeHistograms(encoded: string[]): Histogram {
  const total = newHistogram();
  for (const e of encoded) total.add(hdr.decodeFromCompressedBase64(e));
  return total;
}

/** Merge histograms and keep the exact max the workers measured (encoding rounds it up to its bucket). */
export function mergeWorkerHistograms(parts: { histogram: string; maxUs: number }[]): {
  histogram: Histogram;
  maxUs: number;
} {
  return {
    histogram: mergeHistograms(parts.map((p) => p.histogram)),
    maxUs: Math.max(0, ...parts.map((p) => p.maxUs)),
  };
}

const ms = (us: number) => Math.round(us) / 1000;

export function percentilesMs(h: Histogram, exactMaxUs?: number): LatencyMs {
  if (h.totalCount === 0) return { p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
  return {
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(exactMaxUs ?? h.maxValue),
  };
}

/**
 * Up to `bars` buckets between the smallest and the largest latency, spaced logarithmically when
 * they span more than a decade (latency tails are long), linearly otherwise.
 */
export function latencyBuckets(h: Histogram, bars = 12): LatencyBucket[] {
  if (h.totalCount === 0) return [];
  const lo = Math.max(1, h.minNonZeroValue);
  const hi = Math.max(lo + 1, h.maxValue);
  const log = hi / lo > 10;
  const edges = Array.from({ length: bars + 1 }, (_, i) =>
    log ? lo * (hi / lo) ** (i / bars) : lo + ((hi - lo) * i) / bars,
  );
  const counts = new Array<number>(bars).fill(0);
  const it = (h as JsHistogram).recordedValuesIterator;
  it.reset();
  while (it.hasNext()) {
    const v = it.next();
    let b = edges.findIndex((e, i) => i > 0 && v.valueIteratedTo <= e);
    if (b < 0) b = bars; // rounding at the top edge
    counts[b - 1]! += v.countAtValueIteratedTo;
  }
  return counts.map((count, i) => ({ from_ms: ms(edges[i]!), to_ms: ms(edges[i + 1]!), count }));
}
