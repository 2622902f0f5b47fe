// W3C traceparent: parsing and formatting, and propagation through real services on a real nats-server
// (environmental-narrative calling world-state, time-manager and weather-manager, in-process).
import type { Msg, Subscription } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../test-support/harness.js";
import narrative from "../environmental-narrative/service.js";
import timeManager from "../time-manager/service.js";
import weatherManager from "../weather-manager/service.js";
import worldState from "../world-state/service.js";
import type { RunningService } from "./runtime.js";
import {
  formatTraceparent,
  newSpanId,
  newTraceId,
  parseTraceparent,
  TRACEPARENT_HEADER,
  trackingAsyncContext,
  tracingEnabled,
  type SpanRecord,
} from "./trace.js";

const T = "4bf92f3577b34da6a3ce929d0e0e4736";
const P = "00f067aa0ba902b7";

describe("traceparent", () => {
  it("parses version 00 into trace id, parent id and flags", () => {
    expect(parseTraceparent(`00-${T}-${P}-01`)).toEqual({ traceId: T, parentId: P, flags: 1 });
    expect(parseTraceparent(`00-${T}-${P}-00`)).toEqual({ traceId: T, parentId: P, flags: 0 });
    expect(parseTraceparent(`00-${T}-${P}-03`)?.flags).toBe(3);
  });

  it("refuses what W3C calls invalid: wrong lengths, upper case, all-zero ids, version ff, extra fields on 00", () => {
    for (const bad of [
      "",
      "00",
      `00-${T}-${P}`,
      `00-${T.slice(1)}-${P}-01`,
      `00-${T}-${P}0-01`,
      `00-${T.toUpperCase()}-${P}-01`,
      `00-${"0".repeat(32)}-${P}-01`,
      `00-${T}-${"0".repeat(16)}-01`,
      `ff-${T}-${P}-01`,
      `00-${T}-${P}-01-extra`,
      `00_${T}_${P}_01`,
      ` 00-${T}-${P}-01`,
    ])
      expect(parseTraceparent(bad), bad).toBeUndefined();
  });

  it("reads a later version's first four fields and ignores what it appends", () => {
    expect(parseTraceparent(`01-${T}-${P}-01-what-comes-next`)).toEqual({ traceId: T, parentId: P, flags: 1 });
  });

  it("formats version 00 with two hex digits of flags, and round-trips", () => {
    expect(formatTraceparent(T, P, 1)).toBe(`00-${T}-${P}-01`);
    expect(formatTraceparent(T, P, 0xa3)).toBe(`00-${T}-${P}-a3`);
    expect(parseTraceparent(formatTraceparent(T, P, 0))).toEqual({ traceId: T, parentId: P, flags: 0 });
  });

  it("makes random ids of 16 and 8 bytes, never all zero, never the same twice", () => {
    const traces = new Set(Array.from({ length: 5000 }, newTraceId));
    const spans = new Set(Array.from({ length: 5000 }, newSpanId));
    expect(traces.size).toBe(5000);
    expect(spans.size).toBe(5000);
    for (const t of traces) expect(t).toMatch(/^[0-9a-f]{32}$/);
    for (const s of spans) expect(s).toMatch(/^[0-9a-f]{16}$/);
  });

  it("is on unless GS_TRACING=0", () => {
    expect(tracingEnabled({})).toBe(true);
    expect(tracingEnabled({ GS_TRACING: "1" })).toBe(true);
    expect(tracingEnabled({ GS_TRACING: "0" })).toBe(false);
  });
});

/** A listener beside the services' queue group: sees the traceparent of every request to `subject`. */
function watch(h: Harness, subject: string): { seen: string[]; sub: Subscription } {
  const seen: string[] = [];
  const sub = h.nc.subscribe(subject, {
    callback: (_e, m: Msg) => void seen.push(m.headers?.get(TRACEPARENT_HEADER) ?? ""),
  });
  return { seen, sub };
}

