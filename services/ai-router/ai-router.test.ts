import { describe, it, expect, beforeAll, afterAll } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { startHarness, type Harness } from "../test-support/harness.js";
import service from "./service.js";
import modelManagement from "../model-management/service.js";
import aiIntegration from "../ai-integration/service.js";
import { scoreCandidates, shouldFallBack, type CandidateScore, type Criteria, type ModelInfo } from "./domain.js";

const model = (over: Partial<ModelInfo>): ModelInfo => ({
  modelId: "m",
  provider: "local",
  providerModel: "markov-1",
  taskTypes: ["TASK_TYPE_CHAT"],
  maxOutputTokens: 1024,
  contextWindowTokens: 4096,
  inputCostPer1kTokens: 0,
  outputCostPer1kTokens: 0,
  typicalLatencyMs: 100,
  qualityScore: 0.5,
  status: "MODEL_STATUS_ACTIVE",
  ...over,
});
const chat: Criteria = {
  taskType: "TASK_TYPE_CHAT",
  maxLatencyMs: 0,
  maxCostUsd: 0,
  estimatedPromptTokens: 500,
  maxTokens: 0,
  preferredProvider: "",
  minQuality: 0,
};

describe("candidate scoring", () => {
  it("rejects models outside the budgets with a reason and scores them 0", () => {
    const r = scoreCandidates(
      [
        model({ modelId: "slow", typicalLatencyMs: 3000 }),
        model({ modelId: "pricey", inputCostPer1kTokens: 1, outputCostPer1kTokens: 1 }),
        model({ modelId: "old", status: "MODEL_STATUS_RETIRED" }),
        model({ modelId: "coder", taskTypes: ["TASK_TYPE_CODE"] }),
        model({ modelId: "ok" }),
      ],
      { ...chat, maxLatencyMs: 1000, maxCostUsd: 0.01 },
      "",
    );
    expect(r[0]).toMatchObject({ modelId: "ok", eligible: true });
    const reasons = Object.fromEntries(r.slice(1).map((c) => [c.modelId, c.rejectionReason]));
    expect(reasons.slow).toMatch(/over latency budget/);
    expect(reasons.pricey).toMatch(/over cost budget/);
    expect(reasons.old).toBe("retired");
    expect(reasons.coder).toBe("task type not supported");
    expect(r.slice(1).every((c) => c.score === 0)).toBe(true);
  });

  it("prefers higher quality, lower latency and lower cost, and rewards the default", () => {
    const fast = model({ modelId: "fast", typicalLatencyMs: 50 });
    const slow = model({ modelId: "slow", typicalLatencyMs: 900 });
    expect(scoreCandidates([slow, fast], chat, "")[0]!.modelId).toBe("fast");
    const r = scoreCandidates([slow, fast], chat, "slow");
    const s = r.find((c) => c.modelId === "slow")!;
    expect(s.isDefault).toBe(true);
    expect(s.components.default).toBe(10);
    const cheap = model({ modelId: "cheap", inputCostPer1kTokens: 0.001 });
    const dear = model({ modelId: "dear", inputCostPer1kTokens: 0.1 });
    expect(scoreCandidates([dear, cheap], chat, "")[0]!.modelId).toBe("cheap");
    expect(
      scoreCandidates(
        [model({ modelId: "lo", qualityScore: 0.2 }), model({ modelId: "hi", qualityScore: 0.9 })],
        chat,
        "",
      )[0]!.modelId,
    ).toBe("hi");
  });

  it("falls back only on failures that are the model's, not the request's", () => {
    expect([502, 503, 504, 404].every(shouldFallBack)).toBe(true);
    expect(shouldFallBack(400)).toBe(false);
  });
});

