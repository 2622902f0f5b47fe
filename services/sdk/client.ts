// Calls between services: JSON in, protobuf on the wire, JSON out, errors as ServiceError.
import { errors, headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import { decodeToJson, encodeJson, type JsonObject } from "./json-codec.js";
import { ServiceError } from "./errors.js";
import type { ProtoRegistry } from "./registry.js";
import { outgoingTrace, spanError, TRACEPARENT_HEADER, type Hop } from "./trace.js";

export const ERROR_HEADER = "Nats-Service-Error";
export const ERROR_CODE_HEADER = "Nats-Service-Error-Code";
/** Absolute deadline (unix ms) a caller gives a request; the callee never works past it. */
export const DEADLINE_HEADER = "Gs-Deadline";

export interface CallOptions {
  timeout?: number;
  headers?: Record<string, string>;
  /** the trace of the request being served (the handler's `call.trace`), which this call continues */
  trace?: Hop;
}

export class FleetClient {
  constructor(
    private readonly nc: NatsConnection,
    private readonly registry: ProtoRegistry,
    private readonly defaultTimeout = 5000,
  ) {}

  async call<Res = JsonObject>(subject: string, request: unknown, opts: CallOptions = {}): Promise<Res> {
    const rpc = this.registry.rpc(subject);
    if (!rpc) throw new ServiceError(500, `unknown subject ${subject}`);
    const timeout = opts.timeout ?? this.defaultTimeout;
    const h = natsHeaders();
    for (const [k, v] of Object.entries(opts.headers ?? {})) h.set(k, v);
    if (!h.has(DEADLINE_HEADER)) h.set(DEADLINE_HEADER, String(Date.now() + timeout));
    // for a request being served: continue its trace (a caller's own traceparent header wins)
    const trace = h.has(TRACEPARENT_HEADER) ? undefined : outgoingTrace(subject, "client", opts.trace);
    if (trace) h.set(TRACEPARENT_HEADER, trace.traceparent);
    let reply;
    try {
      reply = await this.nc.request(subject, encodeJson(rpc.request, request), { timeout, headers: h });
    } catch (err) {
      const failure = translateRequestError(err, subject);
      trace?.end(spanError(failure));
      throw failure;
    }
    const code = reply.headers?.get(ERROR_CODE_HEADER);
    if (code) {
      const failure = new ServiceError(Number(code) || 500, reply.headers?.get(ERROR_HEADER) || "error");
      trace?.end(spanError(failure));
      throw failure;
    }
    trace?.end();
    return decodeToJson(rpc.response, reply.data) as Res;
  }
}

/** NATS request failures as ServiceErrors: no responders -> 503, timeout -> 504. */
export function translateRequestError(err: unknown, subject: string): Error {
  if (err instanceof errors.NoRespondersError || (err instanceof errors.RequestError && err.isNoResponders())) {
    return new ServiceError(503, `no service answers ${subject}`);
  }
  if (err instanceof errors.TimeoutError || (err instanceof Error && /timeout/i.test(err.message))) {
    return new ServiceError(504, `${subject} timed out`);
  }
  return err instanceof Error ? err : new Error(String(err));
}
