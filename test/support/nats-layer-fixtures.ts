// NATS layers in known states for the dashboard's and the watch's tests: a healthy 3-node cluster
// with the fleet's streams, and the same with a node down. No network.
import type { NatsLayer, NatsStream } from "../../src/lib/nats-layer/nats-layer.js";
import type { FleetData } from "../../src/lib/status/fleet-snapshot.js";
import { NOW } from "./fleet-fixtures.js";

const NODES = ["node1", "node2", "node3"];

function kv(service: string, leader: string, current = 3, behind: string[] = []): NatsStream {
  return {
    name: `KV_gs_${service}`,
    kind: "kv",
    bucket: `gs_${service}`,
    account: "$G",
    replicas: { expected: 3, current, behind },
    leader,
    messages: 12,
    bytes: 3072,
    consumers: [],
  };
}

const events = (pending = 0): NatsStream => ({
  name: "EVENTS",
  kind: "stream",
  bucket: null,
  account: "$G",
  replicas: { expected: 3, current: 3, behind: [] },
  leader: "node1",
  messages: 1234,
  bytes: 2 * 1024 * 1024,
  consumers: [{ name: "orchestration", pending, ackPending: 0, redelivered: 0 }],
});

export function healthyLayer(): NatsLayer {
  return {
    source: "system-account",
    servers: NODES.map((name) => ({
      name,
      id: `ID-${name}`,
      version: "2.9.10",
      state: "up",
      connections: 15,
      cpu: 1,
      memBytes: 21 * 1024 * 1024,
      slowConsumers: 0,
      uptime: "5m",
    })),
    jetstream: { clustered: true, metaLeader: "node1", clusterSize: 3 },
    streams: [events(), kv("auth", "node2"), kv("payment", "node3"), kv("settings", "node1")],
    notes: [],
    problems: [],
  };
}

/** node3 killed: it does not answer, and the bucket it led has no leader yet. */
export function nodeDownLayer(): NatsLayer {
  const l = healthyLayer();
  l.servers[2] = {
    ...l.servers[2]!,
    id: null,
    version: null,
    state: "down",
    connections: null,
    cpu: null,
    memBytes: null,
    slowConsumers: null,
    uptime: null,
  };
  l.streams[2] = { ...kv("payment", "node3", 0), leader: null };
  l.problems = [
    { kind: "server-down", subject: "node3", message: "server node3 is down" },
    {
      kind: "no-leader",
      subject: "KV gs_payment",
      message: "KV gs_payment has no leader (node3, named as its leader, does not answer)",
    },
  ];
  return l;
}

/** `data` as a store that also reads the NATS layer holds it, its last read `agoMs` ago. */
export function withLayer(data: FleetData, layer: NatsLayer | undefined, agoMs = 400, error?: string): FleetData {
  return {
    ...data,
    natsLayer: { ...(layer ? { layer } : {}), source: { okAt: NOW - agoMs, ...(error ? { error } : {}) } },
  };
}
