// Text generation behind a provider interface: a deterministic local provider (a seeded word-level
// Markov chain over a small built-in corpus) and an OpenAI-compatible HTTP provider.
import { createHash } from "node:crypto";

export type FinishReason =
  "FINISH_REASON_STOP" | "FINISH_REASON_LENGTH" | "FINISH_REASON_CONTENT_FILTER" | "FINISH_REASON_ERROR";

export interface GenerationInput {
  prompt: string;
  systemPrompt: string;
  /** provider-side model name (without the "provider/" prefix) */
  model: string;
  maxTokens: number;
  temperature: number;
  stop: string[];
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface GenerationOutput {
  text: string;
  promptTokens: number;
  completionTokens: number;
  finishReason: FinishReason;
  model: string;
}

export interface TextProvider {
  readonly name: string;
  readonly local: boolean;
  readonly models: string[];
  readonly defaultModel: string;
  /** undefined when available, else why not */
  unavailableReason(): string | undefined;
  generate(input: GenerationInput): Promise<GenerationOutput>;
}

/** A provider failure with the status the service should answer (502 upstream error, 504 timeout, 503 unreachable). */
export class ProviderError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = "ProviderError";
  }
}

// ---------- tokens ----------

const TOKEN = /[A-Za-z0-9']+|[^\sA-Za-z0-9']/g;

/** A simple word/punctuation tokenizer; the local provider's unit of max_tokens and usage. */
export function tokenize(text: string): string[] {
  return text.match(TOKEN) ?? [];
}

export function countTokens(text: string): number {
  return tokenize(text).length;
}

/** Join tokens back into text: no space before punctuation. */
export function detokenize(tokens: string[]): string {
  let out = "";
  for (const t of tokens) out += out === "" || /^[.,;:!?)]$/.test(t) ? t : " " + t;
  return out;
}

// ---------- seeded randomness ----------

/** mulberry32 over a 32-bit seed: deterministic, fast, good enough for text. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function seedOf(...parts: (string | number)[]): number {
  return createHash("sha256").update(parts.join("\u0000")).digest().readUInt32BE(0);
}

// ---------- the local Markov provider ----------

const CORPUS = `
The old road winds past the mill and into the forest where the wolves keep watch.
The innkeeper greets every traveller with a warm fire and a cold warning about the north.
A storm gathers over the mountains and the villagers bring their sheep into the barns.
The knight rides to the ruined tower to find the lost banner of the king.
In the market the merchants argue about the price of iron and the rumours from the coast.
The forest is quiet tonight, but the old hunter says the quiet is a warning.
Every quest begins with a question and ends with a choice.
The river carries songs from the mountains to the sea, and the fishermen sing them back.
The guard at the gate asks for your name and your business in the city.
A lantern burns in the tower window, and nobody in the village will say who lit it.
The dragon sleeps beneath the mountain, dreaming of gold and the songs of the old kings.
The healer gathers herbs at dawn and warns the children to stay away from the marsh.
Your journey is long, but the road is kind to those who listen to the wind.
`;

type Chain = Map<string, string[]>;

export function buildChain(corpus: string): Chain {
  const chain: Chain = new Map();
  for (const line of corpus
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)) {
    const words = ["^", ...tokenize(line.toLowerCase())];
    for (let i = 0; i < words.length - 1; i++) {
      const key = words[i]!;
      if (!chain.has(key)) chain.set(key, []);
      chain.get(key)!.push(words[i + 1]!);
    }
  }
  return chain;
}

const CHAIN = buildChain(CORPUS);

function capitalize(tokens: string[]): string[] {
  let start = true;
  return tokens.map((t) => {
    const out = start && /^[a-z]/.test(t) ? t[0]!.toUpperCase() + t.slice(1) : t;
    if (/^[A-Za-z0-9']/.test(t)) start = false;
    if (/^[.!?]$/.test(t)) start = true;
    return out;
  });
}

/**
 * Generate from the chain. Seeded by prompt + params, so the same request gives the same text.
 * Temperature sharpens (low) or flattens (high) the choice between successors; 0 is greedy.
 */
