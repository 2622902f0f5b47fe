// The SDK's latency figures in $SRV.STATS (services/sdk/latency.ts): each endpoint's `data` carries HDR
// histograms (ns) of the last minute and since start. The one reader of them for every command
// (`gs services`, `gs status`, the dashboard, the Prometheus exporter). Percentiles cannot be averaged
// across instances or endpoints, so a group's figures come from adding their histograms, then reading.
import hdr, { type BuildRequest, type Histogram, type JsHistogram } from "hdr-histogram-js";
import type { LatencyData, LatencySummary } from "@gs/fleet/sdk/latency";

export type { LatencyData, LatencySummary };

/** Percentiles of a group of histograms (instances, endpoints), in ms (rounded to the µs). */
export interface LatencyPercentiles {
  /** requests the histograms hold (replies and error replies) */
  requests: number;
  errors: number;
  /** null when there was no request */
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  /** the slowest request, exact */
  maxMs: number | null;
}

const isCount = (n: unknown): n is number => typeof n === "number" && Number.isFinite(n) && n >= 0;

function isSummary(s: unknown): s is LatencySummary {
  const v = s as Partial<LatencySummary> | null;
  return (
    !!v &&
    typeof v === "object" &&
    [v.seconds, v.count, v.errors, v.p50, v.p90, v.p99, v.max].every(isCount) &&
    typeof v.hdr === "string"
  );
}

/** An endpoint's `data` as the SDK's latency figures, or undefined (an instance without histograms, or anything else). */
export function latencyData(data: unknown): LatencyData | undefined {
  const d = data as Partial<LatencyData> | null | undefined;
  return d?.unit === "ns" && isSummary(d.window) && isSummary(d.total) ? (d as LatencyData) : undefined;
}

/** One encoded histogram (ns), decoded in JS (not WebAssembly: JsHistogram's iterators are used on it). Throws on garbage. */
export function decodeHistogram(encoded: string): JsHistogram {
  return hdr.decodeFromCompressedBase64(encoded, 32, false) as JsHistogram;
}

const ms = (ns: number) => Math.round(ns / 1e3) / 1e3;

/**
 * Merges groups of summaries; each encoded histogram is decoded at most once however many groups it
 * is in (an endpoint of an instance counts for its service, its instance and its endpoint row).
 */
export class LatencyMerger {
  private readonly decoded = new Map<string, JsHistogram | null>();

  /** The percentiles of these summaries together; null when there are none (no instance keeps histograms). */
  percentiles(parts: readonly LatencySummary[]): LatencyPercentiles | null {
    if (parts.length === 0) return null;
    const requests = parts.reduce((n, p) => n + p.count, 0);
    const errors = parts.reduce((n, p) => n + p.errors, 0);
    const max = Math.max(...parts.map((p) => p.max));
    const busy = parts.filter((p) => p.count > 0);
    if (busy.length === 0) return { requests, errors, p50Ms: null, p90Ms: null, p99Ms: null, maxMs: null };
    // one histogram with requests: its own figures are exact, no need to decode
    if (busy.length === 1) {
      const [p] = busy as [LatencySummary];
      return { requests, errors, p50Ms: ms(p.p50), p90Ms: ms(p.p90), p99Ms: ms(p.p99), maxMs: ms(p.max) };
    }
    let sum: Histogram | undefined;
    for (const p of busy) {
      const h = this.decode(p.hdr);
      if (!h) continue;
      sum ??= hdr.build({
        lowestDiscernibleValue: h.lowestDiscernibleValue,
        highestTrackableValue: h.highestTrackableValue,
        numberOfSignificantValueDigits:
          h.numberOfSignificantValueDigits as BuildRequest["numberOfSignificantValueDigits"],
        bitBucketSize: 32,
        autoResize: true,
        useWebAssembly: false,
      });
      sum.add(h);
    }
    if (!sum || sum.totalCount === 0)
      return { requests, errors, p50Ms: null, p90Ms: null, p99Ms: null, maxMs: ms(max) };
    // HDR answers a bucket's upper bound, which can pass the exact max by up to 1%
    const at = (q: number) => ms(Math.min(sum.getValueAtPercentile(q), max));
    return { requests, errors, p50Ms: at(50), p90Ms: at(90), p99Ms: at(99), maxMs: ms(max) };
  }

  /** null for a histogram gs cannot read: its counts still count, its latencies cannot */
  private decode(encoded: string): JsHistogram | null {
    let h = this.decoded.get(encoded);
    if (h === undefined) {
      try {
        h = decodeHistogram(encoded);
      } catch {
        h = null;
      }
      this.decoded.set(encoded, h);
    }
    return h;
  }
}
