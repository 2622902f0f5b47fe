import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AckPolicy, DeliverPolicy, jetstreamManager } from "@nats-io/jetstream";
import { startHarness, type Harness } from "../test-support/harness.js";
import { EVENTS_STREAM } from "../sdk/events.js";
import { decodeToJson, encodeJson } from "../sdk/json-codec.js";
import { defaultRegistry } from "../sdk/runtime.js";
import {
  consumerState,
  lagging,
  nanosToTimestamp,
  publishSubjectProblem,
  replayFilter,
  replayStart,
  serverTime,
  withinBudget,
} from "./domain.js";
import service from "./service.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const text = (b: string) => Buffer.from(b, "base64").toString();

describe("event-bus domain", () => {
  it("accepts only concrete subjects under events. for publishing", () => {
    expect(publishSubjectProblem("events.test.hello")).toBeUndefined();
    expect(publishSubjectProblem("orders.created")).toMatch(/must start with "events\."/);
    expect(publishSubjectProblem("events.*.x")).toMatch(/wildcards/);
    expect(publishSubjectProblem("events..x")).toMatch(/tokens/);
  });

  it("defaults the replay filter to the whole stream and validates wildcards", () => {
    expect(replayFilter("")).toEqual({ filter: "events.>" });
    expect(replayFilter("events.*.created")).toEqual({ filter: "events.*.created" });
    expect(replayFilter("events.>.x")).toHaveProperty("problem");
    expect(replayFilter("other.>")).toHaveProperty("problem");
  });

  it("starts a replay from a time, a sequence or the beginning", () => {
    expect(replayStart("2025-01-01T00:00:00Z", "0")).toEqual({
      deliver_policy: "by_start_time",
      opt_start_time: "2025-01-01T00:00:00Z",
    });
    expect(replayStart(undefined, "42")).toEqual({ deliver_policy: "by_start_sequence", opt_start_seq: 42 });
    expect(replayStart(undefined, "0")).toEqual({ deliver_policy: "all" });
  });

  it("formats nanosecond times and drops the zero time", () => {
    expect(nanosToTimestamp(1_700_000_000_123_456_789n)).toBe("2023-11-14T22:13:20.123456789Z");
    expect(nanosToTimestamp(1_700_000_000_000_000_000n)).toBe("2023-11-14T22:13:20Z");
    expect(serverTime("0001-01-01T00:00:00Z")).toBeUndefined();
  });

  it("keeps replies within a payload budget but always returns one message", () => {
    const msgs = [{ payload: "aaaa" }, { payload: "bbbb" }, { payload: "cccc" }];
    expect(withinBudget(msgs, 9)).toHaveLength(2);
    expect(withinBudget(msgs, 1)).toHaveLength(1);
  });

  it("computes lag as pending plus unacknowledged and flags consumers above the threshold", () => {
    const s = consumerState({
      name: "c",
      config: { durable_name: "c", filter_subject: "events.>" },
      num_pending: 7,
      num_ack_pending: 3,
      num_redelivered: 0,
      delivered: { stream_seq: 5 },
      ack_floor: { stream_seq: 2 },
    });
    expect(s).toMatchObject({ durable: true, lag: "10", deliveredSeq: "5", ackFloorSeq: "2" });
    expect(lagging([s], 9)).toHaveLength(1);
    expect(lagging([s], 10)).toHaveLength(0);
  });
});