describe("ai-router service", () => {
  let h: Harness;
  let api: http.Server;
  let apiCalls = 0;
  beforeAll(async () => {
    // a remote provider that always fails, so routing has to fall back to the local models
    api = http.createServer((_req, res) => {
      apiCalls++;
      res.writeHead(500).end("down");
    });
    await new Promise<void>((r) => api.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
    h = await startHarness();
    await h.start(modelManagement);
    await h.start(aiIntegration, { env: { AI_PROVIDER_URL: url, AI_PROVIDER_MODELS: "big-model" } });
    await h.start(service);
    const reg = (m: Partial<ModelInfo>) =>
      h.call("model-management.register-model", {
        model: { contextWindowTokens: 8192, taskTypes: ["TASK_TYPE_CHAT"], ...m },
      });
    await reg({
      modelId: "local/markov-1",
      provider: "local",
      taskTypes: ["TASK_TYPE_CHAT", "TASK_TYPE_NARRATION"],
      typicalLatencyMs: 50,
      qualityScore: 0.4,
    });
    await reg({ modelId: "local/echo-1", provider: "local", typicalLatencyMs: 10, qualityScore: 0.1 });
    await reg({
      modelId: "openai/big-model",
      provider: "openai",
      typicalLatencyMs: 800,
      qualityScore: 0.95,
      inputCostPer1kTokens: 0.001,
      outputCostPer1kTokens: 0.002,
    });
    await reg({
      modelId: "openai/glacial",
      provider: "openai",
      providerModel: "big-model",
      typicalLatencyMs: 5000,
      qualityScore: 1,
    });
  });
  afterAll(async () => {
    await h?.stop();
    await new Promise((r) => api?.close(r));
  });

  it("explains every candidate, best first, with rejection reasons", async () => {
    const r = await h.call<{ chosenModelId: string; candidates: CandidateScore[] }>("ai-router.explain", {
      criteria: { taskType: "TASK_TYPE_CHAT", maxLatencyMs: 1000 },
    });
    expect(r.chosenModelId).toBe("openai/big-model");
    expect(r.candidates.map((c) => c.modelId)).toEqual([
      "openai/big-model",
      "local/markov-1",
      "local/echo-1",
      "openai/glacial",
    ]);
    expect(r.candidates[3]).toMatchObject({ eligible: false, score: 0 });
    expect(r.candidates[3]!.rejectionReason).toMatch(/latency/);
    expect(Object.keys(r.candidates[0]!.components).sort()).toEqual([
      "cost",
      "default",
      "latency",
      "preference",
      "quality",
    ]);
  });

  it("falls back to the next model when the best one fails, and prices the actual usage", async () => {
    const before = apiCalls;
    const r = await h.call<{
      modelId: string;
      provider: string;
      attempts: number;
      text: string;
      costUsd: number;
      chosen: CandidateScore;
      usage: { totalTokens: number };
    }>("ai-router.route", {
      criteria: { taskType: "TASK_TYPE_CHAT", maxLatencyMs: 1000, maxTokens: 40 },
      prompt: "Tell me about the forest",
    });
    expect(apiCalls).toBe(before + 1);
    expect(r).toMatchObject({ modelId: "local/markov-1", provider: "local", attempts: 2, costUsd: 0 });
    expect(r.text.length).toBeGreaterThan(0);
    expect(r.chosen.modelId).toBe("local/markov-1");
    expect(r.usage.totalTokens).toBeGreaterThan(0);
  });

  it("gives the default model its bonus", async () => {
    await h.call("model-management.set-default-model", { taskType: "TASK_TYPE_CHAT", modelId: "local/echo-1" });
    const r = await h.call<{ candidates: CandidateScore[] }>("ai-router.explain", {
      criteria: { taskType: "TASK_TYPE_CHAT", preferredProvider: "local" },
    });
    const echo = r.candidates.find((c) => c.modelId === "local/echo-1")!;
    expect(echo).toMatchObject({ isDefault: true });
    expect(echo.components).toMatchObject({ default: 10, preference: 5 });
  });

  it("routes within a cost budget without touching models over it", async () => {
    const r = await h.call<{ modelId: string; attempts: number }>("ai-router.route", {
      criteria: { taskType: "TASK_TYPE_NARRATION", maxCostUsd: 0.0001 },
      prompt: "Describe the tower",
    });
    expect(r).toMatchObject({ modelId: "local/markov-1", attempts: 1 });
  });

  it("answers 412 when no model fits and 400 for missing criteria", async () => {
    const none = await h.fail("ai-router.route", { criteria: { taskType: "TASK_TYPE_CODE" }, prompt: "x" });
    expect(none.code).toBe(412);
    expect((await h.fail("ai-router.route", { prompt: "x" })).code).toBe(400);
    expect((await h.fail("ai-router.explain", { criteria: { taskType: "TASK_TYPE_CHAT", minQuality: 2 } })).code).toBe(
      400,
    );
  });
});
