import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { startHarness, type Harness } from "../test-support/harness.js";
import { defaultRegistry } from "../sdk/runtime.js";
import { decodeToJson, encodeJson } from "../sdk/json-codec.js";
import service from "./service.js";
import capabilityRegistry from "../capability-registry/service.js";
import modelManagement from "../model-management/service.js";
import { chooseMethod, RoundRobin, targetsFor, type Instance } from "./domain.js";

const inst = (instanceId: string, serviceName: string, name: string, methods: string[]): Instance => ({
  instanceId,
  serviceName,
  capabilities: [{ name, version: "1.0.0", methods }],
});

describe("routing rules", () => {
  it("derives the subject from the service name and the method", () => {
    expect(
      targetsFor([inst("i1", "quest-system", "quest.start", ["StartQuest"])], "quest.start", "StartQuest"),
    ).toEqual([{ instanceId: "i1", serviceName: "quest-system", subject: "quest-system.start-quest" }]);
    expect(targetsFor([inst("i1", "quest-system", "quest.start", ["StartQuest"])], "quest.start", "Other")).toEqual([]);
  });

  it("uses the capability's only method and refuses to guess between several", () => {
    expect(chooseMethod([inst("i1", "s", "c.x", ["Do"])], "c.x", "")).toBe("Do");
    expect(() => chooseMethod([inst("i1", "s", "c.x", ["Do", "Undo"])], "c.x", "")).toThrow(/several methods/);
  });

  it("rotates through the candidates and peeks without advancing", () => {
    const rr = new RoundRobin();
    const ts = ["a", "b", "c"].map((i) => ({ instanceId: i, serviceName: "s", subject: "s.x" }));
    expect(rr.peek("k", ts)!.instanceId).toBe("a");
    expect(rr.take("k", ts)[0]!.instanceId).toBe("a");
    expect(rr.take("k", ts, 2).map((t) => t.instanceId)).toEqual(["b", "c"]);
    expect(rr.take("k", ts)[0]!.instanceId).toBe("c");
    expect(rr.take("k", [])).toEqual([]);
  });
});

describe("router service", () => {
  let h: Harness;
  const registry = defaultRegistry();
  const register = (instanceId: string, serviceName: string, name: string, methods: string[]) =>
    h.call("capability-registry.register", { instanceId, serviceName, capabilities: [{ name, methods }], ttl: "60s" });

  beforeAll(async () => {
    h = await startHarness();
    await h.start(capabilityRegistry);
    await h.start(modelManagement);
    await h.start(service);
    await h.call("model-management.register-model", {
      model: {
        modelId: "local/markov-1",
        provider: "local",
        taskTypes: ["TASK_TYPE_CHAT"],
        contextWindowTokens: 4096,
        typicalLatencyMs: 50,
        qualityScore: 0.4,
      },
    });
    await register("mm-1", "model-management", "models.list", ["ListModels"]);
    await register("mm-2", "model-management", "models.list", ["ListModels"]);
    await register("mm-1c", "model-management", "models.catalog", ["ListModels", "GetModel"]);
    await register("a-ghost", "ghost-service", "mixed.list", ["ListModels"]);
    await register("b-mm", "model-management", "mixed.list", ["ListModels"]);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("forwards JSON to a live service offering the capability and returns its reply as JSON", async () => {
    const r = await h.call<{ target: { subject: string; serviceName: string }; payloadJson: string; attempts: number }>(
      "router.forward",
      {
        capability: "models.list",
        payloadJson: JSON.stringify({ taskType: "TASK_TYPE_CHAT" }),
      },
    );
    expect(r.target).toMatchObject({ subject: "model-management.list-models", serviceName: "model-management" });
    expect(r.attempts).toBe(1);
    expect(JSON.parse(r.payloadJson).models.map((m: { modelId: string }) => m.modelId)).toEqual(["local/markov-1"]);
  });

  it("forwards protobuf bytes as-is and returns the reply bytes", async () => {
    const rpc = registry.rpc("model-management.list-models")!;
    const payloadBytes = Buffer.from(encodeJson(rpc.request, { provider: "local" })).toString("base64");
    const r = await h.call<{ payloadBytes: string }>("router.forward", {
      capability: "models.list",
      method: "ListModels",
      payloadBytes,
    });
    const reply = decodeToJson(rpc.response, Buffer.from(r.payloadBytes, "base64")) as {
      models: { modelId: string }[];
    };
    expect(reply.models).toHaveLength(1);
  });

  it("alternates between live instances and resolves the next one without advancing", async () => {
    const next = await h.call<{ found: boolean; chosen: { instanceId: string }; candidates: unknown[] }>(
      "router.resolve",
      { capability: "models.list" },
    );
    expect(next.found).toBe(true);
    expect(next.candidates).toHaveLength(2);
    const a = await h.call<{ target: { instanceId: string } }>("router.forward", {
      capability: "models.list",
      payloadJson: "{}",
    });
    const b = await h.call<{ target: { instanceId: string } }>("router.forward", {
      capability: "models.list",
      payloadJson: "{}",
    });
    expect(a.target.instanceId).toBe(next.chosen.instanceId);
    expect(new Set([a.target.instanceId, b.target.instanceId])).toEqual(new Set(["mm-1", "mm-2"]));
  });

  it("passes the callee's error code through", async () => {
    const err = await h.fail("router.forward", { capability: "models.catalog", method: "GetModel", payloadJson: "{}" });
    expect(err.code).toBe(400);
    expect(err.message).toMatch(/model_id is required/);
  });

  it("retries on another instance when one does not answer", async () => {
    const rpc = registry.rpc("model-management.list-models")!;
    const payloadBytes = Buffer.from(encodeJson(rpc.request, {})).toString("base64");
    const r = await h.call<{ target: { instanceId: string }; attempts: number }>("router.forward", {
      capability: "mixed.list",
      payloadBytes,
      retries: 1,
      timeoutMs: 1500,
    });
    expect(r).toMatchObject({ target: { instanceId: "b-mm" }, attempts: 2 });
  });

  it("answers 503 when no live service offers the capability", async () => {
    expect((await h.fail("router.forward", { capability: "nobody.home", payloadJson: "{}" })).code).toBe(503);
    expect((await h.call<{ found: boolean }>("router.resolve", { capability: "nobody.home" })).found).toBe(false);
  });

  it("rejects bad requests with 400", async () => {
    expect((await h.fail("router.forward", { capability: "" })).code).toBe(400);
    expect((await h.fail("router.forward", { capability: "models.catalog", payloadJson: "{}" })).message).toMatch(
      /several methods/,
    );
    expect((await h.fail("router.forward", { capability: "models.list", payloadJson: "{not json" })).code).toBe(400);
    expect(
      (await h.fail("router.forward", { capability: "models.list", payloadJson: JSON.stringify({ nope: 1 }) })).message,
    ).toMatch(/does not fit ListModelsRequest/);
  });
});
