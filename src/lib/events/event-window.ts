// Where a read of the EVENTS stream starts and ends. JetStream reads forward only, so "the last N
// events on a subject" is found by counting: a consumer's num_pending at creation is the number of
// matching events from its start on, and that count only falls as the start moves later, so a binary
// search over sequences finds the start of the last N in O(log n) counts (each an ephemeral, in-memory
// consumer, deleted at once) without reading the events before it.
import { AckPolicy, DeliverPolicy, type JetStreamManager } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { EVENTS_STREAM } from "@gs/fleet/sdk/events";
import { OperationError } from "../output/errors.js";
import { isStreamNotFound, jetStreamFailure } from "../state/jetstream-errors.js";

export type StartPoint = { seq: number } | { time: number };

export interface EventWindow {
  start: StartPoint;
  /** events on the filter from `start` to the stream's end when the window was taken */
  count: number;
  /** the stream's last sequence then: a bounded read stops there */
  lastSeq: number;
}

export interface StreamBounds {
  firstSeq: number;
  lastSeq: number;
  messages: number;
}

/** The EVENTS stream's sequence range; a clear error when the stream does not exist. */
export async function eventsStreamBounds(jsm: JetStreamManager): Promise<StreamBounds> {
  try {
    const { state } = await jsm.streams.info(EVENTS_STREAM);
    return { firstSeq: state.first_seq, lastSeq: state.last_seq, messages: state.messages };
  } catch (err) {
    if (isStreamNotFound(err))
      throw new OperationError(`there is no ${EVENTS_STREAM} stream on this NATS`, {
        hint: "the first service to start creates it (`gs up`); check --server or --target",
        code: "no_events_stream",
      });
    throw jetStreamFailure(err, `read the ${EVENTS_STREAM} stream`);
  }
}

/** Events on `filter` from `start` on, counted by the server. */
export async function countFrom(jsm: JetStreamManager, filter: string, start: StartPoint): Promise<number> {
  try {
    const ci = await jsm.consumers.add(EVENTS_STREAM, {
      ack_policy: AckPolicy.None,
      filter_subject: filter,
      ...("seq" in start
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start.seq }
        : { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(start.time).toISOString() }),
      mem_storage: true,
      num_replicas: 1,
      // removed by the server should the delete below not arrive
      inactive_threshold: nanos(10_000),
    });
    void jsm.consumers.delete(EVENTS_STREAM, ci.name).catch(() => undefined);
    return ci.num_pending;
  } catch (err) {
    throw jetStreamFailure(err, `count the events on ${filter}`);
  }
}

/**
 * The window of a read: from `from` (default: the stream's start), and with `last` only the last
 * `last` events of it. With no matching event, `count` is 0 and `start` is where new ones will be.
 */
export async function eventWindow(
  jsm: JetStreamManager,
  filter: string,
  opts: { from?: StartPoint; last?: number },
): Promise<EventWindow> {
  const bounds = await eventsStreamBounds(jsm);
  const from = opts.from ?? { seq: bounds.firstSeq };
  const total = bounds.messages === 0 ? 0 : await countFrom(jsm, filter, from);
  if (total === 0) return { start: opts.from ?? { seq: bounds.lastSeq + 1 }, count: 0, lastSeq: bounds.lastSeq };
  const last = opts.last;
  if (last === undefined || total <= last) return { start: from, count: total, lastSeq: bounds.lastSeq };
  // count(lo) >= last > count(hi); the answer is the largest seq with count >= last, never past lastSeq-last+1
  let hi = bounds.lastSeq - last + 1;
  if ((await countFrom(jsm, filter, { seq: hi })) >= last)
    return { start: { seq: hi }, count: last, lastSeq: bounds.lastSeq };
  let lo = "seq" in from ? from.seq : bounds.firstSeq;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if ((await countFrom(jsm, filter, { seq: mid })) >= last) lo = mid;
    else hi = mid;
  }
  return { start: { seq: lo }, count: last, lastSeq: bounds.lastSeq };
}
