// The window of an events read against a real nats-server with JetStream: the start of the last N
// events on a filter (binary search over server-side counts), a time start, and nothing to read.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { ensureEventsStream, EVENTS_STREAM } from "../../../services/sdk/events.js";
import { defaultRegistry } from "../../../services/sdk/runtime.js";
import { startNatsServer, type TestNatsServer } from "../../../test/support/nats-server.js";
import { readEvents } from "./event-reader.js";
import { countFrom, eventWindow } from "./event-window.js";

let server: TestNatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
/** seq of each published message by subject, in order */
const seqs: Record<string, number[]> = { a: [], b: [] };
let midTime = 0;

beforeAll(async () => {
  server = await startNatsServer({ jetstream: true });
  nc = await connect({ servers: server.url });
  await ensureEventsStream(nc);
  jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  // b sparse among a: 40 messages, every 7th a b; then 10 a only
  for (let i = 0; i < 50; i++) {
    const which = i < 40 && i % 7 === 3 ? "b" : "a";
    if (i === 25) {
      await new Promise((r) => setTimeout(r, 20));
      midTime = Date.now();
    }
    const ack = await js.publish(`events.x.${which}`, new Uint8Array([i]));
    seqs[which]!.push(ack.seq);
  }
}, 30_000);

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

describe("eventWindow", () => {
  it("starts the last N of a sparse subject at its Nth-last event", async () => {
    for (const n of [1, 2, 3, 5]) {
      const w = await eventWindow(jsm, "events.x.b", { last: n });
      expect(w.start, `last ${n}`).toEqual({ seq: seqs.b!.at(-n) });
      expect(w.count).toBe(n);
    }
  });

  it("starts the last N of everything at lastSeq - N + 1", async () => {
    const w = await eventWindow(jsm, "events.>", { last: 4 });
    expect(w).toEqual({ start: { seq: 47 }, count: 4, lastSeq: 50 });
  });

  it("keeps the whole range when it holds N or fewer", async () => {
    const w = await eventWindow(jsm, "events.x.b", { last: 100 });
    expect(w).toEqual({ start: { seq: 1 }, count: seqs.b!.length, lastSeq: 50 });
  });

  it("counts from a time, and takes the last N of what follows it", async () => {
    const since = await eventWindow(jsm, "events.x.a", { from: { time: midTime } });
    expect(since.count).toBe(seqs.a!.filter((s) => s > 25).length);
    const lastTwo = await eventWindow(jsm, "events.x.b", { from: { time: midTime }, last: 1 });
    expect(lastTwo.start).toEqual({ seq: seqs.b!.at(-1) });
  });

  it("puts an empty window where new events will arrive", async () => {
    const w = await eventWindow(jsm, "events.y.>", { last: 10 });
    expect(w).toEqual({ start: { seq: 51 }, count: 0, lastSeq: 50 });
  });

  it("leaves no consumer behind", async () => {
    await countFrom(jsm, "events.x.a", { seq: 1 });
    await new Promise((r) => setTimeout(r, 100));
    expect((await jsm.streams.info(EVENTS_STREAM)).state.consumer_count).toBe(0);
  });
});

describe("readEvents", () => {
  it("reads a bounded window in order and stops at its end", async () => {
    const w = await eventWindow(jsm, "events.x.b", { last: 3 });
    const got: number[] = [];
    const n = await readEvents(
      nc,
      defaultRegistry(),
      { filter: "events.x.b", start: w.start, endSeq: w.lastSeq, signal: new AbortController().signal, timeout: 5000 },
      (e) => got.push(e.seq),
    );
    expect(n).toBe(3);
    expect(got).toEqual(seqs.b!.slice(-3));
    await new Promise((r) => setTimeout(r, 100));
    expect((await jsm.streams.info(EVENTS_STREAM)).state.consumer_count).toBe(0);
  });
});
