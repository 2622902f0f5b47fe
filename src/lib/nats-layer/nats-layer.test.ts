// The NATS layer from the servers' reports: who is up or down, which stream has its replicas and a
// leader, which consumer is behind, and what `--check` counts. Reports shaped as nats-server 2.9
// sends them (see server-report.ts); no network here (read-layer.test.ts reads real servers).
import { describe, expect, it } from "vitest";
import { buildNatsLayer, type BuildOptions } from "./nats-layer.js";
import { layerReport, layerSummary } from "./layer-text.js";
import type { RawConsumer, RawPeer, RawStream, ServerReport } from "./server-report.js";

const S = 1e9;
const peer = (name: string, over: Partial<RawPeer> = {}): RawPeer => ({
  name,
  current: true,
  active: 0.3 * S,
  ...over,
});

function stream(name: string, leader: string, replicas: RawPeer[], over: Partial<RawStream> = {}): RawStream {
  return {
    name,
    cluster: { name: "gs", leader, replicas },
    config: { num_replicas: replicas.length + 1 },
    state: { messages: 10, bytes: 2048 },
    ...over,
  };
}

const consumer = (name: string, pending: number, leader?: string): RawConsumer => ({
  name,
  num_pending: pending,
  num_ack_pending: 1,
  num_redelivered: 0,
  ...(leader ? { cluster: { leader } } : {}),
});

function server(name: string, streams: RawStream[], meta?: { leader: string; replicas?: RawPeer[] }): ServerReport {
  return {
    name,
    id: `ID-${name}`,
    version: "2.9.10",
    connections: 4,
    cpu: 1.5,
    memBytes: 20 * 1024 * 1024,
    slowConsumers: 0,
    uptime: "1m",
    systemAccount: "SYS",
    jsz: {
      ...(meta ? { meta_cluster: { name: "gs", cluster_size: 3, ...meta } } : {}),
      account_details: [
        { name: "$G", stream_detail: streams },
        { name: "SYS", stream_detail: [stream("SYS_ONLY", name, [])] },
      ],
    },
  };
}

const build = (o: Partial<BuildOptions> & Pick<BuildOptions, "reports">) =>
  buildNatsLayer({ source: "system-account", complete: true, maxConsumerPending: 100, ...o });

/** A healthy 3-node cluster: node1 leads the meta group and EVENTS, node2 leads the KV bucket. */
function cluster(): ServerReport[] {
  const events = (view: string) =>
    stream(
      "EVENTS",
      "node1",
      view === "node1" ? [peer("node2"), peer("node3")] : [peer("node1", { current: false, active: 0 })],
      { config: { num_replicas: 3 }, consumer_detail: [consumer("orders", view === "node1" ? 5 : 999, "node1")] },
    );
  const kv = (view: string) =>
    stream("KV_gs_payment", "node2", view === "node2" ? [peer("node1"), peer("node3")] : [peer("node2")], {
      config: { num_replicas: 3 },
    });
  return ["node1", "node2", "node3"].map((n) =>
    server(
      n,
      [events(n), kv(n)],
      n === "node1" ? { leader: "node1", replicas: [peer("node2"), peer("node3")] } : { leader: "node1" },
    ),
  );
}

