// Prometheus buckets from the HDR histogram a service instance reports (made here by the SDK's own
// latency tracker, as a service makes it): counts under each bound, the +Inf count and the sum.
import { describe, expect, it } from "vitest";
import { EndpointLatency } from "../../../services/sdk/latency.js";
import { LATENCY_BUCKETS_SECONDS, latencyBuckets } from "./latency-buckets.js";

/** The `total.hdr` an instance reports after recording these latencies (ns). */
function reported(latenciesNs: number[]): string {
  const e = new EndpointLatency(0);
  for (const ns of latenciesNs) e.record(ns, false);
  return e.snapshot(1000).total.hdr;
}

const ms = (n: number) => Math.round(n * 1e6);

describe("latency buckets from an instance's HDR histogram", () => {
  it("counts each latency under the first bound at or above it, cumulatively", () => {
    // 300 µs x 50, 2 ms x 30, 40 ms x 15, 3 s x 5: each well inside its bucket
    const b = latencyBuckets(
      reported([
        ...Array(50).fill(ms(0.3)),
        ...Array(30).fill(ms(2)),
        ...Array(15).fill(ms(40)),
        ...Array(5).fill(ms(3000)),
      ]),
    );
    const at = (le: number) => b.cumulative[LATENCY_BUCKETS_SECONDS.indexOf(le)];
    expect(b.count).toBe(100);
    expect(at(0.00025)).toBe(0);
    expect(at(0.0005)).toBe(50);
    expect(at(0.001)).toBe(50);
    expect(at(0.0025)).toBe(80);
    expect(at(0.025)).toBe(80);
    expect(at(0.05)).toBe(95);
    expect(at(2.5)).toBe(95);
    expect(at(5)).toBe(100);
    expect(at(10)).toBe(100);
    // cumulative: never decreasing, and at most the count
    for (let i = 1; i < b.cumulative.length; i++) expect(b.cumulative[i]).toBeGreaterThanOrEqual(b.cumulative[i - 1]!);
    const exactSum = 50 * 0.0003 + 30 * 0.002 + 15 * 0.04 + 5 * 3;
    expect(Math.abs(b.sumSeconds - exactSum) / exactSum).toBeLessThan(0.01);
  });

  it("counts a latency just above a bound in the next bucket, never under the bound", () => {
    // 1% above 1 ms: HDR keeps it within ~1%, so it must not count as <= 1 ms
    const b = latencyBuckets(reported([ms(1.02), ms(0.98)]));
    const at = (le: number) => b.cumulative[LATENCY_BUCKETS_SECONDS.indexOf(le)];
    expect(at(0.001)).toBe(1);
    expect(at(0.0025)).toBe(2);
  });

  it("gives empty buckets for an endpoint without requests, and counts what is beyond the last bound only in +Inf", () => {
    expect(latencyBuckets(reported([]))).toEqual({
      cumulative: LATENCY_BUCKETS_SECONDS.map(() => 0),
      count: 0,
      sumSeconds: 0,
    });
    const slow = latencyBuckets(reported([ms(30_000)]));
    expect(slow.count).toBe(1);
    expect(slow.cumulative.at(-1)).toBe(0);
  });
});
