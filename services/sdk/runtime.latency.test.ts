import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../test-support/harness.js";
import { notFound } from "./errors.js";
import type { LatencyData } from "./latency.js";
import { defineService } from "./runtime.js";

// a service on the npc-behavior proto whose Decide takes a known time: ~100 ms for "slow-*", at once otherwise.
// The gap is wide so that the checks hold on a loaded 2-core machine, where a "fast" reply can take 10 ms.
const timed = defineService({
  name: "npc-behavior",
  description: "latency probe",
  start: () => ({
    Decide: async (req: { npcId: string }) => {
      if (req.npcId === "missing") throw notFound("no such npc");
      if (req.npcId.startsWith("slow")) await new Promise((r) => setTimeout(r, 100));
      return { npcId: req.npcId, actionId: "eat" };
    },
    ListActions: () => ({ actions: [] }),
  }),
});

interface DecideStats {
  num_requests: number;
  num_errors: number;
  data?: LatencyData | null;
}

async function decideStats(nc: NatsConnection): Promise<DecideStats> {
  const st = (await nc.request("$SRV.STATS.npc-behavior", "", { timeout: 2000 })).json<{
    endpoints: (DecideStats & { name: string })[];
  }>();
  return st.endpoints.find((e) => e.name === "Decide")!;
}

const ms = 1_000_000; // ns

describe("latency percentiles in $SRV.STATS", () => {
  let h: Harness;
  let now = 1_000;
  beforeAll(async () => {
    h = await startHarness();
    await h.start(timed, { latencyClock: () => now });
    // 10% slow, in every tenth request; then 5 error replies
    for (let i = 0; i < 200; i++) await h.call("npc-behavior.decide", { npcId: i % 10 === 9 ? `slow-${i}` : `n${i}` });
    for (let i = 0; i < 5; i++) await h.fail("npc-behavior.decide", { npcId: "missing" });
  });
  afterAll(async () => h?.stop());

  it("reports p50/p90/p99/max per endpoint from a real service, within stated tolerances", async () => {
    const st = await decideStats(h.nc);
    const w = st.data!.window;
    expect(st.data!.unit).toBe("ns");
    expect([w.count, w.errors]).toEqual([205, 5]);
    expect([w.count, w.errors]).toEqual([st.num_requests, st.num_errors]);
    // fast replies take well under 50 ms even on a loaded machine; p90 is still among them (185 of 205 are fast)
    expect(w.p50).toBeLessThan(50 * ms);
    expect(w.p90).toBeLessThan(50 * ms);
    // the slow tenth: a 100 ms timer (Node may fire it up to 1 ms early), plus a loaded machine's delay
    expect(w.p99).toBeGreaterThanOrEqual(99 * ms);
    expect(w.p99).toBeLessThan(300 * ms);
    expect(w.max).toBeGreaterThanOrEqual(w.p99);
    expect(st.data!.total).toMatchObject({ count: 205, errors: 5, p99: w.p99, max: w.max });
  });

  it("forgets requests older than a minute in the window and keeps them in the totals", async () => {
    now += 61_000;
    const idle = await decideStats(h.nc);
    expect(idle.data!.window).toMatchObject({ count: 0, errors: 0, p50: 0, p99: 0, max: 0 });
    expect(idle.data!.total).toMatchObject({ count: 205, errors: 5 });
    expect(idle.data!.total.p99).toBeGreaterThanOrEqual(99 * ms);

    for (let i = 0; i < 3; i++) await h.call("npc-behavior.decide", { npcId: `n${i}` });
    await h.fail("npc-behavior.decide", { npcId: "missing" });
    const again = await decideStats(h.nc);
    expect(again.data!.window).toMatchObject({ count: 4, errors: 1 });
    expect(again.data!.window.max).toBeLessThan(99 * ms);
    expect(again.data!.total).toMatchObject({ count: 209, errors: 6 });
  });
});

describe("GS_LATENCY_HISTOGRAMS=0 (the bench switch)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    await h.start(timed, { env: { GS_LATENCY_HISTOGRAMS: "0" } });
  });
  afterAll(async () => h?.stop());

  it("serves and counts as before, with no latency data in $SRV.STATS", async () => {
    await h.call("npc-behavior.decide", { npcId: "n1" });
    await h.fail("npc-behavior.decide", { npcId: "missing" });
    const st = await decideStats(h.nc);
    expect([st.num_requests, st.num_errors]).toEqual([2, 1]);
    expect(st.data).toBeUndefined();
  });
});
