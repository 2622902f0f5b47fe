// The span tree as waterfall rows, for plain lines and the Ink view alike. A call and the hop that
// served it are one row (the callee's work inside the caller's wait); a call nobody answered, or a
// publish, is a row of its own.
import type { SpanNode } from "./span-tree.js";
import { formatDuration } from "../output/format.js";

export interface WaterfallRow {
  depth: number;
  /** the rpc served or called, or the event subject published */
  subject: string;
  kind: "request" | "call" | "publish";
  /** who served it (a call that was answered), or who made it (a call nobody answered, a publish) */
  service: string;
  instance: string;
  /** the served part (or the span itself): ms from the root's start, and how long */
  offset_ms: number;
  duration_ms: number;
  /** the caller's wait around the served part: the call from send to reply */
  wait?: { offset_ms: number; duration_ms: number };
  status: "ok" | "error";
  error?: { code: number; message: string };
  /** its parent did not report */
  orphan: boolean;
}

export function waterfallRows(root: SpanNode): WaterfallRow[] {
  const rows: WaterfallRow[] = [];
  const visit = (n: SpanNode, depth: number) => {
    const served = n.kind === "client" ? servedBy(n) : undefined;
    const shown = served ?? n;
    rows.push({
      depth,
      subject: n.subject,
      kind: n.kind === "producer" ? "publish" : n.kind === "client" ? "call" : "request",
      service: shown.service,
      instance: shown.instance,
      offset_ms: shown.offset_ms,
      duration_ms: shown.duration_ms,
      ...(served ? { wait: { offset_ms: n.offset_ms, duration_ms: n.duration_ms } } : {}),
      status: shown.status === "error" || n.status === "error" ? "error" : "ok",
      ...((shown.error ?? n.error) ? { error: shown.error ?? n.error } : {}),
      orphan: Boolean(n.orphan),
    });
    const children = served ? [...n.children.filter((c) => c !== served), ...served.children] : n.children;
    for (const c of children.sort((a, b) => a.start_unix_ms - b.start_unix_ms)) visit(c, depth + 1);
  };
  visit(root, 0);
  return rows;
}

/** The one hop that answered a call: a server span of the same subject right under it. */
function servedBy(call: SpanNode): SpanNode | undefined {
  const served = call.children.filter((c) => c.kind === "server" && c.subject === call.subject);
  return served.length === 1 ? served[0] : undefined;
}

/** The caller waited longer than the callee worked (the network, a queue, a slow caller): worth showing. */
export const longerWait = (r: WaterfallRow): boolean => r.wait !== undefined && r.wait.duration_ms > r.duration_ms;

/** A micro instance id, short enough for a column (ids are 22-character NUIDs). */
export const shortInstance = (id: string): string => id.slice(0, 8);

/** The status column: `ok`, or the error code and message. */
export function statusText(r: Pick<WaterfallRow, "status" | "error">): string {
  if (r.status === "ok") return "ok";
  return r.error ? `error ${r.error.code}: ${r.error.message}` : "error";
}

export interface TraceSummary {
  trace_id: string;
  subject: string;
  duration_ms: number;
  span_count: number;
}

export function headline(t: TraceSummary): string {
  return `trace ${t.trace_id}  ${t.subject}  ${formatDuration(t.duration_ms)}  ${t.span_count} span${t.span_count === 1 ? "" : "s"}`;
}

/**
 * The waterfall as plain lines: start offset, duration, the subject indented by depth, who served
 * it, and its status. A call's own wait, when longer than the work it waited for, follows in brackets.
 */
export function waterfallLines(t: TraceSummary, rows: readonly WaterfallRow[]): string[] {
  const labels = rows.map((r) => `${"  ".repeat(r.depth)}${r.kind === "publish" ? "publish " : ""}${r.subject}`);
  const who = rows.map((r) => `${r.service}${r.instance && r.service !== "gs" ? ` ${shortInstance(r.instance)}` : ""}`);
  const offsets = rows.map((r) => `+${formatDuration(r.offset_ms)}`);
  const durations = rows.map(
    (r) => formatDuration(r.duration_ms) + (longerWait(r) ? ` (${formatDuration(r.wait!.duration_ms)})` : ""),
  );
  const width = (xs: string[]) => Math.max(0, ...xs.map((x) => x.length));
  const [wo, wd, wl, ww] = [width(offsets), width(durations), width(labels), width(who)];
  return [
    headline(t),
    ...rows.map(
      (r, i) =>
        `${offsets[i]!.padStart(wo)}  ${durations[i]!.padStart(wd)}  ${labels[i]!.padEnd(wl)}  ${who[i]!.padEnd(ww)}  ${statusText(r)}${r.orphan ? "  (parent span missing)" : ""}`,
    ),
  ];
}

export interface BarSpan {
  /** columns before the bar */
  lead: number;
  /** the caller's wait before the served part starts, the served part, the wait after it */
  before: number;
  body: number;
  after: number;
}

/** Where a row's bar goes in `width` columns, with `total` ms across them; every row gets at least one column. */
export function barOf(r: WaterfallRow, total: number, width: number): BarSpan {
  const scale = width / Math.max(total, 1e-9);
  const at = (ms: number) => Math.max(0, Math.min(width, ms * scale));
  const outerStart = r.wait ? Math.min(r.wait.offset_ms, r.offset_ms) : r.offset_ms;
  const outerEnd = Math.max(r.offset_ms + r.duration_ms, r.wait ? r.wait.offset_ms + r.wait.duration_ms : 0);
  let bodyStart = Math.floor(at(r.offset_ms));
  let bodyEnd = Math.max(bodyStart + 1, Math.ceil(at(r.offset_ms + r.duration_ms)));
  if (bodyEnd > width) {
    // a short span at the very end: its one column is the last one
    bodyStart -= bodyEnd - width;
    bodyEnd = width;
  }
  const lead = Math.min(bodyStart, Math.floor(at(outerStart)));
  const tail = Math.max(bodyEnd, Math.ceil(at(outerEnd)));
  return { lead, before: bodyStart - lead, body: bodyEnd - bodyStart, after: tail - bodyEnd };
}
