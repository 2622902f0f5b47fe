// Traces across services (W3C Trace Context over NATS headers). Each request gets a hop: calls and
// publishes made for it carry a `traceparent` that continues its trace (a new trace when none came in);
// when that trace is sampled (flag 01), each hop reports spans to `gs.trace.<trace id>`, where `gs trace`
// collects them.
//
// How a call finds its hop: explicitly, from the handler's CallContext (`ctx.client.call(s, req,
// { trace: call.trace })`), which costs nothing; and, for sampled hops only, from the handler's async
// context (AsyncLocalStorage), so that everything a traced handler does is in its trace without any
// code in the service. AsyncLocalStorage is not used for unsampled requests: on Node 20 it turns on
// promise hooks for the whole process, measured at 8-10% more CPU per request (docs/tracing.md). It is
// switched on by the first sampled hop and off again once none has run for SAMPLED_GRACE_MS.
// Unsampled requests cost a header read, one small object and, when the handler calls out, one
// header format: no span, no publish, no clock read.
import { AsyncLocalStorage } from "node:async_hooks";
import { randomFillSync } from "node:crypto";
import type { MsgHdrs, NatsConnection } from "@nats-io/transport-node";
import { ServiceError } from "./errors.js";

export const TRACEPARENT_HEADER = "traceparent";
/** Spans of trace T are published to `gs.trace.T` (T: 32 lowercase hex digits). */
export const TRACE_SUBJECT_PREFIX = "gs.trace";
/** The trace-flags bit that asks every hop to report its span. */
export const SAMPLED_FLAG = 0x01;

export const traceSubject = (traceId: string): string => `${TRACE_SUBJECT_PREFIX}.${traceId}`;

/** The bench switch: GS_TRACING=0 turns propagation and spans off, to measure what they cost. */
export function tracingEnabled(env: NodeJS.ProcessEnv): boolean {
  return env.GS_TRACING !== "0";
}

export interface TraceParent {
  traceId: string;
  /** the caller's span */
  parentId: string;
  /** trace-flags; bit 0 is "sampled" */
  flags: number;
}

const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);

/** version-format: 2 hex digits, then trace id, parent id and flags; a later version may append `-…` */
const FORMAT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(?:-.*)?$/;

/**
 * A `traceparent` value, or undefined when it is not one (the trace then starts afresh). Version 00 has
 * exactly four fields; a later version may append more, which are ignored as the W3C spec asks; `ff`
 * and all-zero ids are invalid. (A test and slices: capturing groups cost about twice as much.)
 */
export function parseTraceparent(value: string | undefined): TraceParent | undefined {
  if (!value || !FORMAT.test(value)) return undefined;
  if (value.startsWith("ff") || (value.length > 55 && value.startsWith("00"))) return undefined;
  const traceId = value.slice(3, 35);
  const parentId = value.slice(36, 52);
  if (traceId === ZERO_TRACE || parentId === ZERO_SPAN) return undefined;
  return { traceId, parentId, flags: parseInt(value.slice(53, 55), 16) };
}

/** The version-00 `traceparent` for a call made from span `parentId` of trace `traceId`. */
export function formatTraceparent(traceId: string, parentId: string, flags: number): string {
  return `00-${traceId}-${parentId}-${flags < 16 ? "0" : ""}${flags.toString(16)}`;
}

export const isSampled = (flags: number): boolean => (flags & SAMPLED_FLAG) !== 0;

// ids from a pool of random bytes refilled 1 KiB at a time: a call per id would cost a syscall each
const pool = Buffer.allocUnsafe(1024);
let used = pool.length;
function randomHex(bytes: number): string {
  for (;;) {
    if (used + bytes > pool.length) {
      randomFillSync(pool);
      used = 0;
    }
    const hex = pool.toString("hex", used, used + bytes);
    used += bytes;
    // all zeros is invalid in W3C Trace Context (a chance of 2^-64 at worst)
    if (hex !== ZERO_TRACE && hex !== ZERO_SPAN) return hex;
  }
}
export const newTraceId = (): string => randomHex(16);
export const newSpanId = (): string => randomHex(8);

export type SpanKind = "server" | "client" | "producer";

/**
 * One span as published on `gs.trace.<trace_id>` (JSON). `server`: a service answering a request
 * (start = arrival, end = reply sent); `client`: a request a service (or gs) made, until its reply;
 * `producer`: an event published to JetStream, until the stream acknowledged it.
 */
export interface SpanRecord {
  trace_id: string;
  span_id: string;
  /** the span that caused this one; "" for the root */
  parent_id: string;
  kind: SpanKind;
  /** who reported it: the service (or `gs`) */
  service: string;
  /** the service instance (its micro id) */
  instance: string;
  version: string;
  /** the rpc subject served or called, or the event subject published */
  subject: string;
  /** unix time in ms, with sub-ms precision */
  start_unix_ms: number;
  duration_ms: number;
  status: "ok" | "error";
  /** the error reply's code (micro: 400, 404, 500, 503, 504 ...) and message */
  error?: { code: number; message: string };
}

/** What a finished span failed with, in micro's terms. */
export function spanError(err: unknown): { code: number; message: string } {
  if (err instanceof ServiceError) return { code: err.code, message: err.message };
  return { code: 500, message: err instanceof Error ? err.message : String(err) };
}

/** A call or publish the current hop makes: the header to send, and `end` to call once it is done. */
export interface OutgoingTrace {
  traceparent: string;
  /** with the error it failed with, if any; only the first call counts; a no-op unless the trace is sampled */
  end(error?: { code: number; message: string }): void;
}

