// Model registry rules: what a valid model is, which models a listing shows, who may be a default.
export const TASK_TYPES = [
  "TASK_TYPE_CHAT",
  "TASK_TYPE_DIALOGUE",
  "TASK_TYPE_NARRATION",
  "TASK_TYPE_SUMMARIZATION",
  "TASK_TYPE_CLASSIFICATION",
  "TASK_TYPE_EMBEDDING",
  "TASK_TYPE_CODE",
] as const;
export type TaskType = (typeof TASK_TYPES)[number] | "TASK_TYPE_UNSPECIFIED";
export type ModelStatus = "MODEL_STATUS_UNSPECIFIED" | "MODEL_STATUS_ACTIVE" | "MODEL_STATUS_RETIRED";

// JSON names as the SDK derives them (protobufjs camelCase keeps "_1k": inputCostPer1kTokens).
import type { Model } from "../generated/model_management/v1/model_management.js";
export type { Model };

export const MODEL_ID = /^[a-z0-9][a-z0-9._:/-]{0,127}$/;
export const PROVIDER = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const MAX_CONTEXT = 10_000_000;

export function isTaskType(t: string): t is (typeof TASK_TYPES)[number] {
  return (TASK_TYPES as readonly string[]).includes(t);
}

/** Check a model as submitted for registration; returns the problems (empty = valid) and the normalized model. */
export function validateModel(input: Partial<Model> | undefined): { problems: string[]; model?: Model } {
  const problems: string[] = [];
  if (!input) return { problems: ["model is required"] };
  const modelId = (input.modelId ?? "").trim();
  const provider = (input.provider ?? "").trim();
  if (!modelId) problems.push("model.model_id is required");
  else if (!MODEL_ID.test(modelId))
    problems.push(`model.model_id "${modelId}" must be lowercase [a-z0-9._:/-], at most 128 characters`);
  if (!provider) problems.push("model.provider is required");
  else if (!PROVIDER.test(provider))
    problems.push(`model.provider "${provider}" must be lowercase [a-z0-9_-], at most 64 characters`);
  const taskTypes = [...new Set(input.taskTypes ?? [])];
  if (!taskTypes.length) problems.push("model.task_types needs at least one task type");
  for (const t of taskTypes) if (!isTaskType(t)) problems.push(`model.task_types: ${t} is not a routable task type`);
  const ctxWin = input.contextWindowTokens ?? 0;
  if (ctxWin <= 0 || ctxWin > MAX_CONTEXT) problems.push(`model.context_window_tokens must be in 1..${MAX_CONTEXT}`);
  const maxOut = input.maxOutputTokens || Math.min(4096, ctxWin);
  if (ctxWin > 0 && maxOut > ctxWin) problems.push("model.max_output_tokens cannot exceed context_window_tokens");
  for (const [field, v] of [
    ["input_cost_per_1k_tokens", input.inputCostPer1kTokens ?? 0],
    ["output_cost_per_1k_tokens", input.outputCostPer1kTokens ?? 0],
  ] as const) {
    if (!Number.isFinite(v) || v < 0 || v > 1000)
      problems.push(`model.${field} must be a number in 0..1000 (USD per 1000 tokens)`);
  }
  const latency = input.typicalLatencyMs ?? 0;
  if (latency <= 0 || latency > 600_000) problems.push("model.typical_latency_ms must be in 1..600000");
  const quality = input.qualityScore ?? 0;
  if (!Number.isFinite(quality) || quality < 0 || quality > 1) problems.push("model.quality_score must be in [0,1]");
  const labels = input.labels ?? {};
  if (Object.keys(labels).length > 32) problems.push("model.labels: at most 32 labels");
  for (const [k, v] of Object.entries(labels))
    if (k.length > 64 || v.length > 256)
      problems.push(`model.labels.${k.slice(0, 64)}: key ≤ 64 and value ≤ 256 characters`);
  if ((input.displayName ?? "").length > 200) problems.push("model.display_name: at most 200 characters");
  if (problems.length) return { problems };
  return {
    problems,
    model: {
      modelId,
      provider,
      providerModel: (input.providerModel ?? "").trim() || modelId.slice(modelId.indexOf("/") + 1),
      displayName: (input.displayName ?? "").trim() || modelId,
      taskTypes: taskTypes.sort((a, b) => TASK_TYPES.indexOf(a as never) - TASK_TYPES.indexOf(b as never)),
      contextWindowTokens: ctxWin,
      maxOutputTokens: maxOut,
      inputCostPer1kTokens: input.inputCostPer1kTokens ?? 0,
      outputCostPer1kTokens: input.outputCostPer1kTokens ?? 0,
      typicalLatencyMs: latency,
      qualityScore: quality,
      status: "MODEL_STATUS_ACTIVE",
      labels: { ...labels },
      retiredReason: "",
      replacementModelId: "",
    },
  };
}

export interface ModelFilter {
  taskType: TaskType;
  provider: string;
  includeRetired: boolean;
}

export function matchesFilter(m: Model, f: ModelFilter): boolean {
  if (!f.includeRetired && m.status === "MODEL_STATUS_RETIRED") return false;
  if (f.taskType !== "TASK_TYPE_UNSPECIFIED" && !m.taskTypes.includes(f.taskType)) return false;
  if (f.provider && m.provider !== f.provider) return false;
  return true;
}

/** Why `m` cannot be the default for `task`, or undefined when it can. */
export function defaultRejection(m: Model, task: TaskType): string | undefined {
  if (m.status === "MODEL_STATUS_RETIRED") return `model ${m.modelId} is retired`;
  if (!m.taskTypes.includes(task)) return `model ${m.modelId} does not support ${task}`;
  return undefined;
}

/**
 * Where each default held by a retiring model goes: to the replacement when it supports the task,
 * otherwise cleared ("").
 */
export function reassignDefaults(
  held: TaskType[],
  replacement: Model | undefined,
): { taskType: TaskType; modelId: string }[] {
  return held.map((taskType) => ({
    taskType,
    modelId: replacement && !defaultRejection(replacement, taskType) ? replacement.modelId : "",
  }));
}
