import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jetstreamManager } from "@nats-io/jetstream";
import { startHarness, type Harness } from "../test-support/harness.js";
import { ServiceError, badRequest, notFound } from "../sdk/errors.js";
import { decodeToJson } from "../sdk/json-codec.js";
import { defaultRegistry } from "../sdk/runtime.js";
import payment from "../payment/service.js";
import worldState from "../world-state/service.js";
import { newRun, runSaga, StepFailure, TERMINAL, type FlowDef, type FlowRun, type SagaStep } from "./domain.js";
import service from "./service.js";

describe("saga engine", () => {
  const log: string[] = [];
  const step = (
    name: string,
    behaviour: { fail?: unknown; undo?: boolean; undoFails?: boolean; flaky?: number } = {},
  ): SagaStep => {
    let flaky = behaviour.flaky ?? 0;
    return {
      name,
      action: `fake.${name}`,
      compensation: behaviour.undo === false ? "" : `fake.undo-${name}`,
      description: name,
      async run(sc) {
        log.push(`run ${name}`);
        if (flaky-- > 0) throw new ServiceError(503, "no responders");
        if (behaviour.fail) throw behaviour.fail;
        return { did: name, after: Object.keys(sc.outputs) };
      },
      compensate:
        behaviour.undo === false
          ? undefined
          : async (_sc, output) => {
              log.push(`undo ${name} ${JSON.stringify(output)}`);
              if (behaviour.undoFails) throw new Error("undo broke");
            },
    };
  };
  const flow = (...steps: SagaStep[]): FlowDef => ({ name: "f", description: "", requiredParams: [], steps });
  const run = async (f: FlowDef) => {
    log.length = 0;
    const saves: string[] = [];
    const r = await runSaga(f, newRun(f, "r1", {}, "t0"), {
      save: async (x) => void saves.push(x.status),
      backoffMs: () => 1,
    });
    return { r, saves };
  };

  it("runs every step in order and passes earlier outputs along", async () => {
    const { r, saves } = await run(flow(step("a"), step("b")));
    expect(r.status).toBe("RUN_STATUS_SUCCEEDED");
    expect(log).toEqual(["run a", "run b"]);
    expect(JSON.parse(r.steps[1]!.outputJson)).toEqual({ did: "b", after: ["a"] });
    expect(saves[0]).toBe("RUN_STATUS_RUNNING");
    expect(saves.at(-1)).toBe("RUN_STATUS_SUCCEEDED");
    expect(TERMINAL.has(r.status)).toBe(true);
  });

  it("compensates the completed steps in reverse order when a step fails, and skips the rest", async () => {
    const { r } = await run(
      flow(
        step("a"),
        step("b", { undo: false }),
        step("c"),
        step("d", { fail: new StepFailure("NOPE", "d said no") }),
        step("e"),
      ),
    );
    expect(log).toEqual([
      "run a",
      "run b",
      "run c",
      "run d",
      'undo c {"did":"c","after":["a","b"]}',
      'undo a {"did":"a","after":[]}',
    ]);
    expect(r.status).toBe("RUN_STATUS_COMPENSATED");
    expect(r.failedStep).toBe("d");
    expect(r.error).toEqual({ code: "NOPE", message: "d said no", field: "" });
    expect(r.steps.map((s) => s.status)).toEqual([
      "STEP_STATUS_COMPENSATED",
      "STEP_STATUS_SUCCEEDED",
      "STEP_STATUS_COMPENSATED",
      "STEP_STATUS_FAILED",
      "STEP_STATUS_SKIPPED",
    ]);
    expect(r.compensations.map((c) => [c.stepName, c.succeeded])).toEqual([
      ["c", true],
      ["a", true],
    ]);
  });

  it("ends FAILED when a compensation fails, after trying the others", async () => {
    const { r } = await run(flow(step("a"), step("b", { undoFails: true }), step("c", { fail: notFound("gone") })));
    expect(r.status).toBe("RUN_STATUS_FAILED");
    expect(r.error?.code).toBe("NOT_FOUND");
    expect(r.compensations.map((c) => [c.stepName, c.succeeded, c.error?.message])).toEqual([
      ["b", false, "undo broke"],
      ["a", true, undefined],
    ]);
  });

  it("resumes a run taken over from a dead instance: the step under way runs again, the finished ones do not", async () => {
    const f = flow(step("a"), step("b"), step("c"));
    const left = newRun(f, "r1", {}, "t0");
    left.status = "RUN_STATUS_RUNNING";
    left.steps[0] = { ...left.steps[0]!, status: "STEP_STATUS_SUCCEEDED", outputJson: '{"did":"a","after":[]}' };
    left.steps[1] = { ...left.steps[1]!, status: "STEP_STATUS_RUNNING", attempts: 1 };
    log.length = 0;
    const r = await runSaga(f, left, { save: async () => undefined, backoffMs: () => 1 });
    expect(log).toEqual(["run b", "run c"]);
    expect(r.status).toBe("RUN_STATUS_SUCCEEDED");
    expect(JSON.parse(r.steps[2]!.outputJson)).toEqual({ did: "c", after: ["a", "b"] });
    expect(r.steps[1]!.attempts).toBe(2);
  });

  it("resumes a compensation under way with the steps not yet undone, their outputs from the record", async () => {
    const f = flow(step("a"), step("b"), step("c"));
    const left = newRun(f, "r1", {}, "t0");
    left.status = "RUN_STATUS_COMPENSATING";
    left.failedStep = "c";
    left.steps = [
      { ...left.steps[0]!, status: "STEP_STATUS_SUCCEEDED", outputJson: '{"did":"a"}' },
      { ...left.steps[1]!, status: "STEP_STATUS_COMPENSATED", outputJson: '{"did":"b"}' },
      { ...left.steps[2]!, status: "STEP_STATUS_FAILED" },
    ];
    left.compensations = [{ stepName: "b", succeeded: true, at: "t1" }];
    log.length = 0;
    const r = await runSaga(f, left, { save: async () => undefined, backoffMs: () => 1 });
    expect(log).toEqual(['undo a {"did":"a"}']);
    expect(r.status).toBe("RUN_STATUS_COMPENSATED");
    expect(r.compensations.map((c) => c.stepName)).toEqual(["b", "a"]);
  });

  it("retries transport failures but never business failures", async () => {
    const { r } = await run(flow(step("a", { flaky: 2 })));
    expect(r.status).toBe("RUN_STATUS_SUCCEEDED");
    expect(r.steps[0]!.attempts).toBe(3);
    const { r: bad } = await run(flow(step("a", { fail: badRequest("no") })));
    expect(bad.steps[0]!.attempts).toBe(1);
  });
});

