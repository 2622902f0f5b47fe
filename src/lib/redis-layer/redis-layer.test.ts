// The Redis layer from what each node says of itself: roles, slots, replicas' primaries by name, and
// the problems `gs status --check` counts.
import { describe, expect, it } from "vitest";
import { parseClusterNodes } from "./cluster-nodes.js";
import { buildRedisLayer } from "./redis-layer.js";

// CLUSTER NODES as a 3+3 cluster prints it (ids shortened), from the point of view of `me`
const NODES = [
  "a1 127.0.0.1:7001@17001 master - 0 0 1 connected 0-5460",
  "a2 127.0.0.1:7002@17002 master - 0 0 2 connected 5461-10922",
  "a3 127.0.0.1:7003@17003 master - 0 0 3 connected 10923-16383",
  "b1 127.0.0.1:7004@17004 slave a1 0 0 1 connected",
  "b2 127.0.0.1:7005@17005 slave a2 0 0 2 connected",
  "b3 127.0.0.1:7006@17006 slave a3 0 0 3 connected",
];
const asSeenBy = (me: string, failed: string[] = []) =>
  parseClusterNodes(
    NODES.map((l) => {
      const id = l.split(" ")[0]!;
      let out = id === me ? l.replace(/ (master|slave) /, " myself,$1 ") : l;
      if (failed.includes(id)) out = out.replace(/ (master|slave) /, " $1,fail ");
      return out;
    }).join("\n"),
  );
const ports = [7001, 7002, 7003, 7004, 7005, 7006];
const ids = ["a1", "a2", "a3", "b1", "b2", "b3"];
const report = (i: number, opts: { down?: boolean; linkDown?: boolean; failed?: string[] } = {}) => ({
  node: { name: `redis${i + 1}`, port: ports[i]! },
  ...(opts.down
    ? {}
    : {
        lines: asSeenBy(ids[i]!, opts.failed),
        clusterState: opts.failed?.length ? "fail" : "ok",
        replication: new Map([["master_link_status", opts.linkDown ? "down" : "up"]]),
        keys: 3,
        memBytes: 2_000_000,
      }),
});

describe("the Redis layer", () => {
  it("names each node's role, its slots and a replica's primary", () => {
    const layer = buildRedisLayer(ports.map((_, i) => report(i)));
    expect(layer.clusterState).toBe("ok");
    expect(layer.problems).toEqual([]);
    expect(layer.nodes.map((n) => [n.name, n.role, n.primary, n.slots])).toEqual([
      ["redis1", "primary", null, 5461],
      ["redis2", "primary", null, 5462],
      ["redis3", "primary", null, 5461],
      ["redis4", "replica", "redis1", 0],
      ["redis5", "replica", "redis2", 0],
      ["redis6", "replica", "redis3", 0],
    ]);
    expect(layer.nodes[1]!.slotRanges).toEqual(["5461-10922"]);
    expect(layer.nodes[3]!.inSync).toBe(true);
  });

  it("reports a node down, the slots left without a primary, the cluster state and a replica out of sync", () => {
    const layer = buildRedisLayer(
      ports.map((_, i) => (i === 0 ? report(i, { down: true }) : report(i, { failed: ["a1"], linkDown: i === 3 }))),
    );
    expect(layer.nodes[0]).toMatchObject({ state: "down", role: null, keys: null });
    expect(layer.clusterState).toBe("fail");
    expect(layer.problems.map((p) => p.kind).sort()).toEqual(["cluster-state", "node-down", "replica-link", "slots"]);
    expect(layer.problems.find((p) => p.kind === "slots")?.message).toBe(
      "5461 of 16384 Redis slots have no primary up",
    );
  });
});
