// The NATS layer of a fleet as `gs status` shows it: each server, the JetStream meta leader, every
// stream and KV bucket with its replicas, leader and consumers, and what is wrong with them (what
// `--check` counts). Built from the servers' own reports (server-report.ts); pure.
import type { RawConsumer, RawPeer, RawStream, ServerReport } from "./server-report.js";

/** Where the layer was read: the system account, each server's monitoring endpoint, or neither (see `notes`). */
export type NatsLayerSource = "system-account" | "monitoring";

export interface NatsServer {
  name: string;
  /** the server's id; null for a server known only by name (it did not answer) */
  id: string | null;
  version: string | null;
  /** down: it should answer and does not; unknown: its endpoint cannot be reached and nothing says it is down */
  state: "up" | "down" | "unknown";
  connections: number | null;
  /** percent of one core */
  cpu: number | null;
  memBytes: number | null;
  slowConsumers: number | null;
  uptime: string | null;
}

export interface NatsConsumer {
  name: string;
  /** messages not yet delivered */
  pending: number;
  /** delivered, not yet acknowledged */
  ackPending: number;
  redelivered: number;
}

export interface NatsStream {
  /** the stream's name (KV_<bucket> for a KV bucket) */
  name: string;
  kind: "stream" | "kv";
  /** the KV bucket's name; null for a stream */
  bucket: string | null;
  account: string;
  replicas: {
    expected: number;
    /** the leader and each peer the leader hears: current, or heard within the last few seconds */
    current: number;
    /** the peers that are not (the leader's view) */
    behind: string[];
  };
  /** null while no server leads it (or its leader does not answer) */
  leader: string | null;
  messages: number;
  bytes: number;
  consumers: NatsConsumer[];
}

export type NatsProblemKind = "server-down" | "no-meta-leader" | "no-leader" | "replicas" | "consumer-pending";

/** One thing `gs status --check` counts as unhealthy. */
export interface NatsProblem {
  kind: NatsProblemKind;
  /** what it is about: a server, a stream (`stream EVENTS`, `KV gs_payment`), or a consumer (`EVENTS/orders`) */
  subject: string;
  /** one line */
  message: string;
}

export interface NatsLayer {
  /** null when neither source could be read (see notes) */
  source: NatsLayerSource | null;
  servers: NatsServer[];
  /** null when no server reported JetStream */
  jetstream: { clustered: boolean; metaLeader: string | null; clusterSize: number | null } | null;
  streams: NatsStream[];
  /** what limits this view (a denied system account, an unreachable endpoint); alone they never make `--check` fail */
  notes: string[];
  problems: NatsProblem[];
}

/** How the layer was read, in words. */
export function sourceLabel(source: NatsLayerSource | null): string {
  return source === "system-account"
    ? "system account"
    : source === "monitoring"
      ? "monitoring endpoints"
      : "unreadable";
}

/** Nothing known yet, or nothing readable. */
export function emptyNatsLayer(notes: string[] = []): NatsLayer {
  return { source: null, servers: [], jetstream: null, streams: [], notes, problems: [] };
}

/** A peer counts as a current replica when it is current, or was heard this recently: one a write or two behind under load is not a missing replica. */
export const PEER_ACTIVE_MS = 5000;

export interface BuildOptions {
  source: NatsLayerSource | null;
  reports: ServerReport[];
  /**
   * every server that should answer (the local fleet's nodes); servers named by the cluster
   * (the meta group, stream peers) count too
   */
  expected?: string[];
  /**
   * the source asks every server at once (the system account): a known server that did not answer
   * is down. Otherwise (monitoring) only the cluster can say a server is down.
   */
  complete: boolean;
  notes?: string[];
  /** a consumer with more messages pending than this is a problem */
  maxConsumerPending: number;
}

