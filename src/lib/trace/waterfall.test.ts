import { describe, expect, it } from "vitest";
import type { SpanRecord } from "@gs/fleet/sdk/trace";
import { spanTree } from "./span-tree.js";
import { barOf, waterfallLines, waterfallRows, type WaterfallRow } from "./waterfall.js";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const T0 = 1_700_000_000_000;

function span(
  id: string,
  parent: string,
  kind: SpanRecord["kind"],
  subject: string,
  at: number,
  ms: number,
  more: Partial<SpanRecord> = {},
): SpanRecord {
  return {
    trace_id: TRACE,
    span_id: id.padStart(16, "0"),
    parent_id: parent ? parent.padStart(16, "0") : "",
    kind,
    service: subject.split(".")[0]!,
    instance: `${subject.split(".")[0]}-instance-id`,
    version: "1",
    subject,
    start_unix_ms: T0 + at,
    duration_ms: ms,
    status: "ok",
    ...more,
  };
}

// gs -> narrative.describe, which calls world-state (answered), weather (nobody answered) and publishes an event
const root = span("1", "", "client", "narrative.describe", 0, 20, { service: "gs", instance: "host" });
const spans = [
  span("2", "1", "server", "narrative.describe", 1, 18),
  span("3", "2", "client", "world-state.query-region", 2, 6),
  span("4", "3", "server", "world-state.query-region", 3, 4),
  span("5", "2", "client", "weather.get-weather", 9, 8, {
    service: "narrative",
    status: "error",
    error: { code: 503, message: "no service answers weather.get-weather" },
  }),
  span("6", "2", "producer", "events.narrative.described", 17, 1, { service: "narrative" }),
];

describe("waterfall rows", () => {
  const rows = waterfallRows(spanTree(root, spans));

  it("shows a call and the hop that served it as one row: the callee's work inside the caller's wait", () => {
    expect(rows.map((r) => [r.depth, r.kind, r.subject, r.service])).toEqual([
      [0, "call", "narrative.describe", "narrative"],
      [1, "call", "world-state.query-region", "world-state"],
      [1, "call", "weather.get-weather", "narrative"],
      [1, "publish", "events.narrative.described", "narrative"],
    ]);
    expect(rows[1]).toMatchObject({ offset_ms: 3, duration_ms: 4, wait: { offset_ms: 2, duration_ms: 6 } });
  });

  it("keeps a call nobody answered as the caller's span, with its error", () => {
    expect(rows[2]).toMatchObject({ status: "error", error: { code: 503 }, duration_ms: 8 });
    expect(rows[2]!.wait).toBeUndefined();
  });

  it("prints plain lines: offset, duration (the wait when longer), the subject by depth, who, status", () => {
    const lines = waterfallLines(
      { trace_id: TRACE, subject: "narrative.describe", duration_ms: 20, span_count: 5 },
      rows,
    );
    expect(lines[0]).toBe(`trace ${TRACE}  narrative.describe  20ms  5 spans`);
    expect(lines[1]).toMatch(/^\s*\+1\.00ms\s+18ms \(20ms\)\s+narrative\.describe\s+narrative narrativ\s+ok$/);
    expect(lines[2]).toMatch(
      /^\s*\+3\.00ms\s+4\.00ms \(6\.00ms\)\s{4}world-state\.query-region\s+world-state world-st\s+ok$/,
    );
    expect(lines[3]).toMatch(/weather\.get-weather .* error 503: no service answers weather\.get-weather$/);
    expect(lines[4]).toMatch(/^\s*\+17ms\s+1\.00ms\s{4}publish events\.narrative\.described/);
  });
});

describe("bars", () => {
  const row = (offset: number, ms: number, wait?: [number, number]): WaterfallRow => ({
    depth: 0,
    subject: "s",
    kind: "call",
    service: "x",
    instance: "i",
    offset_ms: offset,
    duration_ms: ms,
    ...(wait ? { wait: { offset_ms: wait[0], duration_ms: wait[1] } } : {}),
    status: "ok",
    orphan: false,
  });

  it("places a span in proportion to the total time", () => {
    expect(barOf(row(25, 50), 100, 40)).toEqual({ lead: 10, before: 0, body: 20, after: 0 });
  });

  it("draws the caller's wait around the served part", () => {
    expect(barOf(row(30, 20, [20, 40]), 100, 40)).toEqual({ lead: 8, before: 4, body: 8, after: 4 });
  });

  it("gives the shortest span one column, also at the very end", () => {
    expect(barOf(row(50, 0.01), 100, 40)).toMatchObject({ lead: 20, body: 1 });
    expect(barOf(row(100, 0), 100, 40)).toMatchObject({ lead: 39, body: 1, after: 0 });
  });

  it("never draws past the width", () => {
    for (const r of [row(0, 100), row(90, 30), row(99.9, 0.2, [99, 5]), row(0, 0)]) {
      const b = barOf(r, 100, 40);
      expect(b.lead + b.before + b.body + b.after, JSON.stringify(r)).toBeLessThanOrEqual(40);
      expect(b.body).toBeGreaterThanOrEqual(1);
    }
  });
});
