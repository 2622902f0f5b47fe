// ai-router: picks a model from model-management for a request's task type, latency and cost budget,
// then generates with it through ai-integration, falling back to the next candidate on failure.
// Env: AI_ROUTER_MAX_ATTEMPTS (models tried per Route, default 3).
// State: none (models and defaults live in model-management).
// Events: RequestRoutedEvent, RoutingFailedEvent.
import { randomUUID } from "node:crypto";
import { defineService, type CallContext, ServiceBase, type RpcHandlers } from "../sdk/runtime.js";
import { badRequest, failedPrecondition, ServiceError } from "../sdk/errors.js";
import {
  estimateCost,
  estimatePromptTokens,
  scoreCandidates,
  shouldFallBack,
  type CandidateScore,
  type Criteria,
  type ModelInfo,
} from "./domain.js";
import type {
  AiRouterServiceRpcs,
  ExplainRequest,
  ExplainResponse,
  RouteRequest,
  RouteResponse,
} from "../generated/ai_router/v1/ai_router.js";
import type { GenerateResponse } from "../generated/ai_integration/v1/ai_integration.js";

function validateCriteria(c: Criteria | undefined): Criteria {
  if (!c) throw badRequest("criteria is required");
  if (c.taskType === "TASK_TYPE_UNSPECIFIED") throw badRequest("criteria.task_type is required");
  if (!Number.isFinite(c.maxCostUsd) || c.maxCostUsd < 0) throw badRequest("criteria.max_cost_usd must be >= 0");
  if (!Number.isFinite(c.minQuality) || c.minQuality < 0 || c.minQuality > 1)
    throw badRequest("criteria.min_quality must be in [0,1]");
  if (c.maxTokens > 8192) throw badRequest("criteria.max_tokens must be at most 8192");
  return c;
}

class AiRouter extends ServiceBase implements RpcHandlers<AiRouterServiceRpcs> {
  private readonly maxAttempts = Math.max(1, Number(this.ctx.env.AI_ROUTER_MAX_ATTEMPTS || 3));
  private readonly candidates = async (
    c: Criteria,
    call: CallContext,
  ): Promise<{ ranked: CandidateScore[]; models: Map<string, ModelInfo> }> => {
    // every model, retired ones included, so Explain can say why each one was passed over
    const [{ models }, def] = await Promise.all([
      this.ctx.client.call<{ models: ModelInfo[] }>(
        "model-management.list-models",
        { includeRetired: true },
        { trace: call.trace },
      ),
      this.ctx.client.call<{ found: boolean; model?: ModelInfo }>(
        "model-management.get-default-model",
        { taskType: c.taskType },
        { trace: call.trace },
      ),
    ]);
    return {
      ranked: scoreCandidates(models, c, def.found ? (def.model?.modelId ?? "") : ""),
      models: new Map(models.map((m) => [m.modelId, m])),
    };
  };
  private readonly routingFailed = async (
    requestId: string,
    taskType: string,
    code: string,
    message: string,
    attempts: number,
  ) => {
    await this.ctx.events
      .publish("RoutingFailedEvent", {
        requestId,
        taskType,
        error: { code, message },
        attempts,
        at: new Date().toISOString(),
      })
      .catch((err) => this.ctx.log.warn("could not publish RoutingFailedEvent", { err: (err as Error).message }));
  };

  async Route(req: RouteRequest, call: CallContext): Promise<RouteResponse> {
    const c = validateCriteria(req.criteria);
    if (!req.prompt.trim()) throw badRequest("prompt is required");
    const requestId = req.requestId || randomUUID();
    const crit = {
      ...c,
      estimatedPromptTokens: c.estimatedPromptTokens || estimatePromptTokens(req.prompt, req.systemPrompt),
    };
    const { ranked, models } = await this.candidates(crit, call);
    const eligible = ranked.filter((x) => x.eligible).slice(0, this.maxAttempts);
    if (!eligible.length) {
      const why = ranked.map((x) => `${x.modelId}: ${x.rejectionReason}`).join("; ") || "no models registered";
      await this.routingFailed(requestId, c.taskType, "NO_ELIGIBLE_MODEL", why, 0);
      throw failedPrecondition(`no model fits ${c.taskType} within the budget (${why})`);
    }
    let attempts = 0;
    let last: ServiceError | undefined;
    for (const cand of eligible) {
      const model = models.get(cand.modelId)!;
      attempts++;
      const remaining = call.deadline - Date.now() - 50;
      if (remaining <= 0) break;
      try {
        const gen = await this.ctx.client.call<GenerateResponse>(
          "ai-integration.generate",
          {
            prompt: req.prompt,
            systemPrompt: req.systemPrompt,
            model: model.providerModel,
            provider: model.provider,
            maxTokens: c.maxTokens || 256,
            temperature: req.temperature,
            requestId,
          },
          { timeout: remaining, trace: call.trace },
        );
        const costUsd = estimateCost(model, gen.usage?.promptTokens ?? 0, gen.usage?.completionTokens ?? 0);
        await this.ctx.events
          .publish("RequestRoutedEvent", {
            requestId,
            taskType: c.taskType,
            modelId: cand.modelId,
            provider: cand.provider,
            score: cand.score,
            latencyMs: gen.latencyMs,
            costUsd,
            attempts,
            at: new Date().toISOString(),
          })
          .catch((err) => this.ctx.log.warn("could not publish RequestRoutedEvent", { err: (err as Error).message }));
        return {
          modelId: cand.modelId,
          provider: cand.provider,
          text: gen.text,
          usage: gen.usage,
          costUsd,
          latencyMs: gen.latencyMs,
          attempts,
          chosen: cand,
          requestId,
        };
      } catch (err) {
        if (!(err instanceof ServiceError)) throw err;
        last = err;
        this.ctx.log.warn("model attempt failed", {
          requestId,
          modelId: cand.modelId,
          code: err.code,
          message: err.message,
        });
        if (!shouldFallBack(err.code)) break;
      }
    }
    const code = last?.code ?? 503;
    const message = last ? `every candidate failed; last: ${last.message}` : "no candidate could be tried";
    await this.routingFailed(requestId, c.taskType, "ALL_ATTEMPTS_FAILED", message, attempts);
    throw new ServiceError(code, message);
  }

  async Explain(req: ExplainRequest, call: CallContext): Promise<ExplainResponse> {
    const c = validateCriteria(req.criteria);
    const { ranked } = await this.candidates({ ...c, estimatedPromptTokens: c.estimatedPromptTokens || 500 }, call);
    return { chosenModelId: ranked[0]?.eligible ? ranked[0].modelId : "", candidates: ranked };
  }
}

export default defineService({
  name: "ai-router",
  description: "Chooses a model by task type, latency and cost budget, and generates with it through ai-integration",
  start: (ctx) => new AiRouter(ctx),
});
