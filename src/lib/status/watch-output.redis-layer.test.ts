// `gs status --watch` with a local fleet's Redis Cluster (`gs up --state redis`): its place in each
// --json document, `--check`, the lines printed as it changes, and its section in the dashboard's list
// view. From fixtures, no network.
import { stripVTControlCharacters } from "node:util";
import { describe, expect, it } from "vitest";
import type { RedisLayer, RedisNodeView } from "../redis-layer/redis-layer.js";
import { listFrame } from "../ui/fleet-lines.js";
import { theme } from "../ui/theme.js";
import { initialView } from "../ui/dashboard-keys.js";
import { buildSnapshot, type FleetData } from "./fleet-snapshot.js";
import { ChangeLog, snapshotUnhealthy, toWatchJson } from "./watch-output.js";
import { healthyFleet, NOW } from "../../../test/support/fleet-fixtures.js";

const node = (name: string, port: number, o: Partial<RedisNodeView>): RedisNodeView => ({
  name,
  address: `127.0.0.1:${port}`,
  state: "up",
  role: "primary",
  primary: null,
  slots: 0,
  slotRanges: [],
  keys: 0,
  memBytes: 1_500_000,
  inSync: null,
  ...o,
});

/** 3 primaries with a replica each, all up */
function cluster(): RedisLayer {
  return {
    clusterState: "ok",
    problems: [],
    nodes: [
      node("redis1", 7001, { slots: 5461, slotRanges: ["0-5460"], keys: 12 }),
      node("redis2", 7002, { slots: 5462, slotRanges: ["5461-10922"] }),
      node("redis3", 7003, { slots: 5461, slotRanges: ["10923-16383"] }),
      node("redis4", 7004, { role: "replica", primary: "redis1", keys: 12, inSync: true }),
      node("redis5", 7005, { role: "replica", primary: "redis2", inSync: true }),
      node("redis6", 7006, { role: "replica", primary: "redis3", inSync: true }),
    ],
  };
}

/** redis1 killed, redis4 promoted in its place */
function failedOver(): RedisLayer {
  const c = cluster();
  c.nodes[0] = node("redis1", 7001, { state: "down", role: null, keys: null, memBytes: null });
  c.nodes[3] = node("redis4", 7004, { slots: 5461, slotRanges: ["0-5460"], keys: 12 });
  c.problems = [{ kind: "node-down", subject: "redis1", message: "Redis node redis1 is down" }];
  return c;
}

const withRedis = (layer: RedisLayer | null | undefined, error?: string): FleetData => ({
  ...healthyFleet(),
  redisLayer: {
    ...(layer !== undefined ? { layer } : {}),
    source: { okAt: NOW - 300, ...(error ? { error } : {}) },
  },
});

describe("a Redis Cluster in --watch", () => {
  it("puts the cluster in each document's `redis`, as `gs status --json` has it, with its freshness in `sources`", () => {
    const doc = toWatchJson(buildSnapshot(withRedis(failedOver()), NOW));
    expect(doc.redis).toEqual(failedOver());
    expect(doc.sources.redisLayer).toMatchObject({ ok: true, stale: false, ageMs: 300 });
    // a fleet without one: null, and no source
    const none = toWatchJson(buildSnapshot(withRedis(null), NOW));
    expect([none.redis, none.sources.redisLayer]).toEqual([null, undefined]);
    expect(toWatchJson(buildSnapshot(healthyFleet(), NOW)).redis).toBeNull();
  });

  it("counts a problem of the cluster as unhealthy (--check)", () => {
    expect(snapshotUnhealthy(buildSnapshot(withRedis(cluster()), NOW))).toBe(false);
    expect(snapshotUnhealthy(buildSnapshot(withRedis(failedOver()), NOW))).toBe(true);
  });

  it("prints its summary first, then a line when a node goes down, a replica is promoted, the node comes back", () => {
    const log = new ChangeLog();
    const at = (layer: RedisLayer, ms: number) =>
      log.next(buildSnapshot(withRedis(layer), NOW + ms)).map((l) => l.replace(/^\S+ /, ""));
    expect(at(cluster(), 0)).toEqual([
      "local: 3/3 services healthy, 6/6 tasks (NATS nats://127.0.0.1:4222)",
      "Redis: 6/6 nodes up · 3 primaries, 3 replicas · cluster_state ok",
    ]);
    expect(at(failedOver(), 1000)).toEqual([
      "Redis: Redis node redis1 is down",
      "Redis: redis4 is now a primary (was replica)",
    ]);
    expect(at(failedOver(), 2000)).toEqual([]);
    const rejoined = failedOver();
    rejoined.problems = [];
    rejoined.nodes[0] = node("redis1", 7001, { role: "replica", primary: "redis4", keys: 12, inSync: true });
    expect(at(rejoined, 3000)).toEqual(["Redis: cleared: Redis node redis1 is down"]);
  });

  it("draws a Redis section under the services in the dashboard: summary, problems, nodes", () => {
    const frame = (data: FleetData, rows = 40) =>
      listFrame({
        snap: buildSnapshot(data, NOW),
        view: initialView,
        columns: 120,
        rows,
        keys: false,
        th: theme(false),
      }).map((l) => stripVTControlCharacters(l));
    const lines = frame(withRedis(failedOver()));
    const at = lines.findIndex((l) => l.startsWith("Redis"));
    expect(lines[at]).toBe("Redis  5/6 nodes up · 3 primaries, 2 replicas · cluster_state ok");
    expect(lines[at + 1]).toBe("  ✖ Redis node redis1 is down");
    expect(lines[at + 2]).toMatch(/^ {2}REDIS\s+ADDRESS\s+STATE\s+ROLE/);
    expect(lines.slice(at + 3, at + 9).map((l) => l.trim().split(/\s+/).slice(0, 3))).toEqual([
      ["redis1", "127.0.0.1:7001", "down"],
      ["redis2", "127.0.0.1:7002", "up"],
      ["redis3", "127.0.0.1:7003", "up"],
      ["redis4", "127.0.0.1:7004", "up"],
      ["redis5", "127.0.0.1:7005", "up"],
      ["redis6", "127.0.0.1:7006", "up"],
    ]);
    // a short terminal keeps the summary and the problem, and drops the table before the services
    const short = frame(withRedis(failedOver()), 16);
    expect(short.filter((l) => l.startsWith("Redis") || l.includes("✖"))).toEqual([
      "Redis  5/6 nodes up · 3 primaries, 2 replicas · cluster_state ok",
      "  ✖ Redis node redis1 is down",
    ]);
    expect(short.some((l) => /REDIS\s+ADDRESS/.test(l))).toBe(false);
    // no section for a fleet without Redis; a cluster that stopped answering says so
    expect(frame(withRedis(null)).some((l) => l.startsWith("Redis"))).toBe(false);
    expect(frame(withRedis(undefined, "no answer within 1500ms")).find((l) => l.startsWith("Redis"))).toBe(
      "Redis  not read: no answer within 1500ms",
    );
  });
});
