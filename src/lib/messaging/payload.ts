// Subject-aware encoding: a subject names an rpc (request/response types) or an event (its message type).
import { decodeToJson, encodeJson, SchemaError, type JsonObject } from "@gs/fleet/sdk/json-codec";
import type { ProtoRegistry, PbType } from "@gs/fleet/sdk/registry";
import type { NatsConnection } from "@nats-io/transport-node";
import { UsageError } from "../output/errors.js";
import { formatBytes } from "../output/format.js";

export interface SubjectTypes {
  kind: "rpc" | "event";
  /** what a message sent to the subject holds */
  input: PbType;
  /** the reply type (rpcs only) */
  output?: PbType;
}

export function typesFor(registry: ProtoRegistry, subject: string): SubjectTypes | undefined {
  const rpc = registry.rpc(subject);
  if (rpc) return { kind: "rpc", input: rpc.request, output: rpc.response };
  const ev = registry.event(subject);
  if (ev) return { kind: "event", input: ev.type };
  return undefined;
}

export function unknownSubject(registry: ProtoRegistry, subject: string): UsageError {
  const close = registry.suggest(subject);
  return new UsageError(
    `unknown subject ${subject}${close.length ? ` (did you mean ${close.join(", ")}?)` : ""}`,
    "`gs subjects` lists them; use --raw to send bytes to any subject",
    "unknown_subject",
  );
}

/** JSON -> protobuf for `type`; schema violations are usage errors (exit 2, nothing sent). */
export function encodeFor(type: PbType, json: unknown): Uint8Array {
  try {
    return encodeJson(type, json);
  } catch (err) {
    if (err instanceof SchemaError)
      throw new UsageError(
        `invalid ${type.fullName.slice(1)}: ${err.message}`,
        "`gs subjects --json` shows an example request",
        "invalid_message",
      );
    throw err;
  }
}

export type Decoded = { json: JsonObject } | { hex: string; base64: string; error?: string };

/** Decode bytes as `type`, or show them as hex and base64 when there is no type or they do not fit it. */
export function decodeOrDump(type: PbType | undefined, bytes: Uint8Array): Decoded {
  if (type) {
    try {
      return { json: decodeToJson(type, bytes) };
    } catch (err) {
      return { ...dump(bytes), error: (err as Error).message };
    }
  }
  return dump(bytes);
}

function dump(bytes: Uint8Array): { hex: string; base64: string } {
  const b = Buffer.from(bytes);
  return { hex: b.toString("hex"), base64: b.toString("base64") };
}

/** The server refuses messages over its max_payload; say so before sending. */
export function checkMaxPayload(size: number, nc: NatsConnection): void {
  const max = nc.info?.max_payload ?? 1024 * 1024;
  if (size > max) {
    throw new UsageError(
      `DATA is ${formatBytes(size)}, larger than the server's max_payload of ${formatBytes(max)}`,
      "send less, or raise max_payload on the server",
      "payload_too_large",
    );
  }
}
