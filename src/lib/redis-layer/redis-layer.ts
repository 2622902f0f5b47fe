// The Redis Cluster of a local fleet (`gs up --state redis`) as `gs status` shows it: each node up or
// down, its role (primary or replica, as the node itself says), the slots it serves, its keys and
// memory, and what is wrong (what `--check` counts). Each node is asked on its own, so a dead node
// shows as down instead of hiding the others.
import { Redis } from "ioredis";
import { CLUSTER_SLOTS, infoFields, parseClusterNodes, slotCount, type ClusterNodeLine } from "./cluster-nodes.js";

export interface RedisNodeAddress {
  name: string;
  port: number;
}

export interface RedisNodeView {
  name: string;
  /** 127.0.0.1:<port> */
  address: string;
  state: "up" | "down";
  /** null when the node does not answer */
  role: "primary" | "replica" | null;
  /** a replica's primary, by name */
  primary: string | null;
  /** slots a primary serves (0 for a replica) */
  slots: number;
  /** e.g. `0-5460` */
  slotRanges: string[];
  keys: number | null;
  memBytes: number | null;
  /** a replica's link to its primary is up (in sync); null for a primary or a node down */
  inSync: boolean | null;
}

export type RedisProblemKind = "node-down" | "cluster-state" | "slots" | "replica-link";

export interface RedisProblem {
  kind: RedisProblemKind;
  /** a node's name, or `cluster` */
  subject: string;
  message: string;
}

export interface RedisLayer {
  /** cluster_state as the nodes that answer say it (`fail` if any says so); null when none answers */
  clusterState: "ok" | "fail" | null;
  nodes: RedisNodeView[];
  problems: RedisProblem[];
}

interface NodeReport {
  node: RedisNodeAddress;
  lines?: ClusterNodeLine[];
  clusterState?: string;
  replication?: Map<string, string>;
  keys?: number;
  memBytes?: number;
}

async function askNode(node: RedisNodeAddress, password: string | undefined, timeoutMs: number): Promise<NodeReport> {
  const client = new Redis({
    host: "127.0.0.1",
    port: node.port,
    password,
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
  });
  client.on("error", () => undefined);
  try {
    await client.connect();
    const [nodes, info, replication, memory, keys] = await Promise.all([
      client.call("CLUSTER", "NODES") as Promise<string>,
      client.call("CLUSTER", "INFO") as Promise<string>,
      client.info("replication"),
      client.info("memory"),
      client.dbsize(),
    ]);
    return {
      node,
      lines: parseClusterNodes(nodes),
      clusterState: infoFields(info).get("cluster_state"),
      replication: infoFields(replication),
      keys,
      memBytes: Number(infoFields(memory).get("used_memory")) || undefined,
    };
  } catch {
    return { node };
  } finally {
    if (client.status !== "end") client.disconnect();
  }
}

/** Ask every node at once; a node that does not answer within `timeoutMs` is down. */
export async function readRedisLayer(
  nodes: RedisNodeAddress[],
  opts: { password?: string; timeoutMs?: number } = {},
): Promise<RedisLayer> {
  const reports = await Promise.all(nodes.map((n) => askNode(n, opts.password, opts.timeoutMs ?? 1000)));
  return buildRedisLayer(reports);
}

export function buildRedisLayer(reports: NodeReport[]): RedisLayer {
  const nameByPort = new Map(reports.map((r) => [r.node.port, r.node.name]));
  const idToName = new Map<string, string>();
  for (const r of reports)
    for (const l of r.lines ?? []) if (nameByPort.has(l.port)) idToName.set(l.id, nameByPort.get(l.port)!);
  const problems: RedisProblem[] = [];
  const views = reports.map((r): RedisNodeView => {
    const self = r.lines?.find((l) => l.myself);
    const up = r.lines !== undefined;
    if (!up) problems.push({ kind: "node-down", subject: r.node.name, message: `Redis node ${r.node.name} is down` });
    const inSync = self?.role === "replica" ? r.replication?.get("master_link_status") === "up" : null;
    if (inSync === false)
      problems.push({
        kind: "replica-link",
        subject: r.node.name,
        message: `Redis replica ${r.node.name} is not in sync with its primary`,
      });
    return {
      name: r.node.name,
      address: `127.0.0.1:${r.node.port}`,
      state: up ? "up" : "down",
      role: self?.role ?? null,
      primary: self?.primaryId ? (idToName.get(self.primaryId) ?? self.primaryId.slice(0, 8)) : null,
      slots: self ? slotCount(self.slots) : 0,
      slotRanges: (self?.slots ?? []).map(([a, b]) => (a === b ? String(a) : `${a}-${b}`)),
      keys: r.keys ?? null,
      memBytes: r.memBytes ?? null,
      inSync,
    };
  });
  const states = reports.map((r) => r.clusterState).filter((s): s is string => s !== undefined);
  const clusterState = states.length === 0 ? null : states.every((s) => s === "ok") ? "ok" : "fail";
  if (clusterState === "fail")
    problems.push({ kind: "cluster-state", subject: "cluster", message: "the Redis Cluster says cluster_state:fail" });
  const served = views.filter((v) => v.state === "up" && v.role === "primary").reduce((n, v) => n + v.slots, 0);
  if (clusterState !== null && served < CLUSTER_SLOTS)
    problems.push({
      kind: "slots",
      subject: "cluster",
      message: `${CLUSTER_SLOTS - served} of ${CLUSTER_SLOTS} Redis slots have no primary up`,
    });
  return { clusterState, nodes: views, problems };
}