const noop = () => undefined;
/** the hop of a sampled handler's async context; enabled only while sampled hops run (see above) */
const current = new AsyncLocalStorage<Hop>();
/** How long async context tracking stays on after the last sampled hop ended: work a traced handler left running (a saga started without `wait`) stays in its trace that long. */
export const SAMPLED_GRACE_MS = 30_000;
let sampledLive = 0;
let tracking = false;
let idle: NodeJS.Timeout | undefined;

/** Whether the async context of sampled hops is being tracked now (the Node 20 cost that unsampled traffic must not pay). */
export const trackingAsyncContext = (): boolean => tracking;

function sampledEnded(): void {
  if (--sampledLive > 0) return;
  idle = setTimeout(() => {
    idle = undefined;
    if (sampledLive > 0) return;
    current.disable();
    tracking = false;
  }, SAMPLED_GRACE_MS);
  idle.unref();
}
/** wall-clock ms of performance.now()'s zero: spans from different processes line up on one axis */
const origin = performance.timeOrigin;

/** The request a handler is serving, as its trace sees it. Ids are made on first use. */
export class Hop {
  private trace: string | undefined;
  private id: string | undefined;
  /** the header every unsampled call of this hop sends (the same for all of them) */
  private onward: OutgoingTrace | undefined;
  /** performance.now() when the reply went out (sampled hops only) */
  private repliedAt: number | undefined;

  constructor(
    readonly tracer: Tracer,
    private readonly incoming: TraceParent | undefined,
    readonly sampled: boolean,
    readonly subject: string,
    /** performance.now() at arrival */
    readonly started: number,
  ) {}

  get traceId(): string {
    return (this.trace ??= this.incoming?.traceId ?? newTraceId());
  }

  /** this hop's span id */
  get spanId(): string {
    return (this.id ??= newSpanId());
  }

  private get flags(): number {
    return this.incoming?.flags ?? 0;
  }

  /** The trace of a request or publish on `subject` made while serving this hop. */
  outgoing(subject: string, kind: "client" | "producer"): OutgoingTrace {
    if (!this.sampled)
      return (this.onward ??= { traceparent: formatTraceparent(this.traceId, this.spanId, this.flags), end: noop });
    const spanId = newSpanId();
    const started = performance.now();
    let ended = false;
    return {
      traceparent: formatTraceparent(this.traceId, spanId, this.flags),
      end: (error) => {
        if (ended) return;
        ended = true;
        this.tracer.report(this.span(spanId, this.spanId, kind, subject, started, performance.now() - started, error));
      },
    };
  }

  /** The reply is out (sampled hops only): the span ends here, before the caller can have it. */
  replied(): void {
    this.repliedAt = performance.now();
  }

  /** Report the hop's own (server) span; sampled hops only, once each, after Tracer.runSampled. */
  end(error?: { code: number; message: string }): void {
    const parent = this.incoming!.parentId;
    const duration = (this.repliedAt ?? performance.now()) - this.started;
    this.tracer.report(this.span(this.spanId, parent, "server", this.subject, this.started, duration, error));
    sampledEnded();
  }

  private span(
    spanId: string,
    parentId: string,
    kind: SpanKind,
    subject: string,
    started: number,
    durationMs: number,
    error: { code: number; message: string } | undefined,
  ): SpanRecord {
    const t = this.tracer;
    return {
      trace_id: this.traceId,
      span_id: spanId,
      parent_id: parentId,
      kind,
      service: t.service,
      instance: t.instance,
      version: t.version,
      subject,
      start_unix_ms: origin + started,
      duration_ms: durationMs,
      status: error ? "error" : "ok",
      ...(error ? { error } : {}),
    };
  }
}

/** One service instance's side of tracing: makes the hop of each request and publishes sampled spans. */
export class Tracer {
  constructor(
    private readonly nc: NatsConnection,
    readonly service: string,
    readonly instance: string,
    readonly version: string,
  ) {}

  /** The hop of a request on `subject` that arrived at `started` (performance.now()) with these headers. */
  hop(headers: MsgHdrs | undefined, subject: string, started: number): Hop {
    const incoming = headers ? parseTraceparent(headers.get(TRACEPARENT_HEADER)) : undefined;
    return new Hop(this, incoming, incoming !== undefined && isSampled(incoming.flags), subject, started);
  }

  /** Run `fn` with sampled `hop` as the current hop of everything it starts, synchronously or not; hop.end() must follow. */
  runSampled<A extends unknown[], R>(hop: Hop, fn: (...args: A) => R, ...args: A): R {
    sampledLive++;
    tracking = true;
    if (idle) clearTimeout(idle);
    idle = undefined;
    return current.run(hop, fn, ...args);
  }

  report(span: SpanRecord): void {
    try {
      this.nc.publish(traceSubject(span.trace_id), JSON.stringify(span));
    } catch {
      // a closed or draining connection: a lost span must never fail the request it describes
    }
  }
}

/**
 * The trace of a request or publish on `subject`: of the hop given (the handler's `call.trace`), else of
 * the sampled hop whose async context this runs in; undefined outside both, or with tracing off.
 */
export function outgoingTrace(
  subject: string,
  kind: "client" | "producer",
  hop: Hop | undefined = tracking ? current.getStore() : undefined,
): OutgoingTrace | undefined {
  return hop?.outgoing(subject, kind);
}