export function markovGenerate(
  input: Pick<GenerationInput, "prompt" | "systemPrompt" | "model" | "maxTokens" | "temperature" | "stop">,
): {
  text: string;
  finishReason: FinishReason;
  completionTokens: number;
} {
  const rand = seededRandom(seedOf(input.model, input.systemPrompt, input.prompt, input.temperature, input.maxTokens));
  // start from a prompt word the corpus knows, if any
  const known = tokenize(input.prompt.toLowerCase()).filter((w) => CHAIN.has(w) && w.length > 3);
  let current = known.length ? known[Math.floor(rand() * known.length)]! : "^";
  const tokens: string[] = current === "^" ? [] : [current];
  const sentences = 1 + Math.floor(rand() * 3);
  let ended = 0;
  let finish: FinishReason = "FINISH_REASON_STOP";
  while (true) {
    if (tokens.length >= input.maxTokens) {
      finish = "FINISH_REASON_LENGTH";
      break;
    }
    const next = pick(CHAIN.get(current) ?? CHAIN.get("^")!, input.temperature, rand);
    tokens.push(next);
    current = next;
    if (next === ".") {
      if (++ended >= sentences) break;
      current = "^";
    }
  }
  const trimmed = tokens.slice(0, input.maxTokens);
  let text = detokenize(capitalize(trimmed));
  for (const s of input.stop) {
    const at = s ? text.indexOf(s) : -1;
    if (at >= 0) {
      text = text.slice(0, at);
      finish = "FINISH_REASON_STOP";
    }
  }
  return { text, finishReason: finish, completionTokens: countTokens(text) };
}

function pick(options: string[], temperature: number, rand: () => number): string {
  const counts = new Map<string, number>();
  for (const o of options) counts.set(o, (counts.get(o) ?? 0) + 1);
  const entries = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (temperature <= 0) return entries[0]![0];
  const weights = entries.map(([, c]) => Math.pow(c, 1 / temperature));
  let r = rand() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < entries.length; i++) {
    r -= weights[i]!;
    if (r <= 0) return entries[i]![0];
  }
  return entries[entries.length - 1]![0];
}

export class LocalProvider implements TextProvider {
  readonly name = "local";
  readonly local = true;
  readonly models = ["markov-1", "echo-1"];
  readonly defaultModel = "markov-1";
  unavailableReason(): string | undefined {
    return undefined;
  }
  async generate(input: GenerationInput): Promise<GenerationOutput> {
    const promptTokens = countTokens(input.systemPrompt) + countTokens(input.prompt);
    if (input.model === "echo-1") {
      const toks = tokenize(input.prompt);
      const text = detokenize(toks.slice(0, input.maxTokens));
      const finishReason = toks.length > input.maxTokens ? "FINISH_REASON_LENGTH" : "FINISH_REASON_STOP";
      return {
        text,
        promptTokens,
        completionTokens: Math.min(toks.length, input.maxTokens),
        finishReason,
        model: input.model,
      };
    }
    const out = markovGenerate(input);
    return {
      text: out.text,
      promptTokens,
      completionTokens: out.completionTokens,
      finishReason: out.finishReason,
      model: input.model,
    };
  }
}

// ---------- the OpenAI-compatible HTTP provider ----------

export interface HttpProviderConfig {
  name: string;
  url: string;
  apiKey?: string;
  models: string[];
  fetchImpl?: typeof fetch;
}

const FINISH: Record<string, FinishReason> = {
  stop: "FINISH_REASON_STOP",
  length: "FINISH_REASON_LENGTH",
  content_filter: "FINISH_REASON_CONTENT_FILTER",
};

interface ChatCompletion {
  model?: string;
  choices?: { message?: { content?: string }; finish_reason?: string }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number };
}

export class OpenAiCompatibleProvider implements TextProvider {
  readonly local = false;
  constructor(private readonly cfg: HttpProviderConfig) {}
  get name(): string {
    return this.cfg.name;
  }
  get models(): string[] {
    return this.cfg.models;
  }
  get defaultModel(): string {
    return this.cfg.models[0] ?? "";
  }
  unavailableReason(): string | undefined {
    return this.cfg.url ? undefined : "no provider URL configured";
  }

