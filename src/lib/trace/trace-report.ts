// What `gs trace` reports: the trace's tree and its outcome (the --json contract, and what the waterfall draws).
import type { SpanRecord } from "@gs/fleet/sdk/trace";
import type { TraceRun } from "./collect-trace.js";
import { spanTree, treeEnd, type SpanNode } from "./span-tree.js";
import { waterfallRows, type TraceSummary, type WaterfallRow } from "./waterfall.js";

export interface TraceReport {
  trace_id: string;
  subject: string;
  /** the request's outcome as gs saw it */
  status: "ok" | "error";
  /** what failed (an error reply, a timeout): gs's error code and message */
  error?: { code: string; message: string };
  /** gs's wait for the reply */
  duration_ms: number;
  /** until the last span of the tree ended (work a handler left running may end after the reply) */
  end_ms: number;
  /** spans the hops reported (gs's own not counted) */
  span_count: number;
  reply?: TraceRun["reply"];
  /** gs's span, with every span of the trace under the span that caused it */
  root: SpanNode;
}

export function traceReport(run: TraceRun): TraceReport {
  const root = spanTree(run.root, run.spans);
  return {
    trace_id: run.trace_id,
    subject: run.root.subject,
    status: run.failure ? "error" : "ok",
    ...(run.failure ? { error: { code: run.failure.code, message: run.failure.message } } : {}),
    duration_ms: round(run.root.duration_ms),
    end_ms: treeEnd(root),
    span_count: countSpans(root) - 1,
    ...(run.reply ? { reply: run.reply } : {}),
    root,
  };
}

/** The waterfall of what has come so far: `root` is gs's span (its duration still growing while it waits). */
export function partialWaterfall(
  root: SpanRecord,
  spans: readonly SpanRecord[],
): { summary: TraceSummary; rows: WaterfallRow[]; total_ms: number } {
  const tree = spanTree(root, spans);
  return {
    summary: {
      trace_id: root.trace_id,
      subject: root.subject,
      duration_ms: root.duration_ms,
      span_count: countSpans(tree) - 1,
    },
    rows: waterfallRows(tree),
    total_ms: treeEnd(tree),
  };
}

function countSpans(n: SpanNode): number {
  return 1 + n.children.reduce((sum, c) => sum + countSpans(c), 0);
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;
