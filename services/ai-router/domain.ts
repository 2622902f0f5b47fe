// Model selection: which models fit a request's task, latency, cost and quality constraints, and how
// the eligible ones rank. Weights: quality 40, latency 25, cost 20, default 10, preferred provider 5.

/** The fields of model-management's Model that routing reads (JSON names as the SDK emits them). */
export interface ModelInfo {
  modelId: string;
  provider: string;
  providerModel: string;
  taskTypes: string[];
  maxOutputTokens: number;
  contextWindowTokens: number;
  inputCostPer1kTokens: number;
  outputCostPer1kTokens: number;
  typicalLatencyMs: number;
  qualityScore: number;
  status: string;
}

export interface Criteria {
  taskType: string;
  maxLatencyMs: number;
  maxCostUsd: number;
  estimatedPromptTokens: number;
  maxTokens: number;
  preferredProvider: string;
  minQuality: number;
}

export interface CandidateScore {
  modelId: string;
  provider: string;
  eligible: boolean;
  rejectionReason: string;
  score: number;
  qualityScore: number;
  estimatedLatencyMs: number;
  estimatedCostUsd: number;
  components: Record<string, number>;
  isDefault: boolean;
}

export const WEIGHTS = { quality: 40, latency: 25, cost: 20, default: 10, preference: 5 };
export const DEFAULT_MAX_TOKENS = 256;

export function estimateCost(
  m: Pick<ModelInfo, "inputCostPer1kTokens" | "outputCostPer1kTokens">,
  promptTokens: number,
  completionTokens: number,
): number {
  return round((promptTokens * m.inputCostPer1kTokens + completionTokens * m.outputCostPer1kTokens) / 1000, 8);
}

/** Rough prompt size when the caller gives none: ~4 characters per token. */
export function estimatePromptTokens(prompt: string, systemPrompt = ""): number {
  return Math.max(1, Math.ceil((prompt.length + systemPrompt.length) / 4));
}

function round(n: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Why a model cannot serve the request, or "" when it can. */
export function rejection(m: ModelInfo, c: Criteria, promptTokens: number, cost: number): string {
  if (m.status === "MODEL_STATUS_RETIRED") return "retired";
  if (!m.taskTypes.includes(c.taskType)) return "task type not supported";
  if (c.maxLatencyMs > 0 && m.typicalLatencyMs > c.maxLatencyMs)
    return `over latency budget (${m.typicalLatencyMs} ms > ${c.maxLatencyMs} ms)`;
  if (c.maxCostUsd > 0 && cost > c.maxCostUsd) return `over cost budget ($${cost} > $${c.maxCostUsd})`;
  if (c.minQuality > 0 && m.qualityScore < c.minQuality)
    return `below minimum quality (${m.qualityScore} < ${c.minQuality})`;
  if (m.contextWindowTokens > 0 && promptTokens + c.maxTokens > m.contextWindowTokens)
    return "request does not fit the context window";
  return "";
}

/**
 * Score every model for the criteria, best first. Latency and cost earn more the further under
 * budget they are (or, without a budget, on a smooth 1/(1+x) curve); ineligible models score 0.
 */
export function scoreCandidates(models: ModelInfo[], c: Criteria, defaultModelId: string): CandidateScore[] {
  const maxTokens = c.maxTokens || DEFAULT_MAX_TOKENS;
  const promptTokens = c.estimatedPromptTokens;
  const crit = { ...c, maxTokens };
  const out = models.map((m): CandidateScore => {
    const cost = estimateCost(m, promptTokens, Math.min(maxTokens, m.maxOutputTokens || maxTokens));
    const isDefault = m.modelId === defaultModelId;
    const reason = rejection(m, crit, promptTokens, cost);
    const base = {
      modelId: m.modelId,
      provider: m.provider,
      qualityScore: m.qualityScore,
      estimatedLatencyMs: m.typicalLatencyMs,
      estimatedCostUsd: cost,
      isDefault,
    };
    if (reason) return { ...base, eligible: false, rejectionReason: reason, score: 0, components: {} };
    const latencyFit =
      c.maxLatencyMs > 0 ? 1 - m.typicalLatencyMs / c.maxLatencyMs : 1 / (1 + m.typicalLatencyMs / 1000);
    const costFit = c.maxCostUsd > 0 ? 1 - cost / c.maxCostUsd : 1 / (1 + cost * 100);
    const components: Record<string, number> = {
      quality: round(WEIGHTS.quality * m.qualityScore),
      latency: round(WEIGHTS.latency * latencyFit),
      cost: round(WEIGHTS.cost * costFit),
      default: isDefault ? WEIGHTS.default : 0,
      preference: c.preferredProvider && c.preferredProvider === m.provider ? WEIGHTS.preference : 0,
    };
    const score = round(Object.values(components).reduce((a, b) => a + b, 0));
    return { ...base, eligible: true, rejectionReason: "", score, components };
  });
  return out.sort(
    (a, b) => Number(b.eligible) - Number(a.eligible) || b.score - a.score || a.modelId.localeCompare(b.modelId),
  );
}

/** Whether a failed attempt is worth retrying on the next candidate (the model's fault, not the request's). */
export function shouldFallBack(code: number): boolean {
  return code >= 500 || code === 404 || code === 429;
}