export function buildNatsLayer(o: BuildOptions): NatsLayer {
  const reports = [...o.reports].sort((a, b) => a.name.localeCompare(b.name));
  const byName = new Map(reports.map((r) => [r.name, r]));
  const metaReport = reports.find((r) => r.jsz?.meta_cluster?.leader === r.name);
  const meta = metaReport?.jsz?.meta_cluster ?? reports.find((r) => r.jsz?.meta_cluster)?.jsz?.meta_cluster;

  // the servers the cluster names: the meta group's peers, and every stream's leader and peers
  const named = new Set(o.expected ?? []);
  for (const r of reports) {
    for (const p of r.jsz?.meta_cluster?.replicas ?? []) named.add(p.name);
    for (const s of streamsOf(r)) for (const p of s.stream.cluster?.replicas ?? []) named.add(p.name);
  }
  const metaPeers = new Map((metaReport?.jsz?.meta_cluster?.replicas ?? []).map((p) => [p.name, p]));
  const servers: NatsServer[] = reports.map((r) => ({
    name: r.name,
    id: r.id,
    version: r.version,
    state: "up",
    connections: r.connections,
    cpu: r.cpu,
    memBytes: r.memBytes,
    slowConsumers: r.slowConsumers,
    uptime: r.uptime,
  }));
  for (const name of [...named].sort()) {
    if (byName.has(name)) continue;
    const peer = metaPeers.get(name);
    const down = o.complete || (peer !== undefined && !peerCurrent(peer));
    servers.push({
      name,
      id: null,
      version: null,
      state: down ? "down" : "unknown",
      connections: null,
      cpu: null,
      memBytes: null,
      slowConsumers: null,
      uptime: null,
    });
  }
  servers.sort((a, b) => a.name.localeCompare(b.name));

  const withJs = reports.filter((r) => r.jsz);
  const clustered = (meta?.cluster_size ?? 0) > 1 || withJs.some((r) => r.jsz!.meta_cluster);
  const jetstream = withJs.length
    ? {
        clustered,
        // a leader that does not answer leads nothing
        metaLeader: clustered && meta?.leader && byName.has(meta.leader) ? meta.leader : null,
        clusterSize: clustered ? (meta?.cluster_size ?? null) : null,
      }
    : null;

  const merged = mergeStreams(reports, byName);
  const streams = merged.map((m) => m.stream);
  const problems: NatsProblem[] = [];
  for (const s of servers)
    if (s.state === "down")
      problems.push({ kind: "server-down", subject: s.name, message: `server ${s.name} is down` });
  if (jetstream?.clustered && !jetstream.metaLeader)
    problems.push({ kind: "no-meta-leader", subject: "JetStream", message: "JetStream has no meta leader" });
  for (const { stream: s, claimedLeader } of merged) {
    const label = streamLabel(s);
    if (!s.leader)
      problems.push({
        kind: "no-leader",
        subject: label,
        message: `${label} has no leader${claimedLeader ? ` (${claimedLeader}, named as its leader, does not answer)` : ""}`,
      });
    else if (s.replicas.current < s.replicas.expected)
      problems.push({
        kind: "replicas",
        subject: label,
        message: `${label}: ${s.replicas.current}/${s.replicas.expected} replicas current${s.replicas.behind.length ? ` (${s.replicas.behind.join(", ")} behind)` : ""}`,
      });
    for (const c of s.consumers) {
      if (c.pending > o.maxConsumerPending)
        problems.push({
          kind: "consumer-pending",
          subject: `${s.name}/${c.name}`,
          message: `consumer ${c.name} of ${label}: ${c.pending} messages pending (more than ${o.maxConsumerPending})`,
        });
    }
  }
  // a server up without a JetStream report (too slow, or JetStream off) while others have one
  const unread = withJs.length ? reports.filter((r) => !r.jsz).map((r) => `no JetStream report from ${r.name}`) : [];
  return { source: o.source, servers, jetstream, streams, notes: [...(o.notes ?? []), ...unread], problems };
}

/** `stream EVENTS`, `KV gs_payment`: how messages name a stream. */
export function streamLabel(s: Pick<NatsStream, "kind" | "name" | "bucket">): string {
  return s.kind === "kv" ? `KV ${s.bucket}` : `stream ${s.name}`;
}

function peerCurrent(p: RawPeer): boolean {
  return !p.offline && (p.current || p.active / 1e6 < PEER_ACTIVE_MS);
}

function streamsOf(r: ServerReport): { account: string; stream: RawStream }[] {
  return (r.jsz?.account_details ?? [])
    .filter((a) => a.name !== r.systemAccount)
    .flatMap((a) => (a.stream_detail ?? []).map((stream) => ({ account: a.name, stream })));
}

