import { jetstream } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startHarness, type Harness } from "../test-support/harness.js";
import type { NpcBehaviorServiceRpcs, DecideRequest } from "../generated/npc_behavior/v1/npc_behavior.js";
import { defineService, type CallContext, type RpcHandlers, type ServiceContext } from "./runtime.js";
import { notFound } from "./errors.js";

// a service built on the npc-behavior proto, to test the runtime itself
const probe = defineService({
  name: "npc-behavior",
  description: "runtime probe",
  start: (ctx) => ({
    Decide: async (req: { npcId: string }) => {
      if (req.npcId === "missing") throw notFound(`no npc ${req.npcId}`);
      if (req.npcId === "slow") await new Promise((r) => setTimeout(r, 300));
      if (req.npcId === "bug") return { notAField: 1 };
      // a JetStream publish that no stream leader answers: what a write sees while its stream elects a leader
      if (req.npcId === "leaderless") await jetstream(ctx.nc).publish("runtime-probe.no-stream", "x");
      const saved = await ctx.state.update<number>(`count.${req.npcId}`, (n) => (n ?? 0) + 1);
      return { npcId: req.npcId, actionId: "eat", score: saved.value };
    },
    ListActions: () => ({ actions: [] }),
  }),
});

describe("service runtime", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    await h.start(probe, { env: { GS_REQUEST_DEADLINE_MS: "200" } });
  });
  afterAll(async () => h?.stop());

  it("answers an rpc on the subject derived from the proto, with state", async () => {
    const a = await h.call<{ score: number }>("npc-behavior.decide", { npcId: "n1" });
    const b = await h.call<{ score: number }>("npc-behavior.decide", { npcId: "n1" });
    expect([a.score, b.score]).toEqual([1, 2]);
  });

  it("turns a thrown ServiceError into an error reply with its code", async () => {
    const err = await h.fail("npc-behavior.decide", { npcId: "missing" });
    expect([err.code, err.message]).toEqual([404, "no npc missing"]);
  });

  it("answers malformed protobuf with a 400 and keeps serving", async () => {
    const reply = await h.nc.request("npc-behavior.decide", new Uint8Array([0xff, 0xff, 0xff]), { timeout: 1000 });
    expect(reply.headers?.get("Nats-Service-Error-Code")).toBe("400");
    expect((await h.call<{ actionId: string }>("npc-behavior.decide", { npcId: "n2" })).actionId).toBe("eat");
  });

  it("answers 504 when a handler runs past the request deadline", async () => {
    expect((await h.fail("npc-behavior.decide", { npcId: "slow" })).code).toBe(504);
  });

  it("answers 500 when a handler returns a response that does not fit the proto", async () => {
    const err = await h.fail("npc-behavior.decide", { npcId: "bug" });
    expect(err.code).toBe(500);
    expect(err.message).toMatch(/invalid DecideResponse/);
  });

  it("answers a retryable 503, not a 500, when JetStream has no leader to take the request", async () => {
    const err = await h.fail("npc-behavior.decide", { npcId: "leaderless" });
    expect(err.code).toBe(503);
    expect(err.message).toMatch(/^temporarily unavailable: jetstream is not enabled/);
  });

  it("counts requests and errors in $SRV.STATS", async () => {
    const st = (await h.nc.request("$SRV.STATS.npc-behavior", "", { timeout: 1000 })).json<{
      endpoints: { name: string; num_requests: number; num_errors: number }[];
    }>();
    const decide = st.endpoints.find((e) => e.name === "Decide")!;
    expect(decide.num_requests).toBeGreaterThanOrEqual(6);
    expect(decide.num_errors).toBeGreaterThanOrEqual(4);
  });
});

// the shape services take: state in fields, one method per rpc named after it, helpers in camelCase
class ProbeService implements RpcHandlers<NpcBehaviorServiceRpcs> {
  stopped = false;
  private readonly decided = new Map<string, number>();
  constructor(readonly ctx: ServiceContext) {}

  async Decide(req: DecideRequest, call: CallContext) {
    const n = this.count(req.npcId);
    return { npcId: req.npcId, actionId: call.subject, score: n, scores: [], reason: req.archetype };
  }

  ListActions() {
    return { actions: [] };
  }

  private count(id: string): number {
    const n = (this.decided.get(id) ?? 0) + 1;
    this.decided.set(id, n);
    return n;
  }

  stop() {
    this.stopped = true;
  }
}

describe("service runtime with a class of handlers", () => {
  let h: Harness;
  beforeAll(async () => (h = await startHarness()));
  afterAll(async () => h?.stop());

  it("serves each rpc from the method named after it, with the instance's state, and stops the instance", async () => {
    let instance: ProbeService | undefined;
    const running = await h.start(
      defineService({
        name: "npc-behavior",
        description: "class probe",
        start: (ctx) => (instance = new ProbeService(ctx)),
      }),
    );
    await h.call("npc-behavior.decide", { npcId: "a" });
    const reply = await h.call("npc-behavior.decide", { npcId: "a", archetype: "guard" });
    expect(reply).toMatchObject({ actionId: "npc-behavior.decide", score: 2, reason: "guard" });
    await running.stop(1000);
    expect(instance!.stopped).toBe(true);
  });

  it("refuses to start when a method is missing or a PascalCase method is not an rpc", async () => {
    class Extra extends ProbeService {
      Dance() {
        return {};
      }
    }
    await expect(
      h.start(defineService({ name: "npc-behavior", description: "x", start: (ctx) => new Extra(ctx) })),
    ).rejects.toThrow(/not in the proto: Dance/);
    await expect(
      h.start(defineService({ name: "npc-behavior", description: "x", start: () => ({ ListActions: () => ({}) }) })),
    ).rejects.toThrow(/missing: Decide/);
  });
});

describe("service runtime at rest", () => {
  let h: Harness;
  // the intervals the process starts, and whether each still runs (a cleared Timeout is _destroyed)
  const intervals: { ms: number; timer: NodeJS.Timeout }[] = [];
  const fastRunning = () =>
    intervals.filter((i) => i.ms <= 10 && !(i.timer as unknown as { _destroyed: boolean })._destroyed);
  beforeAll(async () => {
    const real = globalThis.setInterval;
    vi.spyOn(globalThis, "setInterval").mockImplementation(((fn: () => void, ms?: number) => {
      const timer = real(fn, ms);
      intervals.push({ ms: ms ?? 0, timer });
      return timer;
    }) as typeof setInterval);
    h = await startHarness();
    await h.start(probe, { env: { GS_REQUEST_DEADLINE_MS: "200" } });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await h?.stop();
  });

  it("runs the deadline sweeper only while a request is in progress", async () => {
    await h.call("npc-behavior.decide", { npcId: "r1" });
    await new Promise((r) => setTimeout(r, 50));
    expect(fastRunning()).toEqual([]);
    const slow = h.fail("npc-behavior.decide", { npcId: "slow" });
    await new Promise((r) => setTimeout(r, 100));
    expect(fastRunning()).toHaveLength(1);
    expect((await slow).code).toBe(504);
    await new Promise((r) => setTimeout(r, 50));
    expect(fastRunning()).toEqual([]);
  });
});
