// `gs status --watch` with the NATS layer: its place in each --json document, `--check`, and the
// lines printed when a problem appears or clears. From fixtures, no network.
import { describe, expect, it } from "vitest";
import { buildSnapshot } from "./fleet-snapshot.js";
import { ChangeLog, snapshotUnhealthy, toWatchJson } from "./watch-output.js";
import { healthyFleet, NOW } from "../../../test/support/fleet-fixtures.js";
import { healthyLayer, nodeDownLayer, withLayer } from "../../../test/support/nats-layer-fixtures.js";

describe("the NATS layer in --watch", () => {
  it("puts the layer in each document's `nats`, beside the connection's server and state, with its freshness in `sources`", () => {
    const doc = toWatchJson(buildSnapshot(withLayer(healthyFleet(), nodeDownLayer(), 700), NOW));
    expect(doc.nats).toMatchObject({
      server: "nats://127.0.0.1:4222",
      down: false,
      source: "system-account",
      jetstream: { clustered: true, metaLeader: "node1", clusterSize: 3 },
    });
    expect(doc.nats.servers.map((s) => [s.name, s.state])).toEqual([
      ["node1", "up"],
      ["node2", "up"],
      ["node3", "down"],
    ]);
    expect(doc.nats.problems.map((p) => p.kind)).toEqual(["server-down", "no-leader"]);
    expect(doc.sources.natsLayer).toMatchObject({ ok: true, stale: false, ageMs: 700 });
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });

  it("keeps the shape when the layer is not read: an empty layer, no natsLayer source", () => {
    const doc = toWatchJson(buildSnapshot(healthyFleet(), NOW));
    expect(doc.nats).toEqual({
      server: "nats://127.0.0.1:4222",
      down: false,
      available: true,
      source: null,
      servers: [],
      jetstream: null,
      streams: [],
      notes: [],
      problems: [],
    });
    expect(doc.sources.natsLayer).toBeUndefined();
  });

  it("counts a problem of the NATS layer as unhealthy, and a note alone not", () => {
    expect(snapshotUnhealthy(buildSnapshot(withLayer(healthyFleet(), healthyLayer()), NOW))).toBe(false);
    expect(snapshotUnhealthy(buildSnapshot(withLayer(healthyFleet(), nodeDownLayer()), NOW))).toBe(true);
    const noted = { ...healthyLayer(), source: null, servers: [], streams: [], notes: ["system account: denied"] };
    expect(snapshotUnhealthy(buildSnapshot(withLayer(healthyFleet(), noted), NOW))).toBe(false);
  });

  it("prints a line when a problem appears and when it clears, not while it lasts", () => {
    const log = new ChangeLog();
    const at = (layer: ReturnType<typeof healthyLayer>, ms: number) =>
      log.next(buildSnapshot(withLayer(healthyFleet(), layer), NOW + ms)).map((l) => l.replace(/^\S+ /, ""));
    expect(at(healthyLayer(), 0)).toEqual(["local: 3/3 services healthy, 6/6 tasks (NATS nats://127.0.0.1:4222)"]);
    expect(at(nodeDownLayer(), 2000)).toEqual([
      "NATS: server node3 is down",
      "NATS: KV gs_payment has no leader (node3, named as its leader, does not answer)",
    ]);
    expect(at(nodeDownLayer(), 4000)).toEqual([]);
    const leaderBack = nodeDownLayer();
    leaderBack.problems = leaderBack.problems.slice(0, 1);
    expect(at(leaderBack, 6000)).toEqual([
      "NATS: cleared: KV gs_payment has no leader (node3, named as its leader, does not answer)",
    ]);
    expect(at(healthyLayer(), 8000)).toEqual(["NATS: cleared: server node3 is down"]);
  });

  it("says when the layer cannot be read any more, and why", () => {
    const log = new ChangeLog();
    log.next(buildSnapshot(withLayer(healthyFleet(), healthyLayer()), NOW));
    const unreadable = {
      ...healthyLayer(),
      source: null,
      servers: [],
      streams: [],
      jetstream: null,
      notes: ["system account: no server answered within 1500ms"],
    };
    expect(log.next(buildSnapshot(withLayer(healthyFleet(), unreadable), NOW + 2000)).map((l) => l.slice(9))).toEqual([
      "NATS layer: system account: no server answered within 1500ms",
      "NATS layer: unreadable",
    ]);
  });
});