/**
 * One entry per stream: the leader's view (it alone knows which peers are current), else any view.
 * A consumer's counts come from the consumer's own leader when it answered.
 */
function mergeStreams(
  reports: ServerReport[],
  byName: Map<string, ServerReport>,
): { stream: NatsStream; claimedLeader?: string }[] {
  const views = new Map<string, StreamView[]>();
  for (const r of reports) {
    for (const { account, stream } of streamsOf(r)) {
      const key = `${account}\u0000${stream.name}`;
      views.set(key, [...(views.get(key) ?? []), { account, server: r.name, stream }]);
    }
  }
  const consumerView = (account: string, stream: string, consumer: RawConsumer): RawConsumer => {
    const leader = consumer.cluster?.leader;
    const report = leader ? byName.get(leader) : undefined;
    const own = report
      ? streamsOf(report)
          .find((s) => s.account === account && s.stream.name === stream)
          ?.stream.consumer_detail?.find((c) => c.name === consumer.name)
      : undefined;
    return own ?? consumer;
  };
  const out: { stream: NatsStream; claimedLeader?: string }[] = [];
  for (const list of views.values()) {
    const { leaderView, claimed } = pickLeader(list);
    const view = leaderView ?? list[0]!;
    const s = view.stream;
    const expected = Math.max(1, s.config?.num_replicas ?? 1);
    const peers = leaderView ? uniquePeers(s.cluster?.replicas ?? [], leaderView.server) : [];
    const behind = peers.filter((p) => !peerCurrent(p)).map((p) => p.name);
    // a leader that is up but whose JSZ did not come: the servers that hold the stream and answer
    const unread = !leaderView && claimed !== undefined && byName.has(claimed) && !byName.get(claimed)!.jsz;
    const kv = s.name.startsWith("KV_");
    const stream: NatsStream = {
      name: s.name,
      kind: kv ? "kv" : "stream",
      bucket: kv ? s.name.slice(3) : null,
      account: view.account,
      replicas: {
        expected,
        current: leaderView
          ? Math.min(expected, 1 + peers.length - behind.length)
          : unread
            ? Math.min(expected, 1 + list.filter((v) => v.server !== claimed).length)
            : 0,
        behind,
      },
      leader: leaderView ? leaderView.server : unread ? claimed : null,
      messages: s.state.messages,
      bytes: s.state.bytes,
      consumers: (s.consumer_detail ?? [])
        .map((c) => consumerView(view.account, s.name, c))
        .map((c) => ({
          name: c.name,
          pending: c.num_pending,
          ackPending: c.num_ack_pending,
          redelivered: c.num_redelivered,
        }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    };
    out.push({ stream, ...(!leaderView && !unread && claimed ? { claimedLeader: claimed } : {}) });
  }
  // streams first, then KV buckets, each by name
  const rank = (x: NatsStream) => `${x.kind === "stream" ? 0 : 1}${x.name}`;
  return out.sort((a, b) => rank(a.stream).localeCompare(rank(b.stream)));
}

interface StreamView {
  account: string;
  server: string;
  stream: RawStream;
}

/**
 * The stream's leader: a server that says it leads it. A node just restarted can still claim a lead
 * it lost while it was away; when several claim it, the one most views name wins. `claimed`: the
 * leader the views name when that server did not answer.
 */
function pickLeader(list: StreamView[]): { leaderView?: StreamView; claimed?: string } {
  const votes = new Map<string, number>();
  for (const v of list) {
    const l = v.stream.cluster?.leader;
    if (l) votes.set(l, (votes.get(l) ?? 0) + 1);
  }
  const claims = list.filter((v) => v.stream.cluster?.leader === v.server);
  const leaderView = claims.sort((a, b) => (votes.get(b.server) ?? 0) - (votes.get(a.server) ?? 0))[0];
  const claimed = [...votes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  return { ...(leaderView ? { leaderView } : {}), ...(claimed ? { claimed } : {}) };
}

/** The leader's peers, without the leader itself and without repeats (a stale view can list either). */
function uniquePeers(peers: RawPeer[], leader: string): RawPeer[] {
  const seen = new Set([leader]);
  return peers.filter((p) => !seen.has(p.name) && seen.add(p.name));
}
