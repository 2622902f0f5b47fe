// Every failed request is counted under one kind, so a report can say what went wrong and how often.
import { errors, type Msg } from "@nats-io/transport-node";

// its own copy of @gs/fleet/sdk/client's: this module runs in the worker bundle, which must not load protobufjs
const ERROR_CODE_HEADER = "Nats-Service-Error-Code";

export type ErrorKind = "timeout" | "no_responders" | `error_reply:${string}` | "connection_closed" | "other";

/** The kind of a reply that carries the micro error headers, or undefined for a successful reply. */
export function replyErrorKind(m: Msg): ErrorKind | undefined {
  const code = m.headers?.get(ERROR_CODE_HEADER);
  return code ? `error_reply:${code}` : undefined;
}

/** The kind of a rejected request. */
export function requestErrorKind(err: unknown): ErrorKind {
  if (err instanceof errors.TimeoutError) return "timeout";
  if (err instanceof errors.NoRespondersError) return "no_responders";
  if (err instanceof errors.RequestError) {
    if (err.isNoResponders()) return "no_responders";
    if (err.cause instanceof errors.TimeoutError) return "timeout";
  }
  if (err instanceof errors.ClosedConnectionError || err instanceof errors.DrainingConnectionError)
    return "connection_closed";
  return "other";
}

/** Human name of a kind: `error reply 503`, `no responders`. */
export function describeKind(kind: string): string {
  return kind.startsWith("error_reply:") ? `error reply ${kind.slice("error_reply:".length)}` : kind.replace(/_/g, " ");
}
