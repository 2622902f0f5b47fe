// One event of the EVENTS stream as gs shows it: where it sits (seq, time, subject) and its payload
// decoded with the proto type its subject names (registry.event), secret fields redacted.
import type { JsonObject } from "@gs/fleet/sdk/json-codec";
import type { ProtoRegistry } from "@gs/fleet/sdk/registry";
import { decodeOrDump } from "../messaging/payload.js";
import { redactSecrets } from "../state/secret-fields.js";

/** One line of `gs events ... --json` (NDJSON). */
export interface StoredEvent {
  seq: number;
  /** when JetStream stored it, ISO 8601 */
  time: string;
  subject: string;
  /** the proto message type, when the subject has one and the bytes fit it */
  type?: string;
  /** the event as proto3 JSON */
  data?: JsonObject;
  /** fields replaced by "[redacted]" */
  redacted?: string[];
  /** bytes without a type (or that do not fit theirs), undecoded */
  bytes?: { hex: string; base64: string; error?: string };
  size: number;
}

export interface RawEvent {
  seq: number;
  time: string;
  subject: string;
  data: Uint8Array;
}

export function decodeEvent(registry: ProtoRegistry, m: RawEvent): StoredEvent {
  const type = registry.event(m.subject)?.type;
  const decoded = decodeOrDump(type, m.data);
  const head = { seq: m.seq, time: m.time, subject: m.subject };
  if (!("json" in decoded)) return { ...head, bytes: decoded, size: m.data.length };
  const { value, redacted } = redactSecrets(decoded.json);
  return {
    ...head,
    type: type!.fullName.slice(1),
    data: value,
    ...(redacted.length ? { redacted } : {}),
    size: m.data.length,
  };
}
