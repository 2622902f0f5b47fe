import { describe, it, expect, beforeAll, afterAll } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { startHarness, type Harness } from "../test-support/harness.js";
import service from "./service.js";
import {
  countTokens,
  LocalProvider,
  markovGenerate,
  resolveProvider,
  OpenAiCompatibleProvider,
  detokenize,
  tokenize,
} from "./domain.js";

const KEY = "sk-test-very-secret";

/** A tiny OpenAI-compatible API: model "fail-model" answers 500, "slow-model" answers after 2 s. */
async function fakeOpenAi(): Promise<{
  url: string;
  requests: { auth?: string; body: { model: string; messages: { role: string; content: string }[] } }[];
  close(): Promise<void>;
}> {
  const requests: { auth?: string; body: { model: string; messages: { role: string; content: string }[] } }[] = [];
  const server = http.createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/v1/chat/completions") return void res.writeHead(404).end();
      const body = JSON.parse(raw);
      requests.push({ auth: req.headers.authorization, body });
      if (req.headers.authorization !== `Bearer ${KEY}`) return void res.writeHead(401).end("bad key");
      if (body.model === "fail-model") return void res.writeHead(500).end(`upstream exploded (key was ${KEY})`);
      const answer = () => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            model: body.model,
            choices: [
              {
                message: { role: "assistant", content: `echo: ${body.messages.at(-1).content}` },
                finish_reason: "stop",
              },
            ],
            usage: { prompt_tokens: 7, completion_tokens: 3 },
          }),
        );
      };
      if (body.model === "slow-model") setTimeout(answer, 2000);
      else answer();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((r) => server.close(() => r())) };
}

describe("local generation", () => {
  const input = {
    prompt: "Tell me about the forest road",
    systemPrompt: "",
    model: "markov-1",
    maxTokens: 40,
    temperature: 0.8,
    stop: [],
  };

  it("gives the same text for the same prompt and parameters", () => {
    expect(markovGenerate(input)).toEqual(markovGenerate(input));
    expect(markovGenerate(input).text).not.toBe("");
  });

  it("never produces more tokens than max_tokens and reports LENGTH when cut", () => {
    const out = markovGenerate({ ...input, maxTokens: 5 });
    expect(countTokens(out.text)).toBeLessThanOrEqual(5);
    expect(out.finishReason).toBe("FINISH_REASON_LENGTH");
  });

  it("cuts the text at a stop sequence", () => {
    const full = markovGenerate(input).text;
    const word = tokenize(full)[2]!;
    const out = markovGenerate({ ...input, stop: [word] });
    expect(out.text).toBe(full.slice(0, full.indexOf(word)));
  });

  it("counts tokens as words and punctuation", () => {
    expect(tokenize("Hello, world!")).toEqual(["Hello", ",", "world", "!"]);
    expect(detokenize(["Hello", ",", "world", "!"])).toBe("Hello, world!");
  });

  it("resolves providers from an explicit name, a provider/model prefix or the model list", () => {
    const remote = new OpenAiCompatibleProvider({ name: "openai", url: "http://x", models: ["gpt-x"] });
    const ps = [new LocalProvider(), remote];
    expect(resolveProvider(ps, "local", { provider: "", model: "" })).toMatchObject({ model: "markov-1" });
    expect(resolveProvider(ps, "local", { provider: "", model: "openai/gpt-x" })).toMatchObject({
      provider: remote,
      model: "gpt-x",
    });
    expect(resolveProvider(ps, "local", { provider: "", model: "gpt-x" })).toMatchObject({ provider: remote });
    expect(resolveProvider(ps, "local", { provider: "nope", model: "" })).toMatchObject({ code: 400 });
    expect(resolveProvider(ps, "local", { provider: "", model: "unknown" })).toMatchObject({ code: 404 });
  });
});

describe("ai-integration service", () => {
  let h: Harness;
  let api: Awaited<ReturnType<typeof fakeOpenAi>>;
  beforeAll(async () => {
    api = await fakeOpenAi();
    h = await startHarness();
    await h.start(service, {
      env: { AI_PROVIDER_URL: api.url, AI_API_KEY: KEY, AI_PROVIDER_MODELS: "gpt-test,fail-model,slow-model" },
    });
  });
  afterAll(async () => {
    await h?.stop();
    await api?.close();
  });

  it("generates deterministic text with the local provider and counts tokens", async () => {
    const req = { prompt: "What waits in the tower?", maxTokens: 30, temperature: 0.7 };
    const a = await h.call<{
      text: string;
      usage: { promptTokens: number; completionTokens: number; totalTokens: number };
      provider: string;
      requestId: string;
    }>("ai-integration.generate", req);
    const b = await h.call<{ text: string }>("ai-integration.generate", req);
    expect(a.text).toBe(b.text);
    expect(a.provider).toBe("local");
    expect(a.usage.promptTokens).toBe(6);
    expect(a.usage.totalTokens).toBe(a.usage.promptTokens + a.usage.completionTokens);
    expect(a.usage.completionTokens).toBeLessThanOrEqual(30);
    expect(a.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("calls the OpenAI-compatible API with the key and maps its answer", async () => {
    const sub = h.nc.subscribe("events.ai-integration.generation-completed", { max: 1 });
    const r = await h.call<{
      text: string;
      provider: string;
      model: string;
      usage: { totalTokens: number };
      finishReason: string;
    }>("ai-integration.generate", {
      prompt: "hi there",
      systemPrompt: "be brief",
      model: "openai/gpt-test",
      requestId: "req-1",
    });
    expect(r).toMatchObject({
      text: "echo: hi there",
      provider: "openai",
      model: "gpt-test",
      finishReason: "FINISH_REASON_STOP",
    });
    expect(r.usage.totalTokens).toBe(10);
    const last = api.requests.at(-1)!;
    expect(last.auth).toBe(`Bearer ${KEY}`);
    expect(last.body.messages.map((m) => m.role)).toEqual(["system", "user"]);
    for await (const m of sub) expect(m.data.length).toBeGreaterThan(0);
  });

  it("answers 502 when the provider fails, without leaking the API key", async () => {
    const err = await h.fail("ai-integration.generate", { prompt: "x", model: "fail-model" });
    expect(err.code).toBe(502);
    expect(err.message).toMatch(/HTTP 500/);
    expect(err.message).not.toContain(KEY);
  });

  it("answers 504 when the provider is slower than the timeout", async () => {
    const started = Date.now();
    const err = await h.fail("ai-integration.generate", { prompt: "x", model: "slow-model", timeoutMs: 200 });
    expect(err.code).toBe(504);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it("rejects bad requests with 400 and unknown models with 404", async () => {
    expect((await h.fail("ai-integration.generate", { prompt: "" })).code).toBe(400);
    expect((await h.fail("ai-integration.generate", { prompt: "x", temperature: 3 })).code).toBe(400);
    expect((await h.fail("ai-integration.generate", { prompt: "x", model: "no-such-model" })).code).toBe(404);
  });

  it("lists the local and remote providers with their availability", async () => {
    const r = await h.call<{
      providers: { name: string; available: boolean; local: boolean; models: string[] }[];
      defaultProvider: string;
    }>("ai-integration.list-providers");
    expect(r.defaultProvider).toBe("local");
    expect(r.providers).toEqual([
      expect.objectContaining({ name: "local", available: true, local: true }),
      expect.objectContaining({
        name: "openai",
        available: true,
        local: false,
        models: ["gpt-test", "fail-model", "slow-model"],
      }),
    ]);
  });
});
