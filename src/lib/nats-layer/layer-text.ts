// The NATS layer in words and aligned columns: the one-shot `gs status` prints these tables, the
// dashboard styles the same lines. No colours here.
import { formatBytes, formatCount } from "../output/format.js";
import { sourceLabel, streamLabel, type NatsLayer, type NatsStream } from "./nats-layer.js";

export interface LayerTable {
  header: string;
  /** `bad`: a row a problem is about (a server down, a stream short of replicas or leader, a backlog) */
  rows: { text: string; bad: boolean }[];
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** `3/3 servers up · JetStream meta leader node1 (3 nodes) · 1 stream, 2 KV buckets · system account` */
export function layerSummary(layer: NatsLayer): string {
  if (!layer.source) return "unreadable";
  const up = layer.servers.filter((s) => s.state === "up").length;
  const js = layer.jetstream;
  const jetstream = !js
    ? "no JetStream"
    : js.clustered
      ? `JetStream meta leader ${js.metaLeader ?? "none"}${js.clusterSize ? ` (${js.clusterSize} nodes)` : ""}`
      : "JetStream standalone";
  const kv = layer.streams.filter((s) => s.kind === "kv").length;
  const streams = `${plural(layer.streams.length - kv, "stream")}, ${plural(kv, "KV bucket")}`;
  return [`${up}/${layer.servers.length} servers up`, jetstream, streams, sourceLabel(layer.source)].join(" · ");
}

export function serverTable(layer: NatsLayer): LayerTable {
  const dash = (x: number | string | null, f: (v: never) => string = String) => (x === null ? "-" : f(x as never));
  return align(
    ["SERVER", "STATE", "VERSION", "CONNS", "CPU", "MEM", "SLOW", "UPTIME"],
    [3, 4, 5, 6],
    layer.servers.map((s) => ({
      cells: [
        s.name,
        s.state,
        dash(s.version),
        dash(s.connections),
        dash(s.cpu, (v: number) => `${Math.round(v)}%`),
        dash(s.memBytes, formatBytes),
        dash(s.slowConsumers),
        dash(s.uptime),
      ],
      bad: s.state !== "up" || (s.slowConsumers ?? 0) > 0,
    })),
  );
}

/** One row per stream; consumers summed: how many, their pending and ack-pending messages. */
export function streamTable(streams: NatsStream[], bad: (s: NatsStream) => boolean): LayerTable {
  return align(
    ["STREAM", "REPLICAS", "LEADER", "MSGS", "BYTES", "CONSUMERS", "PENDING", "ACK PENDING"],
    [3, 4, 5, 6, 7],
    streams.map((s) => ({
      cells: [
        streamLabel(s),
        `${s.replicas.current}/${s.replicas.expected}`,
        s.leader ?? "none",
        formatCount(s.messages),
        formatBytes(s.bytes),
        String(s.consumers.length),
        formatCount(s.consumers.reduce((n, c) => n + c.pending, 0)),
        formatCount(s.consumers.reduce((n, c) => n + c.ackPending, 0)),
      ],
      bad: bad(s),
    })),
  );
}

/** The streams a problem is about. */
export function troubledStreams(layer: NatsLayer): Set<string> {
  const subjects = new Set(layer.problems.map((p) => p.subject));
  return new Set(
    layer.streams
      .filter((s) => subjects.has(streamLabel(s)) || s.consumers.some((c) => subjects.has(`${s.name}/${c.name}`)))
      .map((s) => s.name),
  );
}

function align(headers: string[], right: number[], rows: { cells: string[]; bad: boolean }[]): LayerTable {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r.cells[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right.includes(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return { header: line(headers), rows: rows.map((r) => ({ text: line(r.cells), bad: r.bad })) };
}

/** The one-shot `gs status` form: the tables (stdout) and the summary, problems and notes (stderr). */
export function layerReport(layer: NatsLayer): { tables: string; lines: string[] } {
  const troubled = troubledStreams(layer);
  const parts: string[] = [];
  const table = (t: LayerTable) => [t.header, ...t.rows.map((r) => r.text)].join("\n");
  if (layer.servers.length) parts.push(table(serverTable(layer)));
  if (layer.streams.length) parts.push(table(streamTable(layer.streams, (s) => troubled.has(s.name))));
  return {
    tables: parts.join("\n\n"),
    lines: [
      `NATS: ${layerSummary(layer)}`,
      ...layer.problems.map((p) => `NATS: ${p.message}`),
      ...layer.notes.map((n) => `NATS layer: ${n}`),
    ],
  };
}