describe("the NATS layer", () => {
  it("shows each server, the meta leader, and every stream with the leader's view of its replicas", () => {
    const layer = build({ reports: cluster(), expected: ["node1", "node2", "node3"] });
    expect(layer.servers.map((s) => [s.name, s.state, s.version, s.connections])).toEqual([
      ["node1", "up", "2.9.10", 4],
      ["node2", "up", "2.9.10", 4],
      ["node3", "up", "2.9.10", 4],
    ]);
    expect(layer.jetstream).toEqual({ clustered: true, metaLeader: "node1", clusterSize: 3 });
    // streams first, then KV buckets; the system account's streams are not the fleet's
    expect(layer.streams.map((s) => [s.kind, s.name, s.bucket, s.leader, s.replicas])).toEqual([
      ["stream", "EVENTS", null, "node1", { expected: 3, current: 3, behind: [] }],
      ["kv", "KV_gs_payment", "gs_payment", "node2", { expected: 3, current: 3, behind: [] }],
    ]);
    // the consumer's counts from its own leader, not a follower's stale view
    expect(layer.streams[0]!.consumers).toEqual([{ name: "orders", pending: 5, ackPending: 1, redelivered: 0 }]);
    expect(layer.problems).toEqual([]);
    expect(layerSummary(layer)).toBe(
      "3/3 servers up · JetStream meta leader node1 (3 nodes) · 1 stream, 1 KV bucket · system account",
    );
  });

  it("reports a server that should answer and does not as down, and its streams as short of a replica once the leader stops hearing it", () => {
    const reports = cluster().filter((r) => r.name !== "node3");
    const events = reports[0]!.jsz!.account_details![0]!.stream_detail![0]!;
    events.cluster!.replicas = [peer("node2"), peer("node3", { current: false, active: 17 * S })];
    const layer = build({ reports, expected: ["node1", "node2", "node3"] });
    expect(layer.servers.find((s) => s.name === "node3")).toMatchObject({ state: "down", id: null, version: null });
    expect(layer.streams[0]!.replicas).toEqual({ expected: 3, current: 2, behind: ["node3"] });
    expect(layer.problems.map((p) => [p.kind, p.subject, p.message])).toEqual([
      ["server-down", "node3", "server node3 is down"],
      ["replicas", "stream EVENTS", "stream EVENTS: 2/3 replicas current (node3 behind)"],
    ]);
  });

  it("counts a follower a write behind, heard a moment ago, as a current replica", () => {
    const reports = cluster();
    reports[1]!.jsz!.account_details![0]!.stream_detail![1]!.cluster!.replicas = [
      peer("node1", { current: false, lag: 1, active: 0.2 * S }),
      peer("node3"),
    ];
    expect(build({ reports }).streams[1]!.replicas).toEqual({ expected: 3, current: 3, behind: [] });
  });

  it("says a stream has no leader when the server named as its leader does not answer", () => {
    const reports = cluster().filter((r) => r.name !== "node2");
    const layer = build({ reports });
    const kv = layer.streams.find((s) => s.kind === "kv")!;
    expect(kv).toMatchObject({ leader: null, replicas: { expected: 3, current: 0 } });
    expect(layer.problems.map((p) => p.message)).toContain(
      "KV gs_payment has no leader (node2, named as its leader, does not answer)",
    );
  });

  it("counts a stream's replicas from the servers that hold it when its leader is up but its JetStream report did not come", () => {
    const reports = cluster();
    delete reports[1]!.jsz;
    const layer = build({ reports });
    expect(layer.streams[1]).toMatchObject({ leader: "node2", replicas: { expected: 3, current: 3 } });
    expect(layer.problems).toEqual([]);
    expect(layer.notes).toEqual(["no JetStream report from node2"]);
  });

  it("believes the leader most servers name when a restarted node still claims a lead it lost", () => {
    const reports = cluster();
    // node3 just came back and still thinks it leads the bucket, listing itself among the peers
    reports[2]!.jsz!.account_details![0]!.stream_detail![1] = stream(
      "KV_gs_payment",
      "node3",
      [peer("node1"), peer("node2"), peer("node3")],
      { config: { num_replicas: 3 } },
    );
    const kv = build({ reports }).streams[1]!;
    expect(kv.leader).toBe("node2");
    expect(kv.replicas.current).toBe(3);
  });

  it("counts a consumer with more pending than gs.yaml allows as a problem, and only then", () => {
    const reports = cluster();
    expect(build({ reports, maxConsumerPending: 5 }).problems).toEqual([]);
    expect(build({ reports, maxConsumerPending: 4 }).problems).toEqual([
      {
        kind: "consumer-pending",
        subject: "EVENTS/orders",
        message: "consumer orders of stream EVENTS: 5 messages pending (more than 4)",
      },
    ]);
  });

  it("through monitoring endpoints, a silent server is unknown unless the meta group no longer hears it", () => {
    const reports = cluster().filter((r) => r.name !== "node3");
    const monitoring = { source: "monitoring" as const, complete: false, expected: ["node1", "node2", "node3"] };
    expect(build({ reports, ...monitoring }).servers.find((s) => s.name === "node3")!.state).toBe("unknown");
    expect(build({ reports, ...monitoring }).problems).toEqual([]);
    reports[0]!.jsz!.meta_cluster!.replicas = [peer("node2"), peer("node3", { current: false, active: 30 * S })];
    expect(build({ reports, ...monitoring }).problems.map((p) => p.message)).toEqual(["server node3 is down"]);
  });

  it("reports a cluster without a meta leader", () => {
    const reports = cluster().filter((r) => r.name !== "node1");
    const layer = build({ reports, maxConsumerPending: 10_000 });
    expect(layer.jetstream).toMatchObject({ clustered: true, metaLeader: null });
    expect(layer.problems.map((p) => p.kind)).toEqual(["server-down", "no-meta-leader", "no-leader"]);
  });

  it("reads a standalone server: no meta group, its streams led by itself", () => {
    const single = server("node1", [
      stream("EVENTS", "node1", []),
      { ...stream("KV_gs_auth", "node1", []), cluster: { leader: "node1" } },
    ]);
    const layer = build({ reports: [single], expected: ["node1"] });
    expect(layer.jetstream).toEqual({ clustered: false, metaLeader: null, clusterSize: null });
    expect(layer.streams.map((s) => [s.name, s.replicas.current, s.replicas.expected, s.leader])).toEqual([
      ["EVENTS", 1, 1, "node1"],
      ["KV_gs_auth", 1, 1, "node1"],
    ]);
    expect(layer.problems).toEqual([]);
  });

  it("has no JetStream section when no server reported JetStream", () => {
    const r = server("node1", []);
    delete r.jsz;
    expect(build({ reports: [r] }).jetstream).toBeNull();
  });

  it("prints tables for stdout and one line per problem and note for stderr", () => {
    const reports = cluster().filter((r) => r.name !== "node3");
    const text = layerReport(build({ reports, expected: ["node1", "node2", "node3"], notes: ["a note"] }));
    expect(text.tables.split("\n")).toEqual([
      "SERVER  STATE  VERSION  CONNS  CPU    MEM  SLOW  UPTIME",
      "node1   up     2.9.10       4   2%  20MiB     0  1m",
      "node2   up     2.9.10       4   2%  20MiB     0  1m",
      "node3   down   -            -    -      -     -  -",
      "",
      "STREAM         REPLICAS  LEADER  MSGS  BYTES  CONSUMERS  PENDING  ACK PENDING",
      "stream EVENTS  3/3       node1     10   2KiB          1        5            1",
      "KV gs_payment  3/3       node2     10   2KiB          0        0            0",
    ]);
    expect(text.lines).toEqual([
      "NATS: 2/3 servers up · JetStream meta leader node1 (3 nodes) · 1 stream, 1 KV bucket · system account",
      "NATS: server node3 is down",
      "NATS layer: a note",
    ]);
  });
});
