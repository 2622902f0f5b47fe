// Reads the EVENTS stream in order through an ordered consumer (ephemeral, in memory, no acks; the
// server forgets it when gs is gone, and gs deletes it when done): nothing is published, acknowledged
// or removed. A bounded read stops at the window's end; a followed one waits for new events until
// its signal aborts.
import type { NatsConnection } from "@nats-io/transport-node";
import { jetstream, type ConsumerMessages } from "@nats-io/jetstream";
import { EVENTS_STREAM } from "@gs/fleet/sdk/events";
import type { ProtoRegistry } from "@gs/fleet/sdk/registry";
import { jetStreamFailure } from "../state/jetstream-errors.js";
import type { StartPoint } from "./event-window.js";
import { decodeEvent, type StoredEvent } from "./stored-event.js";

export interface ReadEventsOptions {
  filter: string;
  start: StartPoint;
  /** stop after this stream sequence; undefined: follow new events until `signal` aborts */
  endSeq?: number;
  /** stop at the first event stored after this time (ms since the epoch) */
  until?: number;
  /** stop after this many events */
  limit?: number;
  /** keep the original gaps between events, divided by `speed` (1 = original pace); default: no waiting */
  speed?: number;
  signal: AbortSignal;
  /** JetStream API timeout, ms */
  timeout: number;
}

/** A bounded read that hears nothing for this long has reached the end (its last events aged out meanwhile). */
const QUIET_END_MS = 2000;

/** Hand each event of the range to `onEvent`, in stream order; resolves with how many there were. */
export async function readEvents(
  nc: NatsConnection,
  registry: ProtoRegistry,
  opts: ReadEventsOptions,
  onEvent: (e: StoredEvent) => void,
): Promise<number> {
  if (opts.signal.aborted) return 0;
  const js = jetstream(nc, { timeout: opts.timeout });
  let messages: ConsumerMessages;
  const consumer = await js.consumers
    .get(EVENTS_STREAM, {
      filter_subjects: opts.filter,
      ...("seq" in opts.start
        ? { opt_start_seq: opts.start.seq }
        : { opt_start_time: new Date(opts.start.time).toISOString() }),
    })
    .catch((err: unknown) => {
      throw jetStreamFailure(err, `read the ${EVENTS_STREAM} stream`);
    });
  try {
    messages = await consumer.consume({ max_messages: 256 });
  } catch (err) {
    await consumer.delete().catch(() => undefined);
    throw jetStreamFailure(err, `read the ${EVENTS_STREAM} stream`);
  }
  const stop = () => void messages.close().catch(() => undefined);
  opts.signal.addEventListener("abort", stop, { once: true });
  const bounded = opts.endSeq !== undefined;
  let quiet: NodeJS.Timeout | undefined;
  const resetQuiet = () => {
    if (!bounded) return;
    clearTimeout(quiet);
    quiet = setTimeout(stop, Math.max(QUIET_END_MS, opts.timeout));
  };
  let n = 0;
  let previous: number | undefined;
  try {
    resetQuiet();
    for await (const m of messages) {
      resetQuiet();
      if (opts.endSeq !== undefined && m.seq > opts.endSeq) break;
      const time = m.time.getTime();
      if (opts.until !== undefined && time > opts.until) break;
      if (opts.speed && previous !== undefined && time > previous) {
        clearTimeout(quiet);
        await pause((time - previous) / opts.speed, opts.signal);
        if (opts.signal.aborted) break;
        resetQuiet();
      }
      previous = time;
      onEvent(decodeEvent(registry, { seq: m.seq, time: m.timestamp, subject: m.subject, data: m.data }));
      n++;
      if (opts.limit !== undefined && n >= opts.limit) break;
      if (opts.endSeq !== undefined && (m.seq >= opts.endSeq || m.info.pending === 0)) break;
    }
  } finally {
    clearTimeout(quiet);
    opts.signal.removeEventListener("abort", stop);
    await messages.close().catch(() => undefined);
    await consumer.delete().catch(() => undefined);
  }
  return n;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
