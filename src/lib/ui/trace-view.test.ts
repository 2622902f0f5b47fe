// The waterfall of `gs trace` on a terminal, from a fixed span tree (no network), and what the
// display writes without a terminal.
import { createElement } from "react";
import { afterEach, describe, expect, it } from "vitest";
import type { SpanRecord } from "@gs/fleet/sdk/trace";
import { spanTree, treeEnd } from "../trace/span-tree.js";
import { traceReport } from "../trace/trace-report.js";
import { waterfallRows } from "../trace/waterfall.js";
import { liveOutput } from "./live-output.js";
import { traceDisplay } from "./trace-live.js";
import { TraceView } from "./trace-view.js";
import { FakeOutput, renderFrames, type Frames } from "../../../test/support/ink-frames.js";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const T0 = 1_700_000_000_000;

function span(
  id: string,
  parent: string,
  kind: SpanRecord["kind"],
  subject: string,
  at: number,
  ms: number,
): SpanRecord {
  return {
    trace_id: TRACE,
    span_id: id.padStart(16, "0"),
    parent_id: parent ? parent.padStart(16, "0") : "",
    kind,
    service: subject.split(".")[0]!,
    instance: "Qy3Fj5Uj4KkB3pL1G9Vh2A",
    version: "1",
    subject,
    start_unix_ms: T0 + at,
    duration_ms: ms,
    status: "ok",
  };
}

// 100 ms across: describe served from 0 to 100; world-state from 0 to 50; time-manager from 50 to 100
const root = { ...span("1", "", "client", "narrative.describe", 0, 100), service: "gs" };
const spans = [
  span("2", "1", "server", "narrative.describe", 0, 100),
  span("3", "2", "client", "world-state.query-region", 0, 50),
  span("4", "3", "server", "world-state.query-region", 0, 50),
  span("5", "2", "client", "time-manager.get-time", 50, 50),
  {
    ...span("6", "5", "server", "time-manager.get-time", 50, 50),
    status: "error" as const,
    error: { code: 504, message: "too slow" },
  },
];

let open: Frames | undefined;
afterEach(() => {
  open?.unmount();
  open = undefined;
});

describe("trace waterfall on a terminal", () => {
  const tree = spanTree(root, spans);
  const show = (columns: number) => {
    open = renderFrames(
      createElement(TraceView, {
        summary: { trace_id: TRACE, subject: "narrative.describe", duration_ms: 100, span_count: 5 },
        rows: waterfallRows(tree),
        total_ms: treeEnd(tree),
        phase: "done",
        color: false,
      }),
      { columns, rows: 20 },
    );
    return open;
  };

  it("draws bars in proportion to time: the first call in the first half, the second in the second", async () => {
    const frame = await show(100).waitFor("world-state.query-region");
    const lines = frame.split("\n");
    expect(lines[0]).toBe(`trace ${TRACE}  narrative.describe  100ms  5 spans`);
    const bar = (l: string) => l.slice(l.indexOf("█"), l.lastIndexOf("█") + 1);
    const at = (prefix: string) => lines.find((l) => l.trimStart().startsWith(prefix))!;
    const whole = bar(at("narrative.describe"));
    const first = at("world-state.query-region");
    const second = at("time-manager.get-time");
    // the same columns for the whole and for the two halves together
    expect(bar(first).length + bar(second).length).toBe(whole.length);
    expect(first.indexOf("█")).toBe(at("narrative.describe").indexOf("█"));
    expect(second.indexOf("█")).toBe(first.lastIndexOf("█") + 1);
    expect(second.lastIndexOf("█")).toBe(at("narrative.describe").lastIndexOf("█"));
    // who served each, by service and short instance
    expect(first).toContain("world-state Qy3Fj5Uj");
    expect(frame).toContain("✖ time-manager.get-time (time-manager): error 504: too slow");
  });

  it("fits a narrow terminal: labels cut with an ellipsis, every line within the width", async () => {
    const frame = await show(60).waitFor("█");
    for (const l of frame.split("\n")) expect(l.length, l).toBeLessThanOrEqual(60);
    expect(frame).toMatch(/…/);
  });
});

describe("trace display without a terminal", () => {
  it("prints the waterfall as plain lines once the trace is in, nothing before", async () => {
    const out = liveOutput({ json: false, stdout: new FakeOutput({ isTTY: false }) as unknown as NodeJS.WriteStream });
    expect(out.renderer).toBe("lines");
    const printed: string[] = [];
    const display = traceDisplay(out, (l) => printed.push(l));
    display.update(root, spans, true);
    expect(printed).toEqual([]);
    await display.end(traceReport({ trace_id: TRACE, root, spans }));
    expect(printed[0]).toBe(`trace ${TRACE}  narrative.describe  100ms  5 spans`);
    expect(printed.slice(1).map((l) => l.trim().split(/\s+/)[2])).toEqual([
      "narrative.describe",
      "world-state.query-region",
      "time-manager.get-time",
    ]);
  });

  it("prints nothing under --json: the command's JSON is the output", async () => {
    const printed: string[] = [];
    const display = traceDisplay(liveOutput({ json: true }), (l) => printed.push(l));
    await display.end(traceReport({ trace_id: TRACE, root, spans }));
    expect(printed).toEqual([]);
  });
});
