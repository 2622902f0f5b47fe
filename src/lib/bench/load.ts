// The load generator of one worker thread: an open loop (a fixed schedule of intended send times)
// or a closed loop (C requests in flight), over the worker's own connections.
//
// Requests are plain publishes with a reply subject under one wildcard inbox per connection, matched
// to their send time by a sequence number, with one timeout sweep for all of them. NATS.js's
// `request()` does the same on the wire, but per request it also allocates a promise, a timer and an
// Error and goes through a subscription mux: measured here, that made it cost ~2x the CPU per
// request, which on a machine shared with the service under test shows up as the service's limit.
import { createInbox, type Msg, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import type { Histogram } from "hdr-histogram-js";
import { toNatsHeaders } from "../messaging/data.js";
import { replyErrorKind, requestErrorKind, type ErrorKind } from "./error-kind.js";
import { encodeHistogram, newHistogram } from "./histogram.js";
import type { WorkerConfig, WorkerProgress, WorkerResult } from "./types.js";

export type LoadConfig = Omit<WorkerConfig, "settings" | "connections" | "index">;

const PROGRESS_EVERY_MS = 500;
/** the longest the open loop blocks this thread at once (replies wait that long to be read) */
const MAX_SLEEP_MS = 0.25;
const us = (ms: number) => Math.max(1, Math.round(ms * 1000));

/** A request in flight: when it was due (open loop) or sent (closed loop), and who waits for it. */
interface Pending {
  t0: number;
  measured: boolean;
  conn: number;
  /** called once the request completed, however it did */
  done: () => void;
}

export class LoadGenerator {
  private readonly latency = newHistogram();
  private readonly lag: Histogram | undefined;
  private readonly errorsByKind: Record<string, number> = {};
  private readonly headers: MsgHdrs | undefined;
  private readonly inboxes: string[] = [];
  /** by sequence number, in the order sent: the timeout sweep stops at the first one not yet due */
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private ok = 0;
  private lastCompletion = 0;
  private sampleReply: Uint8Array | undefined;
  private stopped = false;
  private readonly closedConns = new Set<number>();
  private progress = { ok: 0, errors: 0, maxUs: 0, measured: 0, measuredMaxUs: 0 };
  // a tiny shared buffer to sleep on: sub-millisecond waits that setTimeout cannot do
  private readonly sleeper = new Int32Array(new SharedArrayBuffer(4));

  constructor(
    private readonly ncs: NatsConnection[],
    private readonly cfg: LoadConfig,
    private readonly onProgress: (p: WorkerProgress) => void = () => {},
  ) {
    if (ncs.length === 0) throw new Error("LoadGenerator needs at least one connection");
    this.lag = cfg.mode === "open" ? newHistogram() : undefined;
    this.headers = toNatsHeaders(cfg.headers);
    ncs.forEach((nc, conn) => {
      const inbox = createInbox();
      this.inboxes.push(`${inbox}.`);
      const skip = inbox.length + 1;
      nc.subscribe(`${inbox}.*`, {
        callback: (err, m) => (err ? undefined : this.onReply(Number(m.subject.slice(skip)), m)),
      });
      // a closed connection fails what it had in flight, as request() would
      void nc.closed().then(() => {
        this.closedConns.add(conn);
        for (const [id, p] of this.pending) if (p.conn === conn) this.fail(id, p, "connection_closed");
      });
    });
  }

  /** Stop sending; requests in flight still complete (or time out) and are counted. */
  stop(): void {
    this.stopped = true;
  }

  /** Run from `startAt` (this thread's performance.now() clock) and return what was measured. */
  async run(startAt: number): Promise<WorkerResult> {
    const timer = setInterval(() => this.flushProgress(), PROGRESS_EVERY_MS);
    // the subscriptions must be known to the server before the first reply comes back
    await Promise.all(this.ncs.map((nc) => nc.flush()));
    const sweep = setInterval(() => this.sweepTimeouts(), Math.max(2, Math.min(100, this.cfg.timeoutMs / 20)));
    try {
      await sleepUntil(startAt);
      if (this.cfg.mode === "open") await this.openLoop(startAt);
      else await this.closedLoop(startAt);
    } finally {
      clearInterval(timer);
      clearInterval(sweep);
      this.flushProgress();
    }
    return {
      type: "done",
      histogram: encodeHistogram(this.latency),
      maxUs: this.latency.totalCount ? this.latency.maxValue : 0,
      lag: this.lag ? encodeHistogram(this.lag) : undefined,
      ok: this.ok,
      errorsByKind: this.errorsByKind,
      lastCompletionAt: this.lastCompletion ? performance.timeOrigin + this.lastCompletion : 0,
      sampleReply: this.sampleReply,
    };
  }

  /** Send one request on connection `conn`; `done` runs once it completed (reply, error or timeout). */
  private send(conn: number, t0: number, measured: boolean, done: () => void): void {
    const id = this.seq++;
    const p: Pending = { t0, measured, conn, done };
    if (this.closedConns.has(conn)) return this.fail(id, p, "connection_closed", false);
    this.pending.set(id, p);
    try {
      this.ncs[conn]!.publish(this.cfg.subject, this.cfg.payload, {
        reply: this.inboxes[conn]! + id,
        headers: this.headers,
      });
    } catch (err) {
      this.fail(id, p, requestErrorKind(err));
    }
  }

  /** Settle a request as failed, unless it was already settled; `tracked`: it is in `pending`. */
  private fail(id: number, p: Pending, kind: ErrorKind, tracked = true): void {
    if (tracked && !this.pending.delete(id)) return;
    this.failed(kind, p.t0, p.measured);
    p.done();
  }

  private onReply(id: number, m: Msg): void {
    const p = this.pending.get(id);
    // a reply after its request timed out was already counted
    if (!p) return;
    this.pending.delete(id);
    // the server's own status (no responders) rather than the service's reply
    const status = m.headers?.hasError ? m.headers.code : 0;
    if (status) this.failed(status === 503 ? "no_responders" : "other", p.t0, p.measured);
    else this.replied(m, p.t0, p.measured);
    p.done();
  }

  private sweepTimeouts(): void {
    const due = performance.now() - this.cfg.timeoutMs;
    for (const [id, p] of this.pending) {
      if (p.t0 > due) break;
      this.fail(id, p, "timeout");
    }
  }

  /**
   * Request k is due at first + k/rate whatever happened to the others, and its latency counts from
   * then: when the responder (or this generator) stalls, the wait shows in the percentiles instead
   * of silently lowering the request rate (coordinated omission).
   */
  private openLoop(startAt: number): Promise<void> {
    const { rate, phaseMs = 0, warmupMs, durationMs, requests } = this.cfg;
    const interval = 1000 / rate!;
    const first = startAt + phaseMs;
    const measureFrom = startAt + warmupMs;
    const warmupCount = Math.max(0, Math.ceil((measureFrom - first) / interval));
    const total =
      requests !== undefined
        ? warmupCount + requests
        : Math.max(0, Math.ceil((measureFrom + durationMs! - first) / interval));
    let k = 0;
    let inflight = 0;
    let scheduled = false;
    return new Promise((resolve) => {
      const settle = () => {
        inflight--;
        if (scheduled && inflight === 0) resolve();
      };
      const tick = () => {
        const now = performance.now();
        // after a pause of this thread, every overdue request goes out at once: that is the schedule
        while (k < total && !this.stopped && first + k * interval <= now) {
          const intended = first + k * interval;
          const measured = k >= warmupCount;
          if (measured) this.lag!.recordValue(us(now - intended));
          inflight++;
          this.send(k % this.ncs.length, intended, measured, settle);
          k++;
        }
        if (k >= total || this.stopped) {
          scheduled = true;
          if (inflight === 0) resolve();
          return;
        }
        const wait = first + k * interval - performance.now();
        if (wait > 1.5) setTimeout(tick, Math.floor(wait - 0.5));
        // yield first: NATS.js writes what was just sent in a microtask, and replies are read in the poll phase
        else setImmediate(pause);
      };
      // setTimeout cannot wait less than 1 ms; a sleep frees the core instead of spinning. But this
      // thread also reads the replies, and none is read while it sleeps: one long sleep to the next
      // send would time a reply that came meanwhile as late as the wake-up (at 2,000 req/s, p50 read
      // 1.2 ms for a 0.4 ms echo). So it sleeps in slices of at most 0.25 ms, reading replies between.
      const pause = () => {
        const wait = first + k * interval - performance.now();
        if (wait > 0.02) Atomics.wait(this.sleeper, 0, 0, Math.min(wait, MAX_SLEEP_MS));
        tick();
      };
      tick();
    });
  }

  /** C lanes, each sending its next request when the previous one completes. */
  private closedLoop(startAt: number): Promise<void> {
    const { concurrency = 1, warmupMs, durationMs, requests } = this.cfg;
    const measureFrom = startAt + warmupMs;
    const endAt = durationMs !== undefined ? measureFrom + durationMs : Infinity;
    let started = 0;
    let lanes = concurrency;
    return new Promise((resolve) => {
      const lane = (conn: number) => {
        // the next request leaves from the completion of this one, as in an awaiting loop, but not
        // inside it: a reply handled synchronously would otherwise send from the read loop, deeper each time
        const done = () => queueMicrotask(next);
        const next = () => {
          const t0 = performance.now();
          const measured = t0 >= measureFrom;
          // a connection closed for good ends its lanes (an open loop keeps its schedule and counts each failure)
          const over =
            this.stopped ||
            this.closedConns.has(conn) ||
            (measured && (t0 >= endAt || (requests !== undefined && started++ >= requests)));
          if (over) {
            if (--lanes === 0) resolve();
            return;
          }
          this.send(conn, t0, measured, done);
        };
        next();
      };
      for (let j = 0; j < concurrency; j++) lane(j % this.ncs.length);
    });
  }

  /** A failed request. Timeouts count in the latency at the time they gave up (a lower bound). */
  private failed(kind: ErrorKind, t0: number, measured: boolean): void {
    const now = performance.now();
    this.progress.errors++;
    if (measured) this.progress.measured++;
    if (kind === "timeout") this.complete(t0, now, measured);
    if (measured) this.errorsByKind[kind] = (this.errorsByKind[kind] ?? 0) + 1;
  }

  /** A reply: a successful one, or an error reply from the service. */
  private replied(m: Msg, t0: number, measured: boolean): void {
    const now = performance.now();
    const kind = replyErrorKind(m);
    if (kind) this.progress.errors++;
    else this.progress.ok++;
    if (measured) this.progress.measured++;
    this.complete(t0, now, measured);
    if (!measured) return;
    if (kind) this.errorsByKind[kind] = (this.errorsByKind[kind] ?? 0) + 1;
    else {
      this.ok++;
      this.sampleReply ??= m.data.slice();
    }
  }

  private complete(t0: number, now: number, measured: boolean): void {
    const v = us(now - t0);
    if (v > this.progress.maxUs) this.progress.maxUs = v;
    if (!measured) return;
    if (v > this.progress.measuredMaxUs) this.progress.measuredMaxUs = v;
    this.latency.recordValue(v);
    this.lastCompletion = now;
  }

  private flushProgress(): void {
    const p = this.progress;
    if (p.ok || p.errors) this.onProgress({ type: "progress", ...p });
    this.progress = { ok: 0, errors: 0, maxUs: 0, measured: 0, measuredMaxUs: 0 };
  }
}

function sleepUntil(at: number): Promise<void> {
  const wait = at - performance.now();
  return wait > 0 ? new Promise((r) => setTimeout(r, wait)) : Promise.resolve();
}
