import hdr from "hdr-histogram-js";
import { afterEach, describe, expect, it, vi } from "vitest";
import { EndpointLatency, LatencyTracker, latencyHistogramsEnabled, SLOT_MS, SLOTS } from "./latency.js";

const ms = 1_000_000; // ns

/** within HDR's precision at 2 significant digits (buckets are at most 1/128 wide) */
const near = (value: number, expected: number) =>
  expect(Math.abs(value - expected)).toBeLessThanOrEqual(expected / 100);

describe("endpoint latency histograms", () => {
  afterEach(() => vi.useRealTimers());

  it("reports p50/p90/p99/max of known durations within 1%", () => {
    const e = new EndpointLatency(0);
    for (let i = 0; i < 1000; i++) e.record(i % 10 === 9 ? 20 * ms + i : 1 * ms + i, false);
    const { unit, window } = e.snapshot(1000);
    expect(unit).toBe("ns");
    expect(window.count).toBe(1000);
    near(window.p50, 1 * ms);
    near(window.p90, 1 * ms);
    near(window.p99, 20 * ms);
    expect(window.max).toBe(20 * ms + 999); // exact, not a bucket bound
    expect(window.seconds).toBe(1);
  });

  it("forgets samples once they are older than the window and keeps them in the totals", () => {
    const e = new EndpointLatency(0);
    for (let i = 0; i < 40; i++) e.record(2 * ms, i < 4); // in the first slot [0 s, 5 s)
    for (let i = 0; i < 10; i++) e.record(50 * ms, false);
    e.rotate(30_000);
    for (let i = 0; i < 20; i++) e.record(1 * ms, i < 1);

    const before = e.snapshot(SLOTS * SLOT_MS - 1); // the first slot is still in the window
    expect([before.window.count, before.window.errors, before.window.max]).toEqual([70, 5, 50 * ms]);

    const after = e.snapshot(SLOTS * SLOT_MS); // ... and now it has left it
    expect([after.window.count, after.window.errors, after.window.max]).toEqual([20, 1, 1 * ms]);
    near(after.window.p99, 1 * ms);
    expect([after.total.count, after.total.errors, after.total.max]).toEqual([70, 5, 50 * ms]);
    near(after.total.p99, 50 * ms);
    expect(after.total.seconds).toBe(60);

    const later = e.snapshot(10 * 60_000); // idle for minutes: an empty window, totals intact
    expect([later.window.count, later.window.errors, later.window.p50, later.window.max]).toEqual([0, 0, 0, 0]);
    expect([later.total.count, later.total.errors]).toEqual([70, 5]);
  });

  it("covers between 55 and 60 seconds once the instance has run a minute", () => {
    const e = new EndpointLatency(0);
    expect(e.snapshot(20_000).window.seconds).toBe(20);
    expect(e.snapshot(125_000).window.seconds).toBe(55);
    expect(e.snapshot(129_999).window.seconds).toBe(59.999);
  });

  it("keeps the exact duration of a request longer than the histogram's range as max", () => {
    const e = new EndpointLatency(0);
    e.record(20 * 60_000 * ms, true);
    const { window } = e.snapshot(1);
    expect([window.count, window.errors, window.max]).toEqual([1, 1, 20 * 60_000 * ms]);
    expect(window.p99).toBeLessThanOrEqual(window.max);
  });

  it("carries histograms that merge across instances", () => {
    const a = new EndpointLatency(0);
    const b = new EndpointLatency(0);
    for (let i = 0; i < 99; i++) a.record(1 * ms, false);
    for (let i = 0; i < 99; i++) b.record(3 * ms, false);
    b.record(100 * ms, false);
    const merged = hdr.decodeFromCompressedBase64(a.snapshot(1).window.hdr);
    merged.add(hdr.decodeFromCompressedBase64(b.snapshot(1).window.hdr));
    expect(merged.totalCount).toBe(199);
    near(merged.getValueAtPercentile(25), 1 * ms);
    near(merged.getValueAtPercentile(75), 3 * ms);
    near(merged.maxValue, 100 * ms);
  });

  it("moves every endpoint's slots on from one timer, so samples land in the slot of their time", () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    let now = 0;
    const tracker = new LatencyTracker(() => now);
    const e = tracker.endpoint("svc.rpc");
    tracker.start();
    e.record(1 * ms, false); // slot [0 s, 5 s)
    now = 6_000;
    vi.advanceTimersByTime(1_000);
    e.record(2 * ms, false); // slot [5 s, 10 s), only because the timer moved the slots on
    now = SLOTS * SLOT_MS + 500;
    expect(tracker.data("svc.rpc")?.window).toMatchObject({ count: 1, max: 2 * ms });
    expect(tracker.data("svc.other")).toBeNull();
    tracker.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("is on unless GS_LATENCY_HISTOGRAMS=0", () => {
    expect([{}, { GS_LATENCY_HISTOGRAMS: "1" }, { GS_LATENCY_HISTOGRAMS: "0" }].map(latencyHistogramsEnabled)).toEqual([
      true,
      true,
      false,
    ]);
  });
});
