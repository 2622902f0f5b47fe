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
import { defineService, type CallContext, type ServiceContext } from "../sdk/runtime.js";
import { badRequest, ServiceError } from "../sdk/errors.js";
import {
  LocalProvider,
  OpenAiCompatibleProvider,
  ProviderError,
  resolveProvider,
  type FinishReason,
  type TextProvider,
} from "./domain.js";

interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}
interface GenerateRequest {
  prompt: string;
  systemPrompt: string;
  model: string;
  provider: string;
  maxTokens: number;
  temperature: number;
  stop: string[];
  requestId: string;
  timeoutMs: number;
}
interface GenerateResponse {
  text: string;
  usage: TokenUsage;
  provider: string;
  model: string;
  finishReason: FinishReason;
  latencyMs: number;
  requestId: string;
}
interface ProviderInfo {
  name: string;
  models: string[];
  available: boolean;
  statusMessage: string;
  local: boolean;
}
interface ListProvidersResponse {
  providers: ProviderInfo[];
  defaultProvider: string;
}

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

export default defineService({
  name: "ai-integration",
  description:
    "Text generation behind a provider interface (local deterministic provider and OpenAI-compatible HTTP APIs)",
  start(ctx: ServiceContext) {
    const env = ctx.env;
    const remote = new OpenAiCompatibleProvider({
      name: env.AI_PROVIDER_NAME || "openai",
      url: env.AI_PROVIDER_URL ?? "",
      apiKey: env.AI_API_KEY || undefined,
      models: (env.AI_PROVIDER_MODELS || "gpt-4o-mini")
        .split(",")
        .map((m) => m.trim())
        .filter(Boolean),
    });
    const providers: TextProvider[] = [new LocalProvider(), remote];
    const defaultProvider = env.AI_DEFAULT_PROVIDER || "local";
    const defaultTimeout = Number(env.AI_TIMEOUT_MS || 30_000);
    const defaultMaxTokens = Number(env.AI_DEFAULT_MAX_TOKENS || 256);
    ctx.log.info("providers configured", {
      remote: remote.name,
      remoteUrl: env.AI_PROVIDER_URL ? "set" : "unset",
      apiKey: env.AI_API_KEY ? "set" : "unset",
    });

    const failed = async (requestId: string, provider: string, model: string, code: number, message: string) => {
      await ctx.events
        .publish("GenerationFailedEvent", {
          requestId,
          provider,
          model,
          error: { code: code === 504 ? "TIMEOUT" : code === 404 ? "UNKNOWN_MODEL" : "PROVIDER_ERROR", message },
          at: new Date().toISOString(),
        })
        .catch((err) => ctx.log.warn("could not publish GenerationFailedEvent", { err: (err as Error).message }));
    };

    return {
      async Generate(req: GenerateRequest, call: CallContext): Promise<GenerateResponse> {
        validate(req);
        const requestId = req.requestId || randomUUID();
        const chosen = resolveProvider(providers, defaultProvider, { provider: req.provider, model: req.model });
        if ("error" in chosen) {
          await failed(requestId, req.provider, req.model, chosen.code, chosen.error);
          throw new ServiceError(chosen.code, chosen.error);
        }
        const { provider, model } = chosen;
        const why = provider.unavailableReason();
        if (why) {
          await failed(requestId, provider.name, model, 503, why);
          throw new ServiceError(503, `provider ${provider.name} is unavailable: ${why}`);
        }
        // leave a little of the caller's deadline for the reply itself
        const timeoutMs = Math.max(1, Math.min(req.timeoutMs || defaultTimeout, call.deadline - Date.now() - 50));
        const started = Date.now();
        try {
          const out = await provider.generate({
            prompt: req.prompt,
            systemPrompt: req.systemPrompt,
            model,
            maxTokens: req.maxTokens || defaultMaxTokens,
            temperature: req.temperature,
            stop: req.stop,
            timeoutMs,
            signal: ctx.signal,
          });
          const latencyMs = Date.now() - started;
          const usage = {
            promptTokens: out.promptTokens,
            completionTokens: out.completionTokens,
            totalTokens: out.promptTokens + out.completionTokens,
          };
          await ctx.events
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
              ctx.log.warn("could not publish GenerationCompletedEvent", { err: (err as Error).message }),
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
          ctx.log.warn("generation failed", { requestId, provider: provider.name, model, code, message });
          await failed(requestId, provider.name, model, code, message);
          throw new ServiceError(code, message);
        }
      },

      async ListProviders(): Promise<ListProvidersResponse> {
        return {
          providers: providers.map((p) => {
            const why = p.unavailableReason();
            return { name: p.name, models: p.models, available: !why, statusMessage: why ?? "ok", local: p.local };
          }),
          defaultProvider,
        };
      },
    };
  },
});
