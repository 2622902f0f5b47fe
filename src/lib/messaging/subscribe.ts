// `gs subscribe`: every message on a subject (wildcards allowed), decoded by its own subject's type.
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { JsonObject } from "@gs/fleet/sdk/json-codec";
import type { ProtoRegistry } from "@gs/fleet/sdk/registry";
import { UsageError } from "../output/errors.js";
import { decodeOrDump, typesFor } from "./payload.js";

export interface ReceivedMessage {
  subject: string;
  received: string;
  /** the proto type used to decode, when the subject has one */
  type?: string;
  /** decoded JSON, or hex + base64 when the type is unknown or the bytes do not fit it */
  data: JsonObject | { hex: string; base64: string; error?: string };
  bytes: number;
  reply?: string;
  headers?: Record<string, string>;
}

export interface SubscribeOptions {
  subject: string;
  queue?: string;
  /** stop after this many messages */
  count?: number;
  /** show payloads as hex/base64 without decoding */
  raw?: boolean;
}

export function validateSubscribeSubject(subject: string): void {
  const tokens = subject.split(".");
  if (
    !subject ||
    /\s/.test(subject) ||
    tokens.some(
      (t, i) =>
        t === "" || (t.includes(">") && (t !== ">" || i !== tokens.length - 1)) || (t.includes("*") && t !== "*"),
    )
  ) {
    throw new UsageError(
      `"${subject}" is not a valid subject`,
      "tokens are separated by dots; * matches one token, > the rest (last token only)",
    );
  }
}

/** Subscribe and hand each decoded message to `onMessage`; resolves when `count` arrived or `stop` was called. */
export function subscribe(
  nc: NatsConnection,
  registry: ProtoRegistry,
  opts: SubscribeOptions,
  onMessage: (m: ReceivedMessage) => void,
): { done: Promise<number>; stop: () => Promise<void>; sub: Subscription } {
  validateSubscribeSubject(opts.subject);
  const sub = nc.subscribe(opts.subject, { queue: opts.queue, max: opts.count });
  const done = (async () => {
    let n = 0;
    for await (const m of sub) {
      const type = opts.raw ? undefined : typesFor(registry, m.subject)?.input;
      const decoded = decodeOrDump(type, m.data);
      const headers = m.headers
        ? Object.fromEntries([...m.headers.keys()].map((k) => [k, m.headers!.get(k)]))
        : undefined;
      onMessage({
        subject: m.subject,
        received: new Date().toISOString(),
        type: type && "json" in decoded ? type.fullName.slice(1) : undefined,
        data: "json" in decoded ? decoded.json : decoded,
        bytes: m.data.length,
        reply: m.reply || undefined,
        headers,
      });
      n++;
    }
    return n;
  })();
  return { done, sub, stop: () => sub.drain() };
}
