import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { startHarness, type Harness } from "../test-support/harness.js";
import service from "./service.js";
import { defaultRejection, matchesFilter, reassignDefaults, validateModel, type Model } from "./domain.js";

const base = {
  modelId: "local/markov-1",
  provider: "local",
  taskTypes: ["TASK_TYPE_CHAT", "TASK_TYPE_DIALOGUE"],
  contextWindowTokens: 4096,
  typicalLatencyMs: 40,
  qualityScore: 0.4,
} as Partial<Model>;

describe("model validation and rules", () => {
  it("normalizes a valid model and derives the provider model name from the id", () => {
    const { problems, model } = validateModel(base);
    expect(problems).toEqual([]);
    expect(model).toMatchObject({
      providerModel: "markov-1",
      displayName: "local/markov-1",
      maxOutputTokens: 4096,
      status: "MODEL_STATUS_ACTIVE",
    });
  });

  it("lists every problem of an invalid model", () => {
    const { problems } = validateModel({
      modelId: "Bad Id",
      provider: "",
      taskTypes: [],
      contextWindowTokens: 0,
      qualityScore: 2,
      typicalLatencyMs: 0,
    });
    expect(problems.length).toBeGreaterThanOrEqual(6);
    expect(problems.join(";")).toMatch(/model_id/);
    expect(validateModel({ ...base, maxOutputTokens: 5000 }).problems).toEqual([
      "model.max_output_tokens cannot exceed context_window_tokens",
    ]);
  });

  it("refuses retired models and unsupported tasks as defaults", () => {
    const m = validateModel(base).model!;
    expect(defaultRejection(m, "TASK_TYPE_CHAT")).toBeUndefined();
    expect(defaultRejection(m, "TASK_TYPE_CODE")).toMatch(/does not support/);
    expect(defaultRejection({ ...m, status: "MODEL_STATUS_RETIRED" }, "TASK_TYPE_CHAT")).toMatch(/retired/);
    expect(
      matchesFilter(
        { ...m, status: "MODEL_STATUS_RETIRED" },
        { taskType: "TASK_TYPE_UNSPECIFIED", provider: "", includeRetired: false },
      ),
    ).toBe(false);
    expect(reassignDefaults(["TASK_TYPE_CHAT", "TASK_TYPE_CODE"], m)).toEqual([
      { taskType: "TASK_TYPE_CHAT", modelId: "local/markov-1" },
      { taskType: "TASK_TYPE_CODE", modelId: "" },
    ]);
  });
});

describe("model-management service", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    await h.start(service);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("registers a model, then updates it without creating a second one", async () => {
    const a = await h.call<{ created: boolean; model: Model }>("model-management.register-model", { model: base });
    expect(a.created).toBe(true);
    expect(a.model.registeredAt).toMatch(/Z$/);
    const b = await h.call<{ created: boolean; model: Model }>("model-management.register-model", {
      model: { ...base, qualityScore: 0.5 },
    });
    expect(b.created).toBe(false);
    expect(b.model.qualityScore).toBe(0.5);
    const got = await h.call<{ found: boolean; model: Model }>("model-management.get-model", {
      modelId: "local/markov-1",
    });
    expect(got.found).toBe(true);
    expect(got.model.qualityScore).toBe(0.5);
  });

  it("rejects an invalid model with a 400 that names the fields", async () => {
    const err = await h.fail("model-management.register-model", {
      model: { modelId: "x", provider: "local", taskTypes: [], contextWindowTokens: 10, typicalLatencyMs: 5 },
    });
    expect(err.code).toBe(400);
    expect(err.message).toMatch(/task_types/);
    expect((await h.fail("model-management.register-model", {})).code).toBe(400);
  });

  it("lists models filtered by task type and provider", async () => {
    await h.call("model-management.register-model", {
      model: { ...base, modelId: "remote/coder", provider: "openai", taskTypes: ["TASK_TYPE_CODE"] },
    });
    const code = await h.call<{ models: Model[] }>("model-management.list-models", { taskType: "TASK_TYPE_CODE" });
    expect(code.models.map((m) => m.modelId)).toEqual(["remote/coder"]);
    const local = await h.call<{ models: Model[] }>("model-management.list-models", { provider: "local" });
    expect(local.models.map((m) => m.modelId)).toEqual(["local/markov-1"]);
  });

  it("sets a default only for an active model that supports the task", async () => {
    const set = await h.call<{ previousModelId: string }>("model-management.set-default-model", {
      taskType: "TASK_TYPE_CHAT",
      modelId: "local/markov-1",
    });
    expect(set.previousModelId).toBe("");
    const d = await h.call<{ found: boolean; model: Model }>("model-management.get-default-model", {
      taskType: "TASK_TYPE_CHAT",
    });
    expect(d.model.modelId).toBe("local/markov-1");
    expect(
      (await h.fail("model-management.set-default-model", { taskType: "TASK_TYPE_CODE", modelId: "local/markov-1" }))
        .code,
    ).toBe(412);
    expect(
      (await h.fail("model-management.set-default-model", { taskType: "TASK_TYPE_CHAT", modelId: "nope" })).code,
    ).toBe(404);
    expect((await h.fail("model-management.get-default-model", {})).code).toBe(400);
    const none = await h.call<{ found: boolean }>("model-management.get-default-model", {
      taskType: "TASK_TYPE_NARRATION",
    });
    expect(none.found).toBe(false);
  });

  it("retires a model, clears the defaults it held and keeps it out of listings", async () => {
    await h.call("model-management.register-model", {
      model: { ...base, modelId: "local/old", taskTypes: ["TASK_TYPE_NARRATION"] },
    });
    await h.call("model-management.set-default-model", { taskType: "TASK_TYPE_NARRATION", modelId: "local/old" });
    const before = await h.call<{ defaultFor: string[] }>("model-management.get-model", { modelId: "local/old" });
    expect(before.defaultFor).toEqual(["TASK_TYPE_NARRATION"]);
    const r = await h.call<{ model: Model; defaultsChanged: string[] }>("model-management.retire-model", {
      modelId: "local/old",
      reason: "obsolete",
    });
    expect(r.model.status).toBe("MODEL_STATUS_RETIRED");
    expect(r.defaultsChanged).toEqual(["TASK_TYPE_NARRATION"]);
    expect(
      (await h.call<{ found: boolean }>("model-management.get-default-model", { taskType: "TASK_TYPE_NARRATION" }))
        .found,
    ).toBe(false);
    const active = await h.call<{ models: Model[] }>("model-management.list-models", {});
    expect(active.models.map((m) => m.modelId)).not.toContain("local/old");
    const all = await h.call<{ models: Model[] }>("model-management.list-models", { includeRetired: true });
    expect(all.models.map((m) => m.modelId)).toContain("local/old");
    expect((await h.fail("model-management.register-model", { model: { ...base, modelId: "local/old" } })).code).toBe(
      409,
    );
  });

  it("hands a retired model's defaults to its replacement", async () => {
    await h.call("model-management.register-model", { model: { ...base, modelId: "local/next" } });
    const r = await h.call<{ defaultsChanged: string[] }>("model-management.retire-model", {
      modelId: "local/markov-1",
      replacementModelId: "local/next",
    });
    expect(r.defaultsChanged).toEqual(["TASK_TYPE_CHAT"]);
    const d = await h.call<{ model: Model }>("model-management.get-default-model", { taskType: "TASK_TYPE_CHAT" });
    expect(d.model.modelId).toBe("local/next");
  });
});
