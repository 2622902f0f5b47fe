import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import { startHarness, type Harness } from "../test-support/harness.js";
import { createLogger } from "../sdk/log.js";
import { defaultRegistry } from "../sdk/runtime.js";
import languageSystem from "../language-system/service.js";
import { createGateway, statusForReplyCode } from "./gateway.js";

const quiet = createLogger({}, { level: "error", write: () => undefined });

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
const close = (server: http.Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe("gateway status mapping", () => {
  it("passes 4xx through, keeps 503/504 and turns other 5xx into 500", () => {
    expect([400, 401, 404, 409, 412, 503, 504, 500, 502, 599].map(statusForReplyCode)).toEqual([
      400, 401, 404, 409, 412, 503, 504, 500, 500, 500,
    ]);
  });
});

describe("gateway over a real nats-server", () => {
  let h: Harness;
  let base: string;
  let server: http.Server;
  let side: NatsConnection;

  const post = (
    subject: string,
    body: unknown,
    headers: Record<string, string> = { "Content-Type": "application/json" },
  ) =>
    fetch(`${base}/v1/${subject}`, {
      method: "POST",
      headers,
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
  const errorOf = async (res: Response) =>
    ((await res.json()) as { error: { code: number; message: string; suggestions?: string[] } }).error;

  beforeAll(async () => {
    h = await startHarness();
    await h.start(languageSystem);
    await h.call("language-system.put-catalog", { locale: "en", entries: [{ key: "hello", text: "Hello, {name}!" }] });
    server = createGateway({ nc: h.nc, registry: defaultRegistry(), maxBodyBytes: 1024, timeoutMs: 300, log: quiet });
    base = await listen(server);

    // raw responders for paths no real service of this test takes
    side = await connect({ servers: h.url });
    side.subscribe("story-teller.get-story", { callback: () => undefined }); // never answers
    const answerWith = (subject: string, code: string, message: string) =>
      side.subscribe(subject, {
        callback: (_err, msg) => {
          const hd = natsHeaders();
          hd.set("Nats-Service-Error-Code", code);
          hd.set("Nats-Service-Error", message);
          msg.respond(new Uint8Array(), { headers: hd });
        },
      });
    answerWith("story-teller.choose", "409", "stale node");
    answerWith("story-teller.reset-progress", "502", "upstream broke");
    answerWith("story-teller.get-current-beat", "401", "who are you");
    await side.flush();
  });
  afterAll(async () => {
    if (server) await close(server);
    await side?.close();
    await h?.stop();
  });

  it("turns a JSON POST into an rpc and the reply into JSON", async () => {
    const res = await post("language-system.translate", { key: "hello", locale: "en-GB", params: { name: "Ada" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.headers.get("x-request-id")).toBeTruthy();
    expect(await res.json()).toMatchObject({
      text: "Hello, Ada!",
      resolvedLocale: "en",
      fallbackUsed: true,
      missing: false,
    });
  });

  it("answers /healthz with the NATS connection state", async () => {
    const res = await fetch(`${base}/healthz`);
    expect([res.status, await res.json()]).toEqual([200, { status: "ok", nats: "connected" }]);
    const nc = await connect({ servers: h.url });
    const other = createGateway({ nc, registry: defaultRegistry(), log: quiet });
    const otherBase = await listen(other);
    await nc.close();
    const down = await fetch(`${otherBase}/healthz`);
    expect(down.status).toBe(503);
    expect((await errorOf(down)).message).toMatch(/not connected/);
    await close(other);
  });

  it("answers 400 for invalid JSON, schema errors and the service's own 400", async () => {
    const bad = await post("language-system.translate", "{not json");
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).message).toMatch(/invalid JSON/);
    const schema = await post("language-system.translate", { key: "hello", colour: "red" });
    expect(schema.status).toBe(400);
    expect(await errorOf(schema)).toMatchObject({ code: 400, message: expect.stringMatching(/colour: unknown field/) });
    const wrongType = await post("language-system.translate", { key: 42 });
    expect((await errorOf(wrongType)).message).toMatch(/key: expected a string/);
    const service400 = await post("language-system.translate", { key: "hello", locale: "en" });
    expect(service400.status).toBe(400);
    expect((await errorOf(service400)).message).toMatch(/needs params: name/);
  });

  it("answers 404 with suggestions for an unknown subject", async () => {
    const res = await post("language-system.translat", {});
    expect(res.status).toBe(404);
    const err = await errorOf(res);
    expect(err.code).toBe(404);
    expect(err.suggestions).toContain("language-system.translate");
    expect((await fetch(`${base}/elsewhere`)).status).toBe(404);
  });

  it("answers 405 for a method other than POST", async () => {
    const res = await fetch(`${base}/v1/language-system.translate`);
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
    expect((await fetch(`${base}/healthz`, { method: "POST" })).status).toBe(405);
  });

  it("answers 415 for a body that is not JSON", async () => {
    const res = await post("language-system.translate", "key=hello", {
      "Content-Type": "application/x-www-form-urlencoded",
    });
    expect(res.status).toBe(415);
    expect((await errorOf(res)).message).toMatch(/application\/json/);
  });

  it("answers 413 for a body over the limit, declared or streamed", async () => {
    const declared = await post("language-system.translate", { key: "x".repeat(2000) });
    expect(declared.status).toBe(413);
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        `${base}/v1/language-system.translate`,
        { method: "POST", headers: { "Content-Type": "application/json" } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.write(`{"key":"${"y".repeat(700)}`);
      req.write(`${"y".repeat(700)}"}`);
      req.end();
    });
    expect(streamed).toBe(413);
  });

  it("answers 503 when no service answers the subject", async () => {
    const res = await post("story-teller.list-stories", {});
    expect(res.status).toBe(503);
    expect((await errorOf(res)).message).toMatch(/no service answers story-teller.list-stories/);
  });

  it("answers 504 when the service does not reply in time", async () => {
    const res = await post("story-teller.get-story", { storyId: "s" });
    expect(res.status).toBe(504);
  });

  it("passes the service's 4xx codes through and maps other 5xx to 500", async () => {
    const stale = await post("story-teller.choose", { playerId: "p", storyId: "s", choiceId: "c" });
    expect([stale.status, (await errorOf(stale)).message]).toEqual([409, "stale node"]);
    expect((await post("story-teller.get-current-beat", { playerId: "p", storyId: "s" })).status).toBe(401);
    const broken = await post("story-teller.reset-progress", { playerId: "p", storyId: "s" });
    expect(broken.status).toBe(500);
    expect(await errorOf(broken)).toMatchObject({ code: 500, message: "upstream broke", serviceCode: 502 });
  });

  it("carries an HTTP client's W3C traceparent into the fleet, so a sampled request reports its spans", async () => {
    const trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    const spans = side.subscribe(`gs.trace.${trace}`, { max: 1 });
    await side.flush();
    const res = await post(
      "language-system.translate",
      { key: "hello", locale: "en", params: { name: "Ada" } },
      { "Content-Type": "application/json", traceparent: `00-${trace}-00f067aa0ba902b7-01` },
    );
    expect(res.status).toBe(200);
    for await (const m of spans) {
      expect(m.json()).toMatchObject({
        trace_id: trace,
        parent_id: "00f067aa0ba902b7",
        kind: "server",
        service: "language-system",
        subject: "language-system.translate",
      });
    }
  });

  it("treats an empty body as an empty request", async () => {
    const res = await fetch(`${base}/v1/language-system.list-locales`, { method: "POST" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ defaultLocale: "en", locales: [{ locale: "en" }] });
  });
});
