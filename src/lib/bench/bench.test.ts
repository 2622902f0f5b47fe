import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import hdr from "hdr-histogram-js";
import { errors } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { compareWithBaseline, describeRegression, parsePercent } from "./compare.js";
import { readBaseline } from "./result-file.js";
import { describeKind, requestErrorKind } from "./error-kind.js";
import { encodeHistogram, latencyBuckets, mergeWorkerHistograms, newHistogram, percentilesMs } from "./histogram.js";
import { parseSize, preparePayload } from "./payload.js";
import { planBench, share } from "./plan.js";
import { renderReport } from "./report.js";
import type { BenchResult } from "./types.js";

const settings = { servers: ["nats://127.0.0.1:4222"] };
const base = { subject: "echo", payload: new Uint8Array(8), timeoutMs: 1000 };

describe("planBench", () => {
  it("splits an open-loop rate across workers with interleaved send times", () => {
    const p = planBench({ ...base, rate: 1000 }, settings, 4);
    expect(p.mode).toBe("open");
    expect(p.workers.map((w) => w.rate)).toEqual([250, 250, 250, 250]);
    // worker i sends requests i, i+4, ...: 1 ms apart overall
    expect(p.workers.map((w) => w.phaseMs)).toEqual([0, 1, 2, 3]);
    expect(p.connections).toBe(4);
  });

  it("splits concurrency, connections and requests into near-equal shares", () => {
    const p = planBench({ ...base, concurrency: 10, workers: 3, connections: 7, requests: 1001 }, settings, 8);
    expect(p.mode).toBe("closed");
    expect(p.workers.map((w) => w.concurrency)).toEqual([4, 3, 3]);
    expect(p.workers.map((w) => w.connections)).toEqual([3, 2, 2]);
    expect(p.workers.map((w) => w.requests)).toEqual([334, 334, 333]);
    expect(p.workers.every((w) => w.durationMs === undefined)).toBe(true);
  });

  it("uses fewer default workers than cores when there is less work to share", () => {
    expect(planBench({ ...base, concurrency: 1 }, settings, 8).workers).toHaveLength(1);
    expect(planBench({ ...base, rate: 2 }, settings, 8).workers).toHaveLength(2);
    expect(planBench({ ...base, connections: 3 }, settings, 8).workers).toHaveLength(3);
  });

  it("defaults to a 10 s closed loop with 64 in flight", () => {
    const p = planBench(base, settings, 2);
    expect(p.workers.map((w) => [w.concurrency, w.durationMs])).toEqual([
      [32, 10_000],
      [32, 10_000],
    ]);
  });

  it.each([
    [{ rate: 10, concurrency: 2 }, /--rate .* or --concurrency .*not both/],
    [{ durationMs: 1000, requests: 5 }, /--duration or --requests, not both/],
    [{ workers: 4, connections: 2 }, /--connections 2 is fewer than --workers 4/],
    [{ workers: 3, concurrency: 2 }, /--workers 3 is more than the work to share/],
  ])("rejects %j as a usage error", (opts, message) => {
    expect(() => planBench({ ...base, ...opts }, settings, 2)).toThrow(message);
  });

  it("shares add up to the total", () => {
    for (const [total, n] of [
      [7, 3],
      [100, 7],
      [2, 5],
    ]) {
      expect(Array.from({ length: n! }, (_, i) => share(total!, n!, i)).reduce((a, b) => a + b, 0)).toBe(total);
    }
  });
});

describe("histograms", () => {
  it("merges the workers' encoded histograms into the same percentiles as one histogram", () => {
    const a = newHistogram();
    const b = newHistogram();
    const all = newHistogram();
    for (let i = 1; i <= 10_000; i++) {
      (i % 2 ? a : b).recordValue(i * 10);
      all.recordValue(i * 10);
    }
    const { histogram: merged, maxUs } = mergeWorkerHistograms([
      { histogram: encodeHistogram(a), maxUs: a.maxValue },
      { histogram: encodeHistogram(b), maxUs: b.maxValue },
    ]);
    expect(merged.totalCount).toBe(10_000);
    expect(percentilesMs(merged, maxUs)).toEqual(percentilesMs(all));
    expect(percentilesMs(merged, maxUs)).toMatchObject({ p50: 50.015, max: 100 });
  });

  it("buckets every recorded value exactly once", () => {
    const h = hdr.build();
    for (const v of [100, 120, 150, 900, 5000, 1_000_000]) h.recordValue(v);
    const buckets = latencyBuckets(h, 8);
    expect(buckets).toHaveLength(8);
    expect(buckets.reduce((n, b) => n + b.count, 0)).toBe(6);
    expect(buckets[0]!.from_ms).toBe(0.1);
    expect(buckets.at(-1)!.count).toBe(1);
  });
});

describe("errors by kind", () => {
  it("classifies NATS.js request failures", () => {
    expect(requestErrorKind(new errors.TimeoutError())).toBe("timeout");
    expect(
      requestErrorKind(new errors.RequestError("no responders", { cause: new errors.NoRespondersError("x") })),
    ).toBe("no_responders");
    expect(requestErrorKind(new errors.ClosedConnectionError())).toBe("connection_closed");
    expect(requestErrorKind(new Error("boom"))).toBe("other");
    expect(describeKind("error_reply:503")).toBe("error reply 503");
    expect(describeKind("no_responders")).toBe("no responders");
  });
});

