// One request before the load starts: a wrong subject or a missing service fails in a line,
// instead of as a report full of errors.
import type { NatsConnection } from "@nats-io/transport-node";
import { ERROR_CODE_HEADER, ERROR_HEADER } from "@gs/fleet/sdk/client";
import { toNatsHeaders } from "../messaging/data.js";
import { checkMaxPayload } from "../messaging/payload.js";
import { EXIT, OperationError } from "../output/errors.js";
import { requestErrorKind } from "./error-kind.js";

/** Resolves with a warning when the service answered with an error reply (every request may fail the same way). */
export async function preflight(
  nc: NatsConnection,
  subject: string,
  payload: Uint8Array,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<string | undefined> {
  checkMaxPayload(payload.length, nc);
  const h = toNatsHeaders(headers);
  try {
    const m = await nc.request(subject, payload, { timeout: timeoutMs, headers: h });
    const code = m.headers?.get(ERROR_CODE_HEADER);
    if (code)
      return `the first request got error reply ${code}: ${m.headers?.get(ERROR_HEADER) || "(no description)"}; the report counts these as errors`;
    return undefined;
  } catch (err) {
    const kind = requestErrorKind(err);
    if (kind === "no_responders") {
      throw new OperationError(`no service answers ${subject}`, {
        hint: "check the service runs (`gs services`) and the subject is right (`gs subjects`)",
        code: "no_responders",
      });
    }
    if (kind === "timeout") {
      throw new OperationError(`${subject} did not answer the first request within ${timeoutMs}ms`, {
        hint: "raise --timeout, or check the service (`gs logs`)",
        exit: EXIT.timedOut,
        code: "timeout",
      });
    }
    throw new OperationError(`the first request to ${subject} failed: ${(err as Error).message}`, { cause: err });
  }
}
