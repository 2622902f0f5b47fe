// The spans of one trace as a tree: each span under the span that caused it, children by start time,
// times as offsets from the root's start. Spans come from different processes, in any order; one whose
// parent never reported (lost, or still running when collection stopped) hangs under the root, marked.
import type { SpanRecord } from "@gs/fleet/sdk/trace";

export interface SpanNode extends SpanRecord {
  /** ms from the root span's start */
  offset_ms: number;
  /** its parent did not report: it hangs under the root instead */
  orphan?: true;
  children: SpanNode[];
}

/** The tree under `root` (gs's own span) of every span of its trace. */
export function spanTree(root: SpanRecord, spans: readonly SpanRecord[]): SpanNode {
  const t0 = root.start_unix_ms;
  // µs are as fine as the clocks of different processes agree
  const node = (s: SpanRecord): SpanNode => ({
    ...s,
    duration_ms: round(s.duration_ms),
    offset_ms: round(s.start_unix_ms - t0),
    children: [],
  });
  const top = node(root);
  const byId = new Map<string, SpanNode>([[root.span_id, top]]);
  const nodes: SpanNode[] = [];
  for (const s of spans) {
    // a span reported twice (a retried publish) counts once
    if (s.trace_id !== root.trace_id || byId.has(s.span_id)) continue;
    const n = node(s);
    byId.set(s.span_id, n);
    nodes.push(n);
  }
  for (const n of nodes) {
    const parent = byId.get(n.parent_id);
    if (parent && parent !== n && !isAncestor(n, parent, byId)) parent.children.push(n);
    else {
      n.orphan = true;
      top.children.push(n);
    }
  }
  sortChildren(top);
  return top;
}

/** `n` is above `of` already (ids that loop): linking them would make a cycle. */
function isAncestor(n: SpanNode, of: SpanNode, byId: Map<string, SpanNode>): boolean {
  const seen = new Set<SpanNode>();
  for (let p: SpanNode | undefined = of; p && !seen.has(p); p = byId.get(p.parent_id)) {
    if (p === n) return true;
    seen.add(p);
  }
  return false;
}

function sortChildren(n: SpanNode): void {
  n.children.sort((a, b) => a.start_unix_ms - b.start_unix_ms || a.span_id.localeCompare(b.span_id));
  for (const c of n.children) sortChildren(c);
}

/** Every span of the tree, depth first. */
export function* walk(n: SpanNode, depth = 0): Generator<{ node: SpanNode; depth: number }> {
  yield { node: n, depth };
  for (const c of n.children) yield* walk(c, depth + 1);
}

/** The latest end of any span in the tree, as an offset from the root's start (ms). */
export function treeEnd(n: SpanNode): number {
  let end = 0;
  for (const { node } of walk(n)) end = Math.max(end, node.offset_ms + node.duration_ms);
  return round(end);
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;
