// `gs trace`: one sampled request and the spans its trace reports. gs subscribes to the trace's subject
// before it sends, so no hop can report too early; it takes the spans until the trace has been quiet
// for the settle time after the reply (a hop reports once its own reply is out, and work a handler
// leaves running, such as a saga without `wait`, reports later still).
import os from "node:os";
import type { NatsConnection } from "@nats-io/transport-node";
import { ERROR_CODE_HEADER, ERROR_HEADER } from "@gs/fleet/sdk/client";
import type { JsonObject } from "@gs/fleet/sdk/json-codec";
import type { ProtoRegistry } from "@gs/fleet/sdk/registry";
import {
  formatTraceparent,
  newSpanId,
  newTraceId,
  SAMPLED_FLAG,
  TRACEPARENT_HEADER,
  traceSubject,
  type SpanRecord,
} from "@gs/fleet/sdk/trace";
import { toNatsHeaders } from "../messaging/data.js";
import { checkMaxPayload, decodeOrDump } from "../messaging/payload.js";
import { prepareRequest, requestFailure, type PreparedRequest } from "../messaging/request.js";
import { EXIT, GsError, OperationError } from "../output/errors.js";

/** However busy the trace stays, collection stops this long after the reply. */
export const MAX_COLLECT_MS = 30_000;

export interface TraceRequestOptions {
  subject: string;
  /** more headers; gs sets traceparent itself */
  headers?: Record<string, string>;
  timeout: number;
  /** how long the trace must be quiet after the reply before collection ends */
  settleMs: number;
  /** ends collection early (Ctrl-C): what came so far is the trace */
  signal?: AbortSignal;
  /** each span as it comes (and the reply): gs's own span so far, and all the spans so far */
  onSpan?: (root: SpanRecord, spans: readonly SpanRecord[], replied: boolean) => void;
}

export interface TraceRun {
  trace_id: string;
  /** gs's own span: the request from send to reply (or to the failure) */
  root: SpanRecord;
  spans: SpanRecord[];
  /** the decoded reply, when one came and was not an error */
  reply?: JsonObject | { hex: string; base64: string; error?: string };
  /** what went wrong with the request itself: an error reply, a timeout */
  failure?: GsError;
}

/** Encode and validate the request before connecting: bad input sends nothing. */
export function prepareTrace(
  registry: ProtoRegistry,
  opts: { subject: string; json: unknown; timeout: number },
): PreparedRequest {
  return prepareRequest(registry, { subject: opts.subject, json: opts.json, timeout: opts.timeout });
}

export async function traceRequest(
  nc: NatsConnection,
  registry: ProtoRegistry,
  prepared: PreparedRequest,
  opts: TraceRequestOptions,
): Promise<TraceRun> {
  checkMaxPayload(prepared.bytes.length, nc);
  const traceId = newTraceId();
  // gs's own span: the request from send to reply; its duration grows while gs waits
  const root: SpanRecord = {
    trace_id: traceId,
    span_id: newSpanId(),
    parent_id: "",
    kind: "client",
    service: "gs",
    instance: os.hostname(),
    version: "",
    subject: opts.subject,
    start_unix_ms: 0,
    duration_ms: 0,
    status: "ok",
  };
  let started = 0;
  let ended: number | undefined;
  const spans: SpanRecord[] = [];
  let lastSpanAt = 0;
  const sub = nc.subscribe(traceSubject(traceId), {
    callback: (err, m) => {
      if (err) return;
      const span = asSpan(m.data, traceId);
      if (!span) return;
      spans.push(span);
      lastSpanAt = performance.now();
      if (ended === undefined) root.duration_ms = lastSpanAt - started;
      opts.onSpan?.(root, spans, ended !== undefined);
    },
  });
  try {
    // the subscription is in place at the server before the first hop can report
    await nc.flush();
    const h = toNatsHeaders({
      ...opts.headers,
      [TRACEPARENT_HEADER]: formatTraceparent(traceId, root.span_id, SAMPLED_FLAG),
    });
    started = performance.now();
    root.start_unix_ms = performance.timeOrigin + started;
    let failure: GsError | undefined;
    let reply: TraceRun["reply"];
    try {
      const m = await nc.request(opts.subject, prepared.bytes, { timeout: opts.timeout, headers: h });
      const code = m.headers?.get(ERROR_CODE_HEADER);
      if (code) {
        failure = new OperationError(
          `${opts.subject} answered with error ${code}: ${m.headers?.get(ERROR_HEADER) || "(no description)"}`,
          { code: "service_error" },
        );
      } else {
        const d = decodeOrDump(prepared.types?.output, m.data);
        reply = "json" in d ? d.json : d;
      }
    } catch (err) {
      const f = requestFailure(err, registry, { subject: opts.subject, timeout: opts.timeout });
      // nobody answered, or the server refused: no hop ran, there is no trace to wait for
      if (!(f instanceof GsError) || f.exitCode !== EXIT.timedOut) throw f;
      failure = f;
    }
    const end = (ended = performance.now());
    root.duration_ms = end - started;
    if (failure) root.status = "error";
    opts.onSpan?.(root, spans, ended !== undefined);
    await quiet(() => Math.max(end, lastSpanAt), opts.settleMs, end + MAX_COLLECT_MS, opts.signal);
    // the first hop's span, reported once its reply was out, has the code it replied with
    if (failure)
      root.error = {
        code: failure.exitCode === EXIT.timedOut ? 504 : errorCodeOf(spans, root.span_id),
        message: failure.message,
      };
    return { trace_id: traceId, root, spans: [...spans], ...(reply ? { reply } : {}), ...(failure ? { failure } : {}) };
  } finally {
    sub.unsubscribe();
  }
}

/** The error code the first hop replied with (its server span), or 500 when it has not reported. */
function errorCodeOf(spans: readonly SpanRecord[], rootId: string): number {
  return spans.find((s) => s.parent_id === rootId && s.kind === "server")?.error?.code ?? 500;
}

/** Wait until `settleMs` passed since `last()` (which moves on as spans come), the signal aborts, or `deadline`. */
async function quiet(last: () => number, settleMs: number, deadline: number, signal?: AbortSignal): Promise<void> {
  while (!signal?.aborted) {
    const until = Math.min(last() + settleMs, deadline);
    const wait = until - performance.now();
    if (wait <= 0) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const t = setTimeout(done, wait);
      signal?.addEventListener("abort", done, { once: true });
    });
  }
}

/** A span message of this trace, or undefined for anything else published there. */
function asSpan(data: Uint8Array, traceId: string): SpanRecord | undefined {
  let s: Partial<SpanRecord>;
  try {
    s = JSON.parse(Buffer.from(data).toString("utf8")) as Partial<SpanRecord>;
  } catch {
    return undefined;
  }
  const ok =
    s !== null &&
    typeof s === "object" &&
    s.trace_id === traceId &&
    typeof s.span_id === "string" &&
    typeof s.parent_id === "string" &&
    typeof s.service === "string" &&
    typeof s.subject === "string" &&
    typeof s.start_unix_ms === "number" &&
    typeof s.duration_ms === "number" &&
    (s.kind === "server" || s.kind === "client" || s.kind === "producer");
  return ok ? (s as SpanRecord) : undefined;
}
