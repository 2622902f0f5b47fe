import { describe, expect, it } from "vitest";
import type { SpanRecord } from "@gs/fleet/sdk/trace";
import { spanTree, treeEnd, walk } from "./span-tree.js";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const T0 = 1_700_000_000_000;

/** A span of TRACE starting `at` ms after T0. */
function span(id: string, parent: string, at: number, ms: number, more: Partial<SpanRecord> = {}): SpanRecord {
  return {
    trace_id: TRACE,
    span_id: id.padStart(16, "0"),
    parent_id: parent ? parent.padStart(16, "0") : "",
    kind: "server",
    service: "svc",
    instance: "i1",
    version: "1",
    subject: `svc.${id}`,
    start_unix_ms: T0 + at,
    duration_ms: ms,
    status: "ok",
    ...more,
  };
}

const root = span("a", "", 0, 50, { kind: "client", service: "gs" });

describe("span tree", () => {
  it("puts each span under its parent, children by start time, offsets from the root's start", () => {
    const spans = [span("d", "b", 12, 3), span("b", "a", 1, 40), span("c", "b", 5, 4)];
    const tree = spanTree(root, spans);
    expect([...walk(tree)].map(({ node, depth }) => [node.span_id.slice(-1), depth, node.offset_ms])).toEqual([
      ["a", 0, 0],
      ["b", 1, 1],
      ["c", 2, 5],
      ["d", 2, 12],
    ]);
    expect(tree.children[0]!.orphan).toBeUndefined();
  });

  it("hangs a span whose parent never reported under the root, marked", () => {
    const tree = spanTree(root, [span("b", "a", 1, 10), span("x", "f", 20, 2)]);
    expect(tree.children.map((c) => [c.span_id.slice(-1), c.orphan])).toEqual([
      ["b", undefined],
      ["x", true],
    ]);
  });

  it("counts a span reported twice once, and ignores spans of other traces", () => {
    const b = span("b", "a", 1, 10);
    const other = { ...span("c", "a", 2, 1), trace_id: "f".repeat(32) };
    const tree = spanTree(root, [b, { ...b }, other]);
    expect([...walk(tree)]).toHaveLength(2);
  });

  it("never builds a cycle from ids that point at each other", () => {
    const tree = spanTree(root, [span("b", "c", 1, 1), span("c", "b", 2, 1)]);
    expect(tree.children.map((c) => c.orphan)).toEqual([true, true]);
    expect([...walk(tree)]).toHaveLength(3);
  });

  it("ends where the last span of the tree ends, which may be after the root", () => {
    expect(treeEnd(spanTree(root, [span("b", "a", 1, 10)]))).toBe(50);
    expect(treeEnd(spanTree(root, [span("b", "a", 45, 30.5)]))).toBe(75.5);
  });
});
