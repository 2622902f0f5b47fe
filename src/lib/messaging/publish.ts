// `gs publish`: encode once with the subject's type (or raw), publish N times, flush.
import type { NatsConnection } from "@nats-io/transport-node";
import type { ProtoRegistry } from "@gs/fleet/sdk/registry";
import { UsageError } from "../output/errors.js";
import { toNatsHeaders } from "./data.js";
import { checkMaxPayload, encodeFor, typesFor, unknownSubject } from "./payload.js";

export interface PublishOptions {
  subject: string;
  json?: unknown;
  raw?: Uint8Array;
  headers?: Record<string, string>;
  count?: number;
}

export interface PublishResult {
  subject: string;
  type?: string;
  count: number;
  bytes: number;
}

export interface PreparedPublish {
  bytes: Uint8Array;
  type?: string;
}

/** Encode and validate before connecting: bad input sends nothing. */
export function preparePublish(registry: ProtoRegistry, opts: PublishOptions): PreparedPublish {
  const types = typesFor(registry, opts.subject);
  let bytes: Uint8Array;
  if (opts.raw) bytes = opts.raw;
  else {
    if (!types) throw unknownSubject(registry, opts.subject);
    bytes = encodeFor(types.input, opts.json ?? {});
  }
  if (
    /[\s*>]/.test(opts.subject) ||
    opts.subject.startsWith(".") ||
    opts.subject.endsWith(".") ||
    opts.subject.includes("..")
  ) {
    throw new UsageError(`cannot publish to "${opts.subject}": a publish subject has no spaces or wildcards`);
  }
  return { bytes, type: types?.input.fullName.slice(1) };
}

export async function publish(
  nc: NatsConnection,
  prepared: PreparedPublish,
  opts: PublishOptions,
): Promise<PublishResult> {
  const { bytes, type } = prepared;
  checkMaxPayload(bytes.length, nc);
  const h = toNatsHeaders(opts.headers);
  const count = Math.max(1, opts.count ?? 1);
  for (let i = 0; i < count; i++) nc.publish(opts.subject, bytes, h ? { headers: h } : undefined);
  await nc.flush();
  return { subject: opts.subject, type, count, bytes: bytes.length };
}