  /** Never let the key reach a message. */
  private redact(s: string): string {
    return this.cfg.apiKey ? s.split(this.cfg.apiKey).join("[redacted]") : s;
  }

  async generate(input: GenerationInput): Promise<GenerationOutput> {
    const messages = [
      ...(input.systemPrompt ? [{ role: "system", content: input.systemPrompt }] : []),
      { role: "user", content: input.prompt },
    ];
    const body = {
      model: input.model,
      messages,
      max_tokens: input.maxTokens,
      temperature: input.temperature,
      ...(input.stop.length ? { stop: input.stop } : {}),
    };
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.cfg.apiKey) headers.authorization = `Bearer ${this.cfg.apiKey}`;
    const timeout = AbortSignal.timeout(input.timeoutMs);
    const signal = input.signal ? AbortSignal.any([timeout, input.signal]) : timeout;
    let res: Response;
    let json: ChatCompletion;
    try {
      res = await (this.cfg.fetchImpl ?? fetch)(`${this.cfg.url.replace(/\/+$/, "")}/v1/chat/completions`, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        signal,
      });
      if (!res.ok) {
        const detail = (await res.text()).slice(0, 200);
        throw new ProviderError(
          res.status === 429 ? 503 : 502,
          `${this.name} answered HTTP ${res.status}: ${this.redact(detail)}`,
        );
      }
      json = (await res.json()) as ChatCompletion;
    } catch (err) {
      if (err instanceof ProviderError) throw err;
      if (timeout.aborted) throw new ProviderError(504, `${this.name} did not answer within ${input.timeoutMs} ms`);
      if (input.signal?.aborted) throw new ProviderError(503, `${this.name} call aborted: shutting down`);
      throw new ProviderError(503, `${this.name} unreachable: ${this.redact((err as Error).message)}`);
    }
    const choice = json.choices?.[0];
    if (typeof choice?.message?.content !== "string")
      throw new ProviderError(502, `${this.name} returned no completion`);
    const text = choice.message.content;
    return {
      text,
      promptTokens: json.usage?.prompt_tokens ?? countTokens(input.systemPrompt) + countTokens(input.prompt),
      completionTokens: json.usage?.completion_tokens ?? countTokens(text),
      finishReason: FINISH[choice.finish_reason ?? "stop"] ?? "FINISH_REASON_STOP",
      model: json.model ?? input.model,
    };
  }
}

// ---------- choosing the provider ----------

/**
 * Which provider and provider-side model serve a request: an explicit provider wins, then a
 * "provider/model" prefix, then the provider that lists the model; empty model = default provider's default.
 */
export function resolveProvider(
  providers: TextProvider[],
  defaultProvider: string,
  requested: { provider: string; model: string },
): { provider: TextProvider; model: string } | { error: string; code: number } {
  const byName = (n: string) => providers.find((p) => p.name === n);
  let model = requested.model;
  let provider = requested.provider ? byName(requested.provider) : undefined;
  if (requested.provider && !provider)
    return {
      code: 400,
      error: `unknown provider "${requested.provider}" (known: ${providers.map((p) => p.name).join(", ")})`,
    };
  const slash = model.indexOf("/");
  if (slash > 0 && byName(model.slice(0, slash)) && (!provider || provider.name === model.slice(0, slash))) {
    provider = byName(model.slice(0, slash));
    model = model.slice(slash + 1);
  }
  if (!provider) provider = model ? providers.find((p) => p.models.includes(model)) : byName(defaultProvider);
  if (!provider) return { code: 404, error: `no provider serves model "${model}"` };
  if (!model) model = provider.defaultModel;
  if (!provider.models.includes(model))
    return {
      code: 404,
      error: `provider ${provider.name} has no model "${model}" (models: ${provider.models.join(", ")})`,
    };
  return { provider, model };
}