describe("event-bus over NATS", () => {
  let h: Harness;
  const publish = (subject: string, payload: string, extra: Record<string, unknown> = {}) =>
    h.call<{ stream: string; seq: string; duplicate: boolean }>("event-bus.publish", {
      subject,
      payload: b64(payload),
      ...extra,
    });
  interface Replayed {
    messages: { seq: string; subject: string; time: string; payload: string; headers: Record<string, string> }[];
    nextSeq: string;
    hasMore: boolean;
  }

  beforeAll(async () => {
    h = await startHarness();
    await h.start(service, { env: { EVENT_BUS_LAG_THRESHOLD: "2" } });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("publishes the payload bytes as given, with headers, and dedupes by msgId", async () => {
    const a = await publish("events.test.greeting", "hello", { headers: { "X-Trace": "t1" }, msgId: "m-1" });
    expect(a).toMatchObject({ stream: EVENTS_STREAM, duplicate: false });
    const dup = await publish("events.test.greeting", "hello", { msgId: "m-1" });
    expect(dup).toEqual({ stream: EVENTS_STREAM, seq: a.seq, duplicate: true });
    const jsm = await jetstreamManager(h.nc);
    const stored = await jsm.streams.getMessage(EVENTS_STREAM, { seq: Number(a.seq) });
    expect(new TextDecoder().decode(stored!.data)).toBe("hello");
    expect(stored!.header.get("X-Trace")).toBe("t1");
  });

  it("rejects subjects off the stream, wildcards, reserved headers and invalid known-event payloads with 400", async () => {
    expect((await h.fail("event-bus.publish", { subject: "orders.created", payload: b64("x") })).code).toBe(400);
    expect((await h.fail("event-bus.publish", { subject: "events.>", payload: b64("x") })).code).toBe(400);
    expect(
      (
        await h.fail("event-bus.publish", {
          subject: "events.test.x",
          payload: b64("x"),
          headers: { "Nats-Msg-Id": "1" },
        })
      ).code,
    ).toBe(400);
    const bad = await h.fail("event-bus.publish", {
      subject: "events.event-bus.consumer-lagging",
      payload: b64("\xff\xff\xff"),
    });
    expect(bad.message).toMatch(/not a event_bus\.v1\.ConsumerLaggingEvent/);
  });

  it("accepts a valid payload for a known event subject", async () => {
    const type = defaultRegistry().event("events.event-bus.consumer-lagging")!.type;
    const payload = Buffer.from(encodeJson(type, { stream: "X", consumer: "c", lag: "5" })).toString("base64");
    expect(
      (await h.call("event-bus.publish", { subject: "events.event-bus.consumer-lagging", payload })).duplicate,
    ).toBe(false);
  });

  it("replays a subject filter from a sequence in pages", async () => {
    const seqs: string[] = [];
    for (let i = 0; i < 5; i++) seqs.push((await publish(`events.replay.item-${i % 2 ? "odd" : "even"}`, `n${i}`)).seq);
    const page1 = await h.call<Replayed>("event-bus.replay", {
      subjectFilter: "events.replay.>",
      fromSeq: seqs[0],
      limit: 3,
    });
    expect(page1.messages.map((m) => text(m.payload))).toEqual(["n0", "n1", "n2"]);
    expect(page1.hasMore).toBe(true);
    expect(page1.nextSeq).toBe(String(Number(seqs[2]) + 1));
    const page2 = await h.call<Replayed>("event-bus.replay", {
      subjectFilter: "events.replay.>",
      fromSeq: page1.nextSeq,
      limit: 3,
    });
    expect(page2.messages.map((m) => text(m.payload))).toEqual(["n3", "n4"]);
    expect(page2.hasMore).toBe(false);
    const odd = await h.call<Replayed>("event-bus.replay", { subjectFilter: "events.replay.item-odd" });
    expect(odd.messages.map((m) => [m.subject, text(m.payload)])).toEqual([
      ["events.replay.item-odd", "n1"],
      ["events.replay.item-odd", "n3"],
    ]);
    expect(odd.messages[0]!.time).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });

  it("replays from a time and returns nothing past the end", async () => {
    await new Promise((r) => setTimeout(r, 20));
    const since = new Date().toISOString();
    await publish("events.timed.x", "late");
    const r = await h.call<Replayed>("event-bus.replay", { subjectFilter: "events.timed.>", fromTime: since });
    expect(r.messages.map((m) => text(m.payload))).toEqual(["late"]);
    const none = await h.call<Replayed>("event-bus.replay", { subjectFilter: "events.timed.>", fromSeq: "999999" });
    expect(none).toEqual({ messages: [], nextSeq: "0", hasMore: false });
    expect((await h.fail("event-bus.replay", { subjectFilter: "foo.>" })).code).toBe(400);
  });

  it("reports consumer lag and publishes ConsumerLaggingEvent above the threshold", async () => {
    const jsm = await jetstreamManager(h.nc);
    await jsm.consumers.add(EVENTS_STREAM, {
      durable_name: "slow-reader",
      filter_subject: "events.replay.>",
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
    });
    const lag = await h.call<{
      consumers: { name: string; numPending: string; lag: string; durable: boolean }[];
      lastSeq: string;
    }>("event-bus.consumer-lag", {});
    expect(lag.consumers).toEqual([
      expect.objectContaining({ name: "slow-reader", numPending: "5", lag: "5", durable: true }),
    ]);
    const ev = await jsm.streams.getMessage(EVENTS_STREAM, { last_by_subj: "events.event-bus.consumer-lagging" });
    const type = defaultRegistry().event("events.event-bus.consumer-lagging")!.type;
    expect(decodeToJson(type, ev!.data)).toMatchObject({ consumer: "slow-reader", lag: "5", threshold: "2" });
    expect((await h.fail("event-bus.consumer-lag", { consumer: "nobody" })).code).toBe(404);
    expect(
      (await h.call("event-bus.consumer-lag", { consumer: "slow-reader", lagThreshold: "100" })).consumers,
    ).toHaveLength(1);
  });

  it("describes the stream", async () => {
    const info = await h.call("event-bus.stream-info", {});
    expect(info).toMatchObject({
      name: EVENTS_STREAM,
      subjects: ["events.>"],
      storage: "file",
      replicas: 1,
      maxAgeSeconds: String(7 * 24 * 3600),
      maxMessages: "0",
    });
    expect(Number(info.messages)).toBeGreaterThan(5);
    expect(info.lastTime).toMatch(/Z$/);
  });
});
