// The events stream as data: subject rules, where a replay starts, how much of it fits in one reply,
// and consumer/stream state in the proto's shape (int64 as strings, RFC 3339 times).

import type { ConsumerState } from "../generated/event_bus/v1/event_bus.js";

// proto messages as generated from proto/ (services/generated)
export type { ConsumerState };

export const STREAM_PREFIX = "events.";
const TOKEN = /^[^\s.*>]+$/;

/** A problem with a subject to publish on (concrete, under `events.`), or undefined. */
export function publishSubjectProblem(subject: string): string | undefined {
  if (!subject) return "subject is required";
  if (subject.length > 256) return "subject is longer than 256 characters";
  if (!subject.startsWith(STREAM_PREFIX))
    return `subject "${subject}" is not on the events stream: it must start with "${STREAM_PREFIX}"`;
  const tokens = subject.split(".");
  if (tokens.length < 2 || !tokens.every((t) => TOKEN.test(t))) {
    return `subject "${subject}" must be dot-separated tokens without spaces or wildcards`;
  }
  return undefined;
}

/** The filter of a replay: `events.>` when empty; wildcards allowed (`*` a token, `>` the last one). */
export function replayFilter(filter: string): { filter: string } | { problem: string } {
  const f = filter || "events.>";
  if (f.length > 256) return { problem: "subjectFilter is longer than 256 characters" };
  const tokens = f.split(".");
  if (tokens[0] !== "events" || tokens.length < 2) return { problem: `subjectFilter "${f}" must start with "events."` };
  const ok = tokens.every((t, i) => t === "*" || (t === ">" && i === tokens.length - 1) || TOKEN.test(t));
  if (!ok)
    return { problem: `subjectFilter "${f}" is not a valid subject filter (use * for one token, > for the rest)` };
  return { filter: f };
}

export type ReplayStart =
  | { deliver_policy: "all" }
  | { deliver_policy: "by_start_sequence"; opt_start_seq: number }
  | { deliver_policy: "by_start_time"; opt_start_time: string };

/** Where a replay starts: a time, a sequence (> 0), or the first message. */
export function replayStart(fromTime: string | undefined, fromSeq: string | undefined): ReplayStart {
  if (fromTime) return { deliver_policy: "by_start_time", opt_start_time: fromTime };
  const seq = Number(fromSeq || "0");
  if (seq > 0) return { deliver_policy: "by_start_sequence", opt_start_seq: seq };
  return { deliver_policy: "all" };
}

export function clampLimit(limit: number, def: number, max: number): number {
  return Math.min(limit > 0 ? limit : def, max);
}

export interface StoredMessage {
  seq: string;
  subject: string;
  time: string;
  payload: string;
  headers: Record<string, string>;
}

/** Keep messages in order while their payloads fit `maxBytes` (at least one). */
export function withinBudget<T extends { payload: string }>(messages: T[], maxBytes: number): T[] {
  let used = 0;
  const out: T[] = [];
  for (const m of messages) {
    used += m.payload.length;
    if (out.length > 0 && used > maxBytes) break;
    out.push(m);
  }
  return out;
}

/** Nanoseconds since the epoch -> RFC 3339 with up to 9 fractional digits. */
export function nanosToTimestamp(nanos: bigint): string {
  const ms = Number(nanos / 1_000_000n);
  const frac = (nanos % 1_000_000_000n).toString().padStart(9, "0").replace(/0+$/, "");
  return new Date(ms).toISOString().replace(/\.\d+Z$/, frac ? `.${frac}Z` : "Z");
}

/** A server timestamp as the proto wants it; undefined for the zero time ("0001-01-01T00:00:00Z"). */
export function serverTime(ts: string | undefined): string | undefined {
  if (!ts || ts.startsWith("0001-")) return undefined;
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.test(ts)) return ts;
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export interface ConsumerSnapshot {
  name: string;
  config: { durable_name?: string; filter_subject?: string };
  num_pending: number;
  num_ack_pending: number;
  num_redelivered: number;
  delivered: { stream_seq: number; last_active?: string };
  ack_floor: { stream_seq: number };
}

export function consumerState(ci: ConsumerSnapshot): ConsumerState {
  return {
    name: ci.name,
    durable: Boolean(ci.config.durable_name),
    filterSubject: ci.config.filter_subject ?? "",
    numPending: String(ci.num_pending),
    numAckPending: String(ci.num_ack_pending),
    numRedelivered: String(ci.num_redelivered),
    deliveredSeq: String(ci.delivered.stream_seq),
    ackFloorSeq: String(ci.ack_floor.stream_seq),
    lastActive: serverTime(ci.delivered.last_active),
    lag: String(ci.num_pending + ci.num_ack_pending),
  };
}

/** Consumers whose lag exceeds the threshold. */
export function lagging(states: ConsumerState[], threshold: number): ConsumerState[] {
  return states.filter((s) => Number(s.lag) > threshold);
}

export interface StreamSnapshot {
  created: string;
  config: {
    name: string;
    subjects?: string[];
    storage: string;
    num_replicas: number;
    max_msgs: number;
    max_bytes: number;
    max_age: number;
  };
  state: {
    messages: number;
    bytes: number;
    first_seq: number;
    last_seq: number;
    first_ts: string;
    last_ts: string;
    consumer_count: number;
  };
}

/** Stream info in the proto's shape; limits of -1 (unlimited) become 0. */
export function streamInfo(si: StreamSnapshot) {
  const limit = (n: number) => String(Math.max(0, n));
  return {
    name: si.config.name,
    subjects: si.config.subjects ?? [],
    messages: String(si.state.messages),
    bytes: String(si.state.bytes),
    firstSeq: String(si.state.first_seq),
    lastSeq: String(si.state.last_seq),
    firstTime: si.state.messages ? serverTime(si.state.first_ts) : undefined,
    lastTime: si.state.messages ? serverTime(si.state.last_ts) : undefined,
    consumerCount: si.state.consumer_count,
    storage: si.config.storage,
    replicas: si.config.num_replicas,
    maxMessages: limit(si.config.max_msgs),
    maxBytes: limit(si.config.max_bytes),
    maxAgeSeconds: String(Math.floor(Math.max(0, si.config.max_age) / 1e9)),
    createdAt: serverTime(si.created),
  };
}