interface Money {
  currency: string;
  minorUnits: string;
}

describe("orchestration over NATS", () => {
  let h: Harness;
  const gold = async (playerId: string) =>
    Number(
      (await h.call<{ balances: Money[] }>("payment.get-balance", { playerId, currency: "GOLD" })).balances[0]!
        .minorUnits,
    );
  const start = (params: Record<string, string>, extra: Record<string, unknown> = {}) =>
    h.call<{ run: FlowRun; existing: boolean }>("orchestration.start-flow", {
      flowName: "purchase-item",
      params,
      wait: true,
      ...extra,
    });

  beforeAll(async () => {
    h = await startHarness();
    await h.start(payment);
    await h.start(worldState);
    await h.start(service);
    await h.call("world-state.define-region", {
      region: {
        regionId: "inventory-alice",
        name: "Alice's bag",
        biome: "city",
        min: { x: 0, y: 0, z: 0 },
        max: { x: 10, y: 10, z: 10 },
      },
    });
    for (const p of ["alice", "bob"])
      await h.call("payment.deposit", {
        playerId: p,
        amount: { currency: "GOLD", minorUnits: "1000" },
        idempotencyKey: `seed-${p}`,
      });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("lists its flows with their steps and compensations", async () => {
    const { flows } = await h.call<{ flows: { name: string; steps: { action: string; compensation: string }[] }[] }>(
      "orchestration.list-flows",
      {},
    );
    expect(flows.map((f) => f.name)).toEqual(["purchase-item", "sell-item"]);
    expect(flows[0]!.steps).toMatchObject([
      { action: "payment.purchase", compensation: "payment.refund" },
      { action: "world-state.spawn-entity", compensation: "world-state.despawn-entity" },
    ]);
  });

  it("charges the wallet and grants the item into the player's inventory region", async () => {
    const { run } = await start({ playerId: "alice", sku: "sword", currency: "GOLD", price: "300" });
    expect(run.status).toBe("RUN_STATUS_SUCCEEDED");
    expect(run.steps.map((s) => s.status)).toEqual(["STEP_STATUS_SUCCEEDED", "STEP_STATUS_SUCCEEDED"]);
    expect(await gold("alice")).toBe(700);
    const item = await h.call<{ found: boolean; entity: { regionId: string; attributes: Record<string, string> } }>(
      "world-state.get-entity",
      {
        entityId: `item-${run.runId}`,
      },
    );
    expect(item.entity).toMatchObject({ regionId: "inventory-alice", attributes: { sku: "sword", ownerId: "alice" } });
    const stored = await h.call<{ found: boolean; run: FlowRun }>("orchestration.get-run", { runId: run.runId });
    expect(stored.run.status).toBe("RUN_STATUS_SUCCEEDED");
  });

  it("refunds the charge when the grant fails, and says so in an event", async () => {
    const { run } = await start({ playerId: "bob", sku: "shield", currency: "GOLD", price: "250" }); // bob has no inventory region
    expect(run.status).toBe("RUN_STATUS_COMPENSATED");
    expect(run.failedStep).toBe("grant");
    expect(run.error?.code).toBe("NOT_FOUND");
    expect(run.steps.map((s) => s.status)).toEqual(["STEP_STATUS_COMPENSATED", "STEP_STATUS_FAILED"]);
    expect(run.compensations).toMatchObject([{ stepName: "charge", succeeded: true }]);
    expect(await gold("bob")).toBe(1000);
    const jsm = await jetstreamManager(h.nc);
    const subject = "events.orchestration.flow-compensated";
    const msg = await jsm.streams.getMessage("EVENTS", { last_by_subj: subject });
    expect(decodeToJson(defaultRegistry().event(subject)!.type, msg!.data)).toMatchObject({
      runId: run.runId,
      failedStep: "grant",
      status: "RUN_STATUS_COMPENSATED",
    });
  });

  it("stops at the first step when the purchase is rejected, with nothing to undo", async () => {
    const { run } = await start({ playerId: "alice", sku: "castle", currency: "GOLD", price: "999999" });
    expect(run).toMatchObject({
      status: "RUN_STATUS_COMPENSATED",
      failedStep: "charge",
      error: { code: "INSUFFICIENT_FUNDS" },
      compensations: [],
    });
    expect(run.steps[1]!.status).toBe("STEP_STATUS_SKIPPED");
  });

  it("returns the existing run for a repeated idempotency key and never charges twice", async () => {
    const params = { playerId: "alice", sku: "potion", currency: "GOLD", price: "10", regionId: "inventory-alice" };
    const first = await start(params, { idempotencyKey: "buy-potion-1" });
    const again = await start(params, { idempotencyKey: "buy-potion-1" });
    expect(again.existing).toBe(true);
    expect(again.run.runId).toBe(first.run.runId);
    expect(await gold("alice")).toBe(690);
    expect(
      (
        await h.fail("orchestration.start-flow", {
          flowName: "purchase-item",
          params: { ...params, price: "11" },
          idempotencyKey: "buy-potion-1",
        })
      ).code,
    ).toBe(409);
  });

  it("sells an item the player owns and puts it back when they do not own it", async () => {
    await h.call("world-state.spawn-entity", {
      entityId: "gem-1",
      entityType: "item",
      regionId: "inventory-alice",
      position: { x: 1, y: 1, z: 1 },
      attributes: { ownerId: "alice" },
    });
    const sold = await h.call<{ run: FlowRun }>("orchestration.start-flow", {
      flowName: "sell-item",
      params: { playerId: "alice", entityId: "gem-1", currency: "GOLD", price: "50" },
      wait: true,
    });
    expect(sold.run.status).toBe("RUN_STATUS_SUCCEEDED");
    expect(await gold("alice")).toBe(740);
    expect((await h.call("world-state.get-entity", { entityId: "gem-1" })).found).toBe(false);
    await h.call("world-state.spawn-entity", {
      entityId: "gem-2",
      entityType: "item",
      regionId: "inventory-alice",
      position: { x: 1, y: 1, z: 1 },
      attributes: { ownerId: "alice" },
    });
    const theft = await h.call<{ run: FlowRun }>("orchestration.start-flow", {
      flowName: "sell-item",
      params: { playerId: "bob", entityId: "gem-2", currency: "GOLD", price: "50" },
      wait: true,
    });
    expect(theft.run).toMatchObject({ status: "RUN_STATUS_COMPENSATED", error: { code: "NOT_OWNER" } });
    expect((await h.call("world-state.get-entity", { entityId: "gem-2" })).found).toBe(true);
  });

  it("runs in the background without wait and lists runs newest first with filters and pages", async () => {
    const { run } = await h.call<{ run: FlowRun }>("orchestration.start-flow", {
      flowName: "purchase-item",
      params: { playerId: "alice", sku: "arrow", currency: "GOLD", price: "1" },
    });
    expect(TERMINAL.has(run.status)).toBe(false);
    let status = run.status;
    for (let i = 0; i < 100 && !TERMINAL.has(status); i++) {
      await new Promise((r) => setTimeout(r, 20));
      status = (await h.call<{ run: FlowRun }>("orchestration.get-run", { runId: run.runId })).run.status;
    }
    expect(status).toBe("RUN_STATUS_SUCCEEDED");

    const all = await h.call<{ runs: FlowRun[]; page: { total: number } }>("orchestration.list-runs", {
      flowName: "purchase-item",
    });
    expect(all.runs[0]!.runId).toBe(run.runId);
    const compensated = await h.call<{ runs: FlowRun[] }>("orchestration.list-runs", {
      status: "RUN_STATUS_COMPENSATED",
    });
    expect(compensated.runs.every((r) => r.status === "RUN_STATUS_COMPENSATED")).toBe(true);
    const p1 = await h.call<{ runs: FlowRun[]; page: { nextPageToken: string; total: number } }>(
      "orchestration.list-runs",
      { page: { pageSize: 2 } },
    );
    const p2 = await h.call<{ runs: FlowRun[] }>("orchestration.list-runs", {
      page: { pageSize: 2, pageToken: p1.page.nextPageToken },
    });
    expect(p1.runs).toHaveLength(2);
    expect(p2.runs[0]!.runId).not.toBe(p1.runs[1]!.runId);
    expect(p1.page.total).toBe(
      all.page.total +
        (await h.call<{ page: { total: number } }>("orchestration.list-runs", { flowName: "sell-item" })).page.total,
    );
  });

  it("answers 400 for missing or malformed params and 404 for unknown flows", async () => {
    const missing = await h.fail("orchestration.start-flow", {
      flowName: "purchase-item",
      params: { playerId: "alice" },
    });
    expect([missing.code, missing.message]).toEqual([400, "flow purchase-item needs params: sku, currency, price"]);
    const bad = await h.fail("orchestration.start-flow", {
      flowName: "purchase-item",
      params: { playerId: "a", sku: "s", currency: "GOLD", price: "-5" },
    });
    expect(bad.code).toBe(400);
    expect((await h.fail("orchestration.start-flow", { flowName: "teleport", params: {} })).code).toBe(404);
    expect((await h.call("orchestration.get-run", { runId: "nope" })).found).toBe(false);
  });
});
