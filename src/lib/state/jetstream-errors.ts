// JetStream failures, translated once at the edge into the error family: `gs kv` (KV buckets) and
// `gs events` (the EVENTS stream) read through the same JetStream API and fail the same ways.
import { errors, type NatsConnection } from "@nats-io/transport-node";
import { JetStreamApiCodes, JetStreamApiError, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { jserrors } from "@nats-io/jetstream/internal";
import { EXIT, GsError, OperationError } from "../output/errors.js";

/** The JetStream API of `nc`, with a clear error when the server (or the account) has no JetStream. */
export async function openJetStream(nc: NatsConnection, timeout: number): Promise<JetStreamManager> {
  try {
    return await jetstreamManager(nc, { timeout });
  } catch (err) {
    throw jetStreamFailure(err, "reach JetStream");
  }
}

export function isStreamNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound;
}

/** `err` as a GsError: JetStream missing, a timeout (exit 4), a permission, or anything else (exit 1). */
export function jetStreamFailure(err: unknown, doing: string): GsError {
  if (err instanceof GsError) return err;
  const where = `cannot ${doing}`;
  if (err instanceof jserrors.JetStreamNotEnabled)
    return new OperationError(`${where}: JetStream is not enabled on this server or account`, {
      hint: "start nats-server with JetStream (-js; `gs up` does), or connect as the fleet's account",
      code: "jetstream_not_enabled",
      cause: err,
    });
  if (err instanceof errors.TimeoutError)
    return new OperationError(`${where}: JetStream did not answer in time`, {
      hint: "raise --timeout, or check the NATS servers (`gs status`)",
      exit: EXIT.timedOut,
      code: "timeout",
      cause: err,
    });
  if (err instanceof errors.PermissionViolationError)
    return new OperationError(`${where}: not allowed (${err.message})`, {
      hint: "connect with credentials that may read JetStream (--creds, --context)",
      code: "permission_denied",
      cause: err,
    });
  const message = err instanceof Error ? err.message : String(err);
  return new OperationError(`${where}: ${message}`, { cause: err });
}
