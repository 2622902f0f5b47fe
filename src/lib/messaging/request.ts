// `gs request`: one or more request/reply round trips, protobuf on the wire.
import { errors, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { ERROR_CODE_HEADER, ERROR_HEADER } from "@gs/fleet/sdk/client";
import type { JsonObject } from "@gs/fleet/sdk/json-codec";
import type { ProtoRegistry } from "@gs/fleet/sdk/registry";
import { OperationError, UsageError, EXIT } from "../output/errors.js";
import { toNatsHeaders } from "./data.js";
import {
  checkMaxPayload,
  decodeOrDump,
  encodeFor,
  typesFor,
  unknownSubject,
  type Decoded,
  type SubjectTypes,
} from "./payload.js";

export interface RequestOptions {
  subject: string;
  /** parsed JSON (ignored with raw) */
  json?: unknown;
  /** raw bytes to send as they are */
  raw?: Uint8Array;
  headers?: Record<string, string>;
  /** send the request this many times, one after another */
  count?: number;
  /** gather up to this many replies per request (fan-out), within the timeout */
  replies?: number;
  timeout: number;
  /** each reply's exact bytes, as they arrive (`--raw` and `--out` write them) */
  onReply?: (data: Uint8Array) => void;
}

export interface ReplyResult {
  /** decoded reply (JSON), or hex/base64 for raw or unknown payloads */
  reply: JsonObject | { hex: string; base64: string; error?: string } | { text: string };
  rtt_ms: number;
  bytes: number;
  headers?: Record<string, string>;
}

export interface RequestResult {
  subject: string;
  request_type?: string;
  response_type?: string;
  request_bytes: number;
  replies: ReplyResult[];
}

export interface PreparedRequest {
  bytes: Uint8Array;
  types?: SubjectTypes;
}

/** Encode and validate DATA before connecting: bad input sends nothing. */
export function prepareRequest(registry: ProtoRegistry, opts: RequestOptions): PreparedRequest {
  let bytes: Uint8Array;
  let types;
  if (opts.raw) {
    bytes = opts.raw;
    types = typesFor(registry, opts.subject);
  } else {
    types = typesFor(registry, opts.subject);
    if (!types) throw unknownSubject(registry, opts.subject);
    if (types.kind !== "rpc")
      throw new UsageError(`${opts.subject} is an event subject, not an rpc`, "use `gs publish` for events");
    bytes = encodeFor(types.input, opts.json ?? {});
  }
  return { bytes, types };
}

export async function request(
  nc: NatsConnection,
  registry: ProtoRegistry,
  prepared: PreparedRequest,
  opts: RequestOptions,
): Promise<RequestResult> {
  const { bytes, types } = prepared;
  checkMaxPayload(bytes.length, nc);
  const count = Math.max(1, opts.count ?? 1);
  const result: RequestResult = {
    subject: opts.subject,
    request_type: types?.input.fullName.slice(1),
    response_type: types?.output?.fullName.slice(1),
    request_bytes: bytes.length,
    replies: [],
  };
  for (let i = 0; i < count; i++) {
    const h = toNatsHeaders(opts.headers);
    const start = performance.now();
    let msgs: { msg: Msg; at: number }[];
    try {
      if ((opts.replies ?? 1) > 1) {
        msgs = [];
        const it = await nc.requestMany(opts.subject, bytes, {
          strategy: "count",
          maxWait: opts.timeout,
          maxMessages: opts.replies,
          headers: h,
        });
        for await (const m of it) msgs.push({ msg: m, at: performance.now() });
        if (msgs.length === 0) throw new errors.TimeoutError();
      } else {
        const m = await nc.request(opts.subject, bytes, { timeout: opts.timeout, headers: h });
        msgs = [{ msg: m, at: performance.now() }];
      }
    } catch (err) {
      throw requestFailure(err, registry, opts);
    }
    for (const { msg, at } of msgs) {
      const code = msg.headers?.get(ERROR_CODE_HEADER);
      if (code) {
        throw new OperationError(
          `${opts.subject} answered with error ${code}: ${msg.headers?.get(ERROR_HEADER) || "(no description)"}`,
          {
            exit: EXIT.failed,
            code: "service_error",
          },
        );
      }
      opts.onReply?.(msg.data);
      const reply = opts.raw ? rawReply(msg.data) : unwrap(decodeOrDump(types?.output, msg.data));
      const hdrs = msg.headers
        ? Object.fromEntries([...msg.headers.keys()].map((k) => [k, msg.headers!.get(k)]))
        : undefined;
      result.replies.push({ reply, rtt_ms: round(at - start), bytes: msg.data.length, headers: hdrs });
    }
  }
  return result;
}

function unwrap(d: Decoded): ReplyResult["reply"] {
  return "json" in d ? d.json : d;
}

function rawReply(data: Uint8Array): { text: string } | { hex: string; base64: string } {
  const text = Buffer.from(data).toString("utf8");
  // printable UTF-8 is shown as text; anything with control bytes (other than whitespace) as hex + base64
  const printable = [...text].every((c) => c.charCodeAt(0) >= 0x20 || c === "\n" || c === "\r" || c === "\t");
  if (Buffer.from(text, "utf8").equals(Buffer.from(data)) && printable) return { text };
  return { hex: Buffer.from(data).toString("hex"), base64: Buffer.from(data).toString("base64") };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** A failed request (no responders, timeout, permission) as the one-line error gs reports. */
export function requestFailure(err: unknown, registry: ProtoRegistry, opts: RequestOptions): Error {
  if (err instanceof errors.NoRespondersError || (err instanceof errors.RequestError && err.isNoResponders())) {
    const close = registry.suggest(opts.subject).filter((s) => s !== opts.subject);
    return new OperationError(
      `no service answers ${opts.subject}${close.length ? ` (closest known subjects: ${close.join(", ")})` : ""}`,
      {
        hint: "check the service runs (`gs services`, `gs status`) and the subject is right",
        code: "no_responders",
      },
    );
  }
  if (err instanceof errors.TimeoutError || (err instanceof Error && /timeout/i.test(err.message))) {
    return new OperationError(`${opts.subject} did not answer within ${opts.timeout}ms`, {
      hint: "raise --timeout, or check the service (`gs logs`)",
      exit: EXIT.timedOut,
      code: "timeout",
    });
  }
  if (err instanceof errors.PermissionViolationError || (err instanceof Error && /permission/i.test(err.message))) {
    return new OperationError(`not allowed to publish to ${opts.subject}: ${(err as Error).message}`, {
      hint: "use credentials with permission for this subject",
      code: "permission",
    });
  }
  return err instanceof Error ? err : new Error(String(err));
}