describe("payload", () => {
  it("parses sizes", () => {
    expect([parseSize("512"), parseSize("1KiB"), parseSize("2MiB"), parseSize("1KB"), parseSize("lots")]).toEqual([
      512,
      1024,
      2 * 1024 * 1024,
      1000,
      undefined,
    ]);
  });

  it("encodes JSON DATA through the proto registry and sizes it in protobuf and JSON", () => {
    const p = preparePayload({
      subject: "npc-behavior.decide",
      data: '{"npcId":"n1","archetype":"villager"}',
      cwd: process.cwd(),
    });
    expect(p.sizes.protobuf).toBe(p.bytes.length);
    expect(p.sizes.json).toBe(Buffer.byteLength('{"npcId":"n1","archetype":"villager"}'));
    expect(p.sizes.json!).toBeGreaterThan(p.sizes.protobuf!);
    expect(p.replyType?.name).toBe("DecideResponse");
  });

  it("sends N random bytes with --size and refuses it beside DATA", () => {
    expect(preparePayload({ subject: "x", size: "1KiB", cwd: process.cwd() }).bytes).toHaveLength(1024);
    expect(() => preparePayload({ subject: "x", size: "1KiB", data: "{}", cwd: process.cwd() })).toThrow(
      /--size sends random bytes/,
    );
    expect(() => preparePayload({ subject: "npc-behavior.decide", data: '{"npcid":1}', cwd: process.cwd() })).toThrow(
      /invalid npc_behavior\.v1\.DecideRequest/,
    );
  });
});

describe("regression gate", () => {
  const figures = (throughput_rps: number, p99: number) => ({
    throughput_rps,
    latency_ms: { p50: 1, p90: 1, p99, p999: 1, max: 1 },
  });

  it("names each figure that regressed by more than allowed", () => {
    const r = compareWithBaseline(figures(8000, 2.5), figures(10_000, 2), 10, "base.json");
    expect(r.ok).toBe(false);
    expect(r.regressed.map((x) => [x.figure, x.worse_by_pct])).toEqual([
      ["throughput_rps", 20],
      ["latency_ms.p99", 25],
    ]);
    expect(describeRegression(r.regressed[0]!, 10)).toBe(
      "throughput_rps regressed 20% (10000 -> 8000 req/s), more than the allowed 10%",
    );
  });

  it("passes within the allowance, and on improvements", () => {
    expect(compareWithBaseline(figures(9500, 2.1), figures(10_000, 2), 10, "b").ok).toBe(true);
    expect(compareWithBaseline(figures(20_000, 1), figures(10_000, 2), 10, "b").ok).toBe(true);
  });

  it("reads a saved result and rejects a file that is not one", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "gs-bench-"));
    writeFileSync(path.join(dir, "ok.json"), JSON.stringify(figures(100, 1)));
    writeFileSync(path.join(dir, "bad.json"), "{}");
    expect(readBaseline(path.join(dir, "ok.json")).throughput_rps).toBe(100);
    expect(() => readBaseline(path.join(dir, "bad.json"))).toThrow(/not a gs bench result/);
    expect(() => readBaseline(path.join(dir, "missing.json"))).toThrow(/cannot read --baseline .*ENOENT/);
    expect([parsePercent("10%"), parsePercent("2.5"), parsePercent("ten")]).toEqual([10, 2.5, undefined]);
  });
});

describe("report", () => {
  it("shows throughput, percentiles, errors by kind, sizes and a histogram", () => {
    const r: BenchResult = {
      subject: "npc-behavior.decide",
      mode: "open",
      requests: 1000,
      errors: 3,
      errors_by_kind: { timeout: 2, "error_reply:503": 1 },
      seconds: 1,
      throughput_rps: 997,
      latency_ms: { p50: 0.5, p90: 0.9, p99: 2, p999: 900, max: 1000 },
      payload_bytes: { protobuf: 20, json: 60 },
      reply_bytes: { protobuf: 10, json: 40 },
      rate_rps: 1000,
      workers: 2,
      connections: 2,
      warmup_s: 0,
      timeout_ms: 5000,
      generator_cpu: { seconds: 0.5, us_per_request: 500 },
      latency_histogram: [
        { from_ms: 0.1, to_ms: 1, count: 990 },
        { from_ms: 1, to_ms: 1000, count: 10 },
      ],
    };
    const text = renderReport(r, { paint: (_s, t) => t, bar: "#", barWidth: 10 });
    expect(text).toContain("open loop at 1,000 req/s · 2 workers · 2 connections");
    expect(text).toMatch(/throughput\s+997 req\/s/);
    expect(text).toMatch(/p99 2\.00ms\s+p99\.9 900ms\s+max 1s/);
    expect(text).toMatch(/errors\s+timeout 2 · error reply 503 1/);
    expect(text).toContain("request 20B protobuf vs 60B JSON (JSON is 3.0x)");
    expect(text).toMatch(/##########\s+990\s+99\.00%/);
    expect(text).toMatch(/generator\s+0\.5 cores busy, 500µs CPU per request/);
  });
});