describe("trace propagation through services", () => {
  let h: Harness;
  const spans: SpanRecord[] = [];
  const subs: Subscription[] = [];
  const calls = ["world-state.query-region", "time-manager.get-time", "weather-manager.get-weather"];
  const seen: Record<string, string[]> = {};
  let services: RunningService[] = [];

  beforeAll(async () => {
    h = await startHarness();
    services = [
      await h.start(worldState),
      await h.start(timeManager),
      await h.start(weatherManager),
      await h.start(narrative),
    ];
    await h.call("world-state.define-region", {
      region: {
        regionId: "elder",
        name: "Elderwood",
        biome: "forest",
        min: { x: 0, y: 0, z: 0 },
        max: { x: 9, y: 9, z: 9 },
      },
    });
    subs.push(h.nc.subscribe("gs.trace.>", { callback: (_e, m) => void spans.push(m.json<SpanRecord>()) }));
    for (const c of calls) {
      const w = watch(h, c);
      seen[c] = w.seen;
      subs.push(w.sub);
    }
    await h.nc.flush();
  });
  afterAll(async () => {
    for (const s of subs) s.unsubscribe();
    await h?.stop();
  });

  const reset = () => {
    spans.length = 0;
    for (const c of calls) seen[c]!.length = 0;
  };
  const describeWith = async (traceparent?: string) => {
    await h.client.call(
      "environmental-narrative.describe",
      { regionId: "elder", locale: "en" },
      {
        headers: traceparent ? { [TRACEPARENT_HEADER]: traceparent } : {},
      },
    );
  };
  /** wait until `n` spans came, or `ms` passed (spans follow the replies) */
  const spansFor = async (n: number, ms = 3000) => {
    const until = Date.now() + ms;
    while (spans.length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    await h.nc.flush();
    return spans;
  };
  const quiet = async () => {
    // a span published after the reply would be on the wire by now: a round trip through each service's connection
    for (const s of services) await s.ctx.nc.flush();
    await h.nc.flush();
  };

  it("starts a trace when none came in: every call of the hop carries it, unsampled, with the hop as parent", async () => {
    reset();
    await describeWith();
    await quiet();
    const got = calls.map((c) => parseTraceparent(seen[c]![0]));
    for (const [i, tp] of got.entries()) expect(tp, calls[i]).toBeDefined();
    expect(new Set(got.map((t) => t!.traceId)).size).toBe(1);
    expect(new Set(got.map((t) => t!.parentId)).size).toBe(1);
    expect(got.every((t) => t!.flags === 0)).toBe(true);
    expect(spans).toEqual([]);
    // the hop went by the handler's call context: no async context tracking, which costs every promise
    expect(trackingAsyncContext()).toBe(false);
  });

  it("continues an unsampled trace with a new parent id and reports no span", async () => {
    reset();
    await describeWith(`00-${T}-${P}-00`);
    await quiet();
    for (const c of calls) {
      const tp = parseTraceparent(seen[c]![0])!;
      expect(tp.traceId, c).toBe(T);
      expect(tp.parentId, c).not.toBe(P);
      expect(tp.flags, c).toBe(0);
    }
    expect(spans).toEqual([]);
  });

  it("reports a span per hop, call and publish of a sampled trace, linked parent to child", async () => {
    reset();
    const trace = newTraceId();
    const root = newSpanId();
    const before = Date.now();
    await describeWith(formatTraceparent(trace, root, 1));
    // describe's server span, 3 client spans and their 3 server spans, the event's producer span
    const got = await spansFor(8);
    expect(got.every((s) => s.trace_id === trace)).toBe(true);
    const server = got.find((s) => s.kind === "server" && s.subject === "environmental-narrative.describe")!;
    expect(server).toMatchObject({ parent_id: root, service: "environmental-narrative", status: "ok" });
    expect(server.instance).toBe(services[3]!.id);
    for (const c of calls) {
      const client = got.find((s) => s.kind === "client" && s.subject === c)!;
      expect(client, c).toMatchObject({ parent_id: server.span_id, service: "environmental-narrative" });
      const callee = got.find((s) => s.kind === "server" && s.subject === c)!;
      expect(callee, c).toMatchObject({ parent_id: client.span_id, service: c.split(".")[0], status: "ok" });
      // the header the callee got names the client span as its parent
      expect(parseTraceparent(seen[c]![0])).toEqual({ traceId: trace, parentId: client.span_id, flags: 1 });
      // times nest: the callee's work lies within the call, the call within describe
      expect(callee.start_unix_ms).toBeGreaterThanOrEqual(client.start_unix_ms);
      expect(callee.start_unix_ms + callee.duration_ms).toBeLessThanOrEqual(client.start_unix_ms + client.duration_ms);
      expect(client.start_unix_ms).toBeGreaterThanOrEqual(server.start_unix_ms);
      expect(client.start_unix_ms + client.duration_ms).toBeLessThanOrEqual(server.start_unix_ms + server.duration_ms);
    }
    expect(server.start_unix_ms).toBeGreaterThanOrEqual(before - 5);
    // a sampled hop turns async context tracking on (for a while), so its publishes are traced without code
    expect(trackingAsyncContext()).toBe(true);
    const event = got.find((s) => s.kind === "producer")!;
    expect(event).toMatchObject({
      subject: "events.environmental-narrative.region-described",
      parent_id: server.span_id,
    });
    expect(got).toHaveLength(8);
    // the stored event carries the trace too
    const jsm = await jetstreamManager(h.nc);
    const stored = await jsm.streams.getMessage("EVENTS", { last_by_subj: event.subject });
    expect(parseTraceparent(stored!.header.get(TRACEPARENT_HEADER))).toEqual({
      traceId: trace,
      parentId: event.span_id,
      flags: 1,
    });
  });

  it("reports error replies with their code, on both sides of the call", async () => {
    reset();
    const trace = newTraceId();
    await expect(
      h.client.call(
        "environmental-narrative.describe",
        { regionId: "nowhere", locale: "en" },
        {
          headers: { [TRACEPARENT_HEADER]: formatTraceparent(trace, newSpanId(), 1) },
        },
      ),
    ).rejects.toMatchObject({ code: 404 });
    const got = await spansFor(2);
    await quiet();
    const byKind = (kind: string, subject: string) => got.find((s) => s.kind === kind && s.subject === subject);
    expect(byKind("server", "world-state.query-region")).toMatchObject({ status: "error", error: { code: 404 } });
    expect(byKind("client", "world-state.query-region")).toMatchObject({ status: "error", error: { code: 404 } });
    expect(byKind("server", "environmental-narrative.describe")).toMatchObject({
      status: "error",
      error: { code: 404, message: expect.stringContaining("nowhere") },
    });
  });

  it("keeps concurrent traces apart", async () => {
    reset();
    const traces = Array.from({ length: 6 }, newTraceId);
    await Promise.all(traces.map((t) => describeWith(formatTraceparent(t, newSpanId(), 1))));
    const got = await spansFor(48);
    expect(got).toHaveLength(48);
    for (const t of traces) {
      const mine = got.filter((s) => s.trace_id === t);
      expect(mine).toHaveLength(8);
      const ids = new Set(mine.map((s) => s.span_id));
      const root = mine.find((s) => s.subject === "environmental-narrative.describe" && s.kind === "server")!;
      // every span but the root hangs off a span of its own trace
      for (const s of mine) if (s !== root) expect(ids.has(s.parent_id), `${s.kind} ${s.subject}`).toBe(true);
    }
  });
});
