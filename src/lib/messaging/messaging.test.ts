import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { defaultRegistry, startService, type RunningService } from "../../../services/sdk/runtime.js";
import { createLogger } from "../../../services/sdk/log.js";
import { prepareRequest, request } from "./request.js";
import { preparePublish, publish } from "./publish.js";
import { subscribe, type ReceivedMessage } from "./subscribe.js";
import { discoverServices } from "../nats/discovery.js";
import { GsError } from "../output/errors.js";
import { startNatsServer, type TestNatsServer } from "../../../test/support/nats-server.js";
import { npcProbe } from "../../../services/test-support/npc-probe.js";

const registry = defaultRegistry();
let server: TestNatsServer;
let nc: NatsConnection;
let svc: RunningService[] = [];

async function send(subject: string, json: unknown, extra: Partial<Parameters<typeof request>[3]> = {}) {
  const opts = { subject, json, timeout: 1000, ...extra };
  return request(nc, registry, prepareRequest(registry, opts), opts);
}

async function failure(p: Promise<unknown>): Promise<GsError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof GsError) return err;
    throw err;
  }
  throw new Error("expected a failure");
}

describe("messaging against a real nats-server", () => {
  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
    nc = await connect({ servers: server.url });
    const quiet = createLogger({}, { write: () => undefined });
    for (let i = 0; i < 2; i++) {
      const snc = await connect({ servers: server.url });
      svc.push(await startService(npcProbe(), { nc: snc, registry, log: quiet }));
    }
  });
  afterAll(async () => {
    for (const s of svc) await s.stop(1000);
    svc = [];
    await nc?.close();
    await server?.stop();
  });

  it("sends JSON as protobuf and decodes the reply as JSON", async () => {
    const r = await send("npc-behavior.decide", { npcId: "n7" });
    expect(r.request_type).toBe("npc_behavior.v1.DecideRequest");
    expect(r.replies).toHaveLength(1);
    expect(r.replies[0]!.reply).toMatchObject({ npcId: "n7", actionId: "eat", score: 0.5 });
    expect(r.replies[0]!.rtt_ms).toBeGreaterThan(0);
  });

  it("accepts original snake_case field names", async () => {
    const r = await send("npc-behavior.decide", { npc_id: "snake" });
    expect(r.replies[0]!.reply).toMatchObject({ npcId: "snake" });
  });

  it("sends the request --count times", async () => {
    const r = await send("npc-behavior.decide", { npcId: "x" }, { count: 3 });
    expect(r.replies).toHaveLength(3);
  });

  it("reports an error reply with its code and message", async () => {
    const err = await failure(send("npc-behavior.decide", { npcId: "missing" }));
    expect(err.message).toBe("npc-behavior.decide answered with error 404: no npc missing");
    expect(err.exitCode).toBe(1);
  });

  it("says no service answers a known subject nobody serves", async () => {
    const err = await failure(send("auth.login", { username: "a" }));
    expect(err.message).toMatch(/^no service answers auth\.login/);
    expect(err.exitCode).toBe(1);
  });

  it("times out with exit code 4 when the service is too slow", async () => {
    const err = await failure(send("npc-behavior.decide", { npcId: "slow" }, { timeout: 100 }));
    expect(err.message).toMatch(/did not answer within 100ms/);
    expect(err.exitCode).toBe(4);
  });

  it("refuses an unknown subject with suggestions before sending anything", () => {
    expect(() => prepareRequest(registry, { subject: "npc-behavior.decid", json: {}, timeout: 1 })).toThrow(
      /unknown subject npc-behavior\.decid \(did you mean npc-behavior\.decide/,
    );
  });

  it("refuses DATA larger than the server's max_payload", async () => {
    const huge = { npcId: "x".repeat(2 * 1024 * 1024) };
    const err = await failure(send("npc-behavior.decide", huge));
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/larger than the server's max_payload of 1MiB/);
  });

  it("gathers several replies with --replies", async () => {
    // every instance of a plain (non-queue) subscriber answers: use two raw responders
    const a = nc.subscribe("fanout.test", { callback: (_e, m) => void m.respond("a") });
    const b = nc.subscribe("fanout.test", { callback: (_e, m) => void m.respond("b") });
    const opts = { subject: "fanout.test", raw: new TextEncoder().encode("hi"), replies: 2, timeout: 500 };
    const r = await request(nc, registry, prepareRequest(registry, opts), opts);
    expect(r.replies.map((x) => (x.reply as { text: string }).text).sort()).toEqual(["a", "b"]);
    a.unsubscribe();
    b.unsubscribe();
  });

  it("publishes an event that subscribe decodes by subject", async () => {
    const seen: ReceivedMessage[] = [];
    const s = subscribe(nc, registry, { subject: "events.>", count: 2 }, (m) => seen.push(m));
    await nc.flush();
    const ev = registry.events[0]!;
    const opts = { subject: ev.subject, json: {}, count: 1 };
    await publish(nc, preparePublish(registry, opts), opts);
    const raw = { subject: "events.unknown.thing", raw: new Uint8Array([1, 2, 255]) };
    await publish(nc, preparePublish(registry, raw), raw);
    expect(await s.done).toBe(2);
    expect(seen[0]).toMatchObject({ subject: ev.subject, type: ev.type.fullName.slice(1) });
    expect(seen[1]!.data).toEqual({ hex: "0102ff", base64: "AQL/" });
  });

  it("discovers both instances with their stats", async () => {
    const services = await discoverServices(nc, { timeoutMs: 1000 });
    const npc = services.find((s) => s.name === "npc-behavior")!;
    expect(npc.instances).toHaveLength(2);
    expect(npc.requests).toBeGreaterThanOrEqual(6);
    expect(npc.errors).toBeGreaterThanOrEqual(1);
    expect(npc.endpoints.map((e) => e.subject)).toEqual(["npc-behavior.decide", "npc-behavior.list-actions"]);
    expect(npc.endpoints[0]).toMatchObject({
      request: "npc_behavior.v1.DecideRequest",
      response: "npc_behavior.v1.DecideResponse",
    });
  });
});
