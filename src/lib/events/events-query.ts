// `gs events tail` and `gs events replay`, as data: which events, from where to where, at what pace.
//   tail    the last N events (default 10) on a subject, or all since a time; --follow then waits for new ones.
//   replay  a range given by its start (a time or a sequence) and optionally its end, read in order,
//           as fast as possible or at the original pace (--speed): read-only, nothing is re-published.
import type { NatsConnection } from "@nats-io/transport-node";
import type { ProtoRegistry } from "@gs/fleet/sdk/registry";
import { UsageError } from "../output/errors.js";
import { openJetStream } from "../state/jetstream-errors.js";
import { readEvents } from "./event-reader.js";
import { eventWindow, type StartPoint } from "./event-window.js";
import type { StoredEvent } from "./stored-event.js";

export const DEFAULT_TAIL = 10;

export interface TailOptions {
  filter: string;
  /** ms since the epoch */
  since?: number;
  /** the last N (default 10 without --since, all with it) */
  last?: number;
  follow: boolean;
  signal: AbortSignal;
  timeout: number;
}

export interface ReadSummary {
  /** events handed to onEvent */
  shown: number;
}

export async function tailEvents(
  nc: NatsConnection,
  registry: ProtoRegistry,
  opts: TailOptions,
  onEvent: (e: StoredEvent) => void,
): Promise<ReadSummary> {
  const jsm = await openJetStream(nc, opts.timeout);
  const last = opts.last ?? (opts.since === undefined ? DEFAULT_TAIL : undefined);
  const window = await eventWindow(jsm, opts.filter, {
    from: opts.since === undefined ? undefined : { time: opts.since },
    last,
  });
  if (window.count === 0 && !opts.follow) return { shown: 0 };
  const shown = await readEvents(
    nc,
    registry,
    {
      filter: opts.filter,
      start: window.start,
      endSeq: opts.follow ? undefined : window.lastSeq,
      signal: opts.signal,
      timeout: opts.timeout,
    },
    onEvent,
  );
  return { shown };
}

export interface ReplayOptions {
  filter: string;
  from: StartPoint;
  /** ms since the epoch: stop at the first event stored after it */
  until?: number;
  /** stop after this sequence */
  toSeq?: number;
  limit?: number;
  /** 1 = the original gaps between events, 10 = ten times faster; undefined = no waiting */
  speed?: number;
  signal: AbortSignal;
  timeout: number;
}

export async function replayEvents(
  nc: NatsConnection,
  registry: ProtoRegistry,
  opts: ReplayOptions,
  onEvent: (e: StoredEvent) => void,
): Promise<ReadSummary> {
  if ("seq" in opts.from && opts.toSeq !== undefined && opts.toSeq < opts.from.seq)
    throw new UsageError(`--to-seq ${opts.toSeq} is before --from-seq ${opts.from.seq}`, "give an end after the start");
  if ("time" in opts.from && opts.until !== undefined && opts.until < opts.from.time)
    throw new UsageError("--to is before --since", "give an end after the start");
  const jsm = await openJetStream(nc, opts.timeout);
  const window = await eventWindow(jsm, opts.filter, { from: opts.from });
  if (window.count === 0) return { shown: 0 };
  const shown = await readEvents(
    nc,
    registry,
    {
      filter: opts.filter,
      start: opts.from,
      endSeq: Math.min(opts.toSeq ?? window.lastSeq, window.lastSeq),
      until: opts.until,
      limit: opts.limit,
      speed: opts.speed,
      signal: opts.signal,
      timeout: opts.timeout,
    },
    onEvent,
  );
  return { shown };
}
