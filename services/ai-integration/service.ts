// ai-integration: text generation behind a provider interface.
// Env:
//   AI_PROVIDER_URL       base URL of an OpenAI-compatible API (POST {url}/v1/chat/completions); unset = remote provider unavailable
//   AI_API_KEY            bearer key for that API (never logged)
//   AI_PROVIDER_NAME      name of the remote provider (default "openai")
//   AI_PROVIDER_MODELS    comma-separated models it serves (default "gpt-4o-mini")
//   AI_DEFAULT_PROVIDER   provider for requests that name no model (default "local")
//   AI_TIMEOUT_MS         default per-generation timeout (default 30000; always capped by the request deadline)
//   AI_DEFAULT_MAX_TOKENS max_tokens when the request gives 0 (default 256)
// State: none (stateless; usage goes out as events).
// Events: GenerationCompletedEvent, GenerationFailedEvent.
import { randomUUID } from "node:crypto";
import { defineService, type CallContext, ServiceBase, type RpcHandlers, type ServiceContext } from "../sdk/runtime.js";
import { badRequest, ServiceError } from "../sdk/errors.js";
import {
  LocalProvider,
  OpenAiCompatibleProvider,
  ProviderError,
  resolveProvider,
  type TextProvider,
} from "./domain.js";
import type {
  AiIntegrationServiceRpcs,
  GenerateRequest,
  GenerateResponse,
  ListProvidersRequest,
  ListProvidersResponse,
} from "../generated/ai_integration/v1/ai_integration.js";

const MAX_PROMPT_CHARS = 32_000;
const MAX_TOKENS = 8192;

function validate(req: GenerateRequest): void {
  if (!req.prompt.trim()) throw badRequest("prompt is required");
  if (req.prompt.length + req.systemPrompt.length > MAX_PROMPT_CHARS)
    throw badRequest(`prompt and system_prompt together exceed ${MAX_PROMPT_CHARS} characters`);
  if (req.maxTokens > MAX_TOKENS) throw badRequest(`max_tokens must be at most ${MAX_TOKENS}`);
  if (!Number.isFinite(req.temperature) || req.temperature < 0 || req.temperature > 2)
    throw badRequest("temperature must be in [0,2]");
  if (req.stop.length > 4 || req.stop.some((s) => !s || s.length > 64))
    throw badRequest("stop: at most 4 non-empty sequences of at most 64 characters");
  if (req.timeoutMs > 120_000) throw badRequest("timeout_ms must be at most 120000");
  if (req.requestId.length > 128) throw badRequest("request_id is too long (max 128)");
}

class AiIntegration extends ServiceBase implements RpcHandlers<AiIntegrationServiceRpcs> {
  private readonly env = this.ctx.env;
  private readonly remote = new OpenAiCompatibleProvider({
    name: this.env.AI_PROVIDER_NAME || "openai",
    url: this.env.AI_PROVIDER_URL ?? "",
    apiKey: this.env.AI_API_KEY || undefined,
    models: (this.env.AI_PROVIDER_MODELS || "gpt-4o-mini")
      .split(",")
      .map((m) => m.trim())
      .filter(Boolean),
  });
  private readonly providers: TextProvider[] = [new LocalProvider(), this.remote];
  private readonly defaultProvider = this.env.AI_DEFAULT_PROVIDER || "local";
  private readonly defaultTimeout = Number(this.env.AI_TIMEOUT_MS || 30_000);
  private readonly defaultMaxTokens = Number(this.env.AI_DEFAULT_MAX_TOKENS || 256);

  constructor(ctx: ServiceContext) {
    super(ctx);
    ctx.log.info("providers configured", {
      remote: this.remote.name,
      remoteUrl: this.env.AI_PROVIDER_URL ? "set" : "unset",
      apiKey: this.env.AI_API_KEY ? "set" : "unset",
    });
  }

  async Generate(req: GenerateRequest, call: CallContext): Promise<GenerateResponse> {
    validate(req);
    const requestId = req.requestId || randomUUID();
    const chosen = resolveProvider(this.providers, this.defaultProvider, { provider: req.provider, model: req.model });
    if ("error" in chosen) {
      await this.failed(requestId, req.provider, req.model, chosen.code, chosen.error);
      throw new ServiceError(chosen.code, chosen.error);
    }
    const { provider, model } = chosen;
    const why = provider.unavailableReason();
    if (why) {
      await this.failed(requestId, provider.name, model, 503, why);
      throw new ServiceError(503, `provider ${provider.name} is unavailable: ${why}`);
    }
    // leave a little of the caller's deadline for the reply itself
    const timeoutMs = Math.max(1, Math.min(req.timeoutMs || this.defaultTimeout, call.deadline - Date.now() - 50));
    const started = Date.now();
    try {
      const out = await provider.generate({
        prompt: req.prompt,
        systemPrompt: req.systemPrompt,
        model,
        maxTokens: req.maxTokens || this.defaultMaxTokens,
        temperature: req.temperature,
        stop: req.stop,
        timeoutMs,
        signal: this.ctx.signal,
      });
      const latencyMs = Date.now() - started;
      const usage = {
        promptTokens: out.promptTokens,
        completionTokens: out.completionTokens,
        totalTokens: out.promptTokens + out.completionTokens,
      };
      await this.ctx.events
        .publish("GenerationCompletedEvent", {
          requestId,
          provider: provider.name,
          model: out.model,
          usage,
          latencyMs,
          finishReason: out.finishReason,
          at: new Date().toISOString(),
        })
        .catch((err) =>
          this.ctx.log.warn("could not publish GenerationCompletedEvent", { err: (err as Error).message }),
        );
      return {
        text: out.text,
        usage,
        provider: provider.name,
        model: out.model,
        finishReason: out.finishReason,
        latencyMs,
        requestId,
      };
    } catch (err) {
      const code = err instanceof ProviderError ? err.code : 500;
      const message = err instanceof ProviderError ? err.message : "provider failed";
      this.ctx.log.warn("generation failed", { requestId, provider: provider.name, model, code, message });
      await this.failed(requestId, provider.name, model, code, message);
      throw new ServiceError(code, message);
    }
  }

  async ListProviders(_req: ListProvidersRequest): Promise<ListProvidersResponse> {
    return {
      providers: this.providers.map((p) => {
        const why = p.unavailableReason();
        return { name: p.name, models: p.models, available: !why, statusMessage: why ?? "ok", local: p.local };
      }),
      defaultProvider: this.defaultProvider,
    };
  }

  private async failed(requestId: string, provider: string, model: string, code: number, message: string) {
    await this.ctx.events
      .publish("GenerationFailedEvent", {
        requestId,
        provider,
        model,
        error: { code: code === 504 ? "TIMEOUT" : code === 404 ? "UNKNOWN_MODEL" : "PROVIDER_ERROR", message },
        at: new Date().toISOString(),
      })
      .catch((err) => this.ctx.log.warn("could not publish GenerationFailedEvent", { err: (err as Error).message }));
  }
}

export default defineService({
  name: "ai-integration",
  description:
    "Text generation behind a provider interface (local deterministic provider and OpenAI-compatible HTTP APIs)",
  start: (ctx) => new AiIntegration(ctx),
});
