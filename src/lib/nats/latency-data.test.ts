// The one reader of the SDK's latency data: histograms made by the SDK's own tracker (as a service
// makes them), merged across instances and endpoints the way `gs services`, `gs status` and the
// dashboard merge them.
import { describe, expect, it } from "vitest";
import { EndpointLatency } from "../../../services/sdk/latency.js";
import { latencyData, LatencyMerger, type LatencySummary } from "./latency-data.js";

const MS = 1e6;

/** The last-minute summary an instance reports after these requests (ns). */
function window(latenciesNs: number[], errors = 0): LatencySummary {
  const e = new EndpointLatency(0);
  latenciesNs.forEach((ns, i) => e.record(ns, i < errors));
  return e.snapshot(1000).window;
}

/** ns to ms, to the µs, as the merger reports them */
const toMs = (ns: number) => Math.round(ns / 1e3) / 1e3;
const times = (n: number, ns: number) => Array<number>(n).fill(ns);

describe("merging instances' latency histograms", () => {
  it("gives the p99 of all requests together, not the mean of the instances' p99s", () => {
    // a: 1000 at 1 ms (p99 1 ms); b: 960 at 2 ms and 40 at 50 ms (p99 50 ms). Together, 2000
    // requests: the 1980th is one of the 50 ms ones, so p99 is 50 ms (a mean of p99s would say 25.5)
    const a = window(times(1000, 1 * MS));
    const b = window([...times(960, 2 * MS), ...times(40, 50 * MS)], 3);
    expect(a.p99).toBeLessThan(1.02 * MS);
    const m = new LatencyMerger().percentiles([a, b])!;
    expect(m.requests).toBe(2000);
    expect(m.errors).toBe(3);
    expect(m.p99Ms).toBe(50);
    expect(m.maxMs).toBe(50);
    // the 1000th request is a 1 ms one, the 1800th a 2 ms one (HDR keeps 2 significant digits: within 1%)
    expect(m.p50Ms!).toBeGreaterThanOrEqual(1);
    expect(m.p50Ms!).toBeLessThan(1.01);
    expect(m.p90Ms!).toBeGreaterThanOrEqual(2);
    expect(m.p90Ms!).toBeLessThan(2.02);
  });

  it("moves the p99 when a second instance is slow, which one instance's p99 cannot show", () => {
    const fast = window(times(990, 1 * MS));
    const slow = window(times(100, 200 * MS));
    // 1090 requests, the slowest 100 at 200 ms: 9% of them, so p90 is still fast and p99 slow
    const m = new LatencyMerger().percentiles([fast, slow])!;
    expect(m.p90Ms!).toBeLessThan(1.01);
    expect(m.p99Ms).toBe(200);
  });

  it("uses an instance's own figures when it is the only one with requests", () => {
    const busy = window([...times(99, 3 * MS), 30 * MS]);
    const idle = window([]);
    const m = new LatencyMerger().percentiles([busy, idle])!;
    expect(m).toEqual({
      requests: 100,
      errors: 0,
      p50Ms: toMs(busy.p50),
      p90Ms: toMs(busy.p90),
      p99Ms: toMs(busy.p99),
      maxMs: 30,
    });
  });

  it("has no percentiles without requests, and no figures at all without histograms", () => {
    const merger = new LatencyMerger();
    expect(merger.percentiles([window([]), window([])])).toEqual({
      requests: 0,
      errors: 0,
      p50Ms: null,
      p90Ms: null,
      p99Ms: null,
      maxMs: null,
    });
    expect(merger.percentiles([])).toBeNull();
  });

  it("skips a histogram it cannot decode, and still counts its requests", () => {
    const good = window(times(10, 4 * MS));
    const bad = { ...window(times(10, 90 * MS)), hdr: "not a histogram" };
    const m = new LatencyMerger().percentiles([good, bad])!;
    expect(m.requests).toBe(20);
    expect(m.p99Ms!).toBeLessThan(4.05);
    expect(m.maxMs).toBe(90);
  });
});

describe("reading an endpoint's data", () => {
  it("takes the SDK's latency data and nothing else", () => {
    const e = new EndpointLatency(0);
    e.record(2 * MS, false);
    const data = JSON.parse(JSON.stringify(e.snapshot(500)));
    expect(latencyData(data)?.window.count).toBe(1);
    expect(latencyData(null)).toBeUndefined();
    expect(latencyData({ unit: "ms", window: data.window, total: data.total })).toBeUndefined();
    expect(latencyData({ unit: "ns", window: { ...data.window, p99: "slow" }, total: data.total })).toBeUndefined();
    expect(latencyData("text")).toBeUndefined();
  });
});
