import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { startNatsServer, type TestNatsServer } from "../../test/support/nats-server.js";
import { decodeToJson } from "./json-codec.js";
import { EVENTS_STREAM, Events, ensureEventsStream, type DomainEvent } from "./events.js";
import { defaultRegistry } from "./runtime.js";

describe("domain events on JetStream", () => {
  let server: TestNatsServer;
  let nc: NatsConnection;
  let events: Events;
  const registry = defaultRegistry();

  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
    nc = await connect({ servers: server.url });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  it("creates the EVENTS stream once even when many instances ensure it at the same time", async () => {
    const conns = await Promise.all(Array.from({ length: 6 }, () => connect({ servers: server.url })));
    try {
      await Promise.all(conns.flatMap((c) => [ensureEventsStream(c), ensureEventsStream(c)]));
      await ensureEventsStream(nc); // and again, once it exists
    } finally {
      await Promise.all(conns.map((c) => c.close()));
    }
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(EVENTS_STREAM);
    expect(info.config.subjects).toEqual(["events.>"]);
    const names: string[] = [];
    for await (const n of jsm.streams.names()) names.push(n);
    expect(names).toEqual([EVENTS_STREAM]);
    events = new Events(nc, registry, "auth");
  });

  it("stores a published event in the EVENTS stream on events.<service>.<kebab event>, protobuf-encoded", async () => {
    const data = { playerId: "p-1", username: "ada", createdAt: "2024-05-01T12:00:00Z" };
    const { seq, subject } = await events.publish("PlayerRegisteredEvent", data);
    expect(subject).toBe("events.auth.player-registered");
    const jsm = await jetstreamManager(nc);
    const stored = await jsm.streams.getMessage(EVENTS_STREAM, { seq });
    expect(stored?.subject).toBe("events.auth.player-registered");
    const type = registry.type("auth.v1.PlayerRegisteredEvent");
    expect(decodeToJson(type!, stored!.data)).toEqual(data);
  });

  it("stores an event published twice under one id once, and events without an id each time", async () => {
    const data = { playerId: "p-2", username: "bo", createdAt: "2024-05-01T12:00:00Z" };
    const first = await events.publish("PlayerRegisteredEvent", data, { id: "auth.registered.p-2" });
    const again = await events.publish("PlayerRegisteredEvent", data, { id: "auth.registered.p-2" });
    expect(again.seq).toBe(first.seq);
    const other = await events.publish("PlayerRegisteredEvent", data);
    const another = await events.publish("PlayerRegisteredEvent", data);
    expect([other.seq > first.seq, another.seq > other.seq]).toEqual([true, true]);
  });

  it("delivers new events decoded to a durable consumer, and only those matching its subject", async () => {
    const got: DomainEvent[] = [];
    let arrived: () => void = () => undefined;
    const twoArrived = new Promise<void>((r) => (arrived = r));
    const stop = await events.consume("audit", "events.auth.player-logged-in", async (ev) => {
      got.push(ev);
      if (got.length === 2) arrived();
    });
    try {
      await events.publish("PlayerRegisteredEvent", { playerId: "p-2", username: "bob" });
      await events.publish("PlayerLoggedInEvent", {
        playerId: "p-2",
        username: "bob",
        client: "cli",
        at: "2024-05-01T12:00:01Z",
      });
      await events.publish("PlayerLoggedInEvent", { playerId: "p-3", username: "eve" });
      await twoArrived;
    } finally {
      await stop();
    }
    expect(got.map((e) => [e.subject, e.type])).toEqual([
      ["events.auth.player-logged-in", "auth.v1.PlayerLoggedInEvent"],
      ["events.auth.player-logged-in", "auth.v1.PlayerLoggedInEvent"],
    ]);
    expect(got[0]!.data).toMatchObject({ playerId: "p-2", username: "bob", client: "cli", at: "2024-05-01T12:00:01Z" });
    expect(got[1]!.data).toMatchObject({ playerId: "p-3", username: "eve" });
    expect(got[1]!.seq).toBeGreaterThan(got[0]!.seq);
    expect(got[0]!.time).toBeInstanceOf(Date);
    const jsm = await jetstreamManager(nc);
    const ci = await jsm.consumers.info(EVENTS_STREAM, "auth-audit");
    expect(ci.config.durable_name).toBe("auth-audit");
    expect(ci.num_ack_pending).toBe(0);
  });

  it("resumes a durable consumer where it stopped, redelivering nothing already acknowledged", async () => {
    await events.publish("PlayerLoggedInEvent", { playerId: "p-4", username: "zed" });
    const got: string[] = [];
    let arrived: () => void = () => undefined;
    const one = new Promise<void>((r) => (arrived = r));
    const stop = await events.consume("audit", "events.auth.player-logged-in", async (ev) => {
      got.push(String(ev.data.playerId));
      arrived();
    });
    await one;
    await new Promise((r) => setTimeout(r, 200)); // time for anything wrongly redelivered to show up
    await stop();
    expect(got).toEqual(["p-4"]);
  });

  it("refuses an event name that is not a message of the service's proto package", async () => {
    await expect(events.publish("QuestCompletedEvent", {})).rejects.toThrow(
      "auth has no event message QuestCompletedEvent in its proto package",
    );
    await expect(events.publish("NoSuchEvent", {})).rejects.toThrow(/no event message NoSuchEvent/);
  });

  it("refuses an event payload that does not fit the event message", async () => {
    await expect(events.publish("PlayerRegisteredEvent", { playerId: "p-5", notAField: 1 })).rejects.toThrow();
  });
});
