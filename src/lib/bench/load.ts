// The load generator of one worker thread: an open loop (a fixed schedule of intended send times)
// or a closed loop (C requests in flight), over the worker's own connections.
import { headers as natsHeaders, type Msg, type NatsConnection, type RequestOptions } from "@nats-io/transport-node";
import type { Histogram } from "hdr-histogram-js";
import { replyErrorKind, requestErrorKind } from "./error-kind.js";
import { encodeHistogram, newHistogram } from "./histogram.js";
import type { WorkerConfig, WorkerProgress, WorkerResult } from "./types.js";

export type LoadConfig = Omit<WorkerConfig, "settings" | "connections" | "index">;

const PROGRESS_EVERY_MS = 500;
const us = (ms: number) => Math.max(1, Math.round(ms * 1000));

export class LoadGenerator {
  private readonly latency = newHistogram();
  private readonly lag: Histogram | undefined;
  private readonly errorsByKind: Record<string, number> = {};
  private readonly requestOpts: RequestOptions;
  private ok = 0;
  private lastCompletion = 0;
  private sampleReply: Uint8Array | undefined;
  private stopped = false;
  private progress = { ok: 0, errors: 0, maxUs: 0 };
  // a tiny shared buffer to sleep on: sub-millisecond waits that setTimeout cannot do
  private readonly sleeper = new Int32Array(new SharedArrayBuffer(4));

  constructor(
    private readonly ncs: NatsConnection[],
    private readonly cfg: LoadConfig,
    private readonly onProgress: (p: WorkerProgress) => void = () => {},
  ) {
    if (ncs.length === 0) throw new Error("LoadGenerator needs at least one connection");
    this.lag = cfg.mode === "open" ? newHistogram() : undefined;
    const hdrs = Object.keys(cfg.headers).length ? natsHeaders() : undefined;
    for (const [k, v] of Object.entries(cfg.headers)) hdrs!.set(k, v);
    this.requestOpts = { timeout: cfg.timeoutMs, headers: hdrs };
  }

  /** Stop sending; requests in flight still complete (or time out) and are counted. */
  stop(): void {
    this.stopped = true;
  }

  /** Run from `startAt` (this thread's performance.now() clock) and return what was measured. */
  async run(startAt: number): Promise<WorkerResult> {
    const timer = setInterval(() => this.flushProgress(), PROGRESS_EVERY_MS);
    try {
      await sleepUntil(startAt);
      if (this.cfg.mode === "open") await this.openLoop(startAt);
      else await this.closedLoop(startAt);
    } finally {
      clearInterval(timer);
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
    const total = requests !== undefined ? warmupCount + requests : Math.max(0, Math.ceil((measureFrom + durationMs! - first) / interval));
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
          this.ncs[k % this.ncs.length]!.request(this.cfg.subject, this.cfg.payload, this.requestOpts).then(
            (m) => {
              this.replied(m, intended, measured);
              settle();
            },
            (err) => {
              this.failed(err, intended, measured);
              settle();
            },
          );
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
      // setTimeout cannot wait less than 1 ms; the sleep frees the core instead of spinning
      const pause = () => {
        const wait = first + k * interval - performance.now();
        if (wait > 0.02) Atomics.wait(this.sleeper, 0, 0, wait);
        tick();
      };
      tick();
    });
  }

  /** C lanes, each sending its next request when the previous one completes. */
  private async closedLoop(startAt: number): Promise<void> {
    const { concurrency = 1, warmupMs, durationMs, requests } = this.cfg;
    const measureFrom = startAt + warmupMs;
    const endAt = durationMs !== undefined ? measureFrom + durationMs : Infinity;
    let started = 0;
    const lane = async (nc: NatsConnection) => {
      while (!this.stopped) {
        const t0 = performance.now();
        const measured = t0 >= measureFrom;
        if (measured) {
          if (t0 >= endAt) return;
          if (requests !== undefined && started++ >= requests) return;
        }
        // one await per request, as in a bare request loop
        try {
          this.replied(await nc.request(this.cfg.subject, this.cfg.payload, this.requestOpts), t0, measured);
        } catch (err) {
          this.failed(err, t0, measured);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, (_, j) => lane(this.ncs[j % this.ncs.length]!)));
  }

  /** A failed request. Timeouts count in the latency at the time they gave up (a lower bound). */
  private failed(err: unknown, t0: number, measured: boolean): void {
    const now = performance.now();
    const kind = requestErrorKind(err);
    this.progress.errors++;
    if (kind === "timeout") this.complete(t0, now, measured);
    if (measured) this.errorsByKind[kind] = (this.errorsByKind[kind] ?? 0) + 1;
  }

  /** A reply: a successful one, or an error reply from the service. */
  private replied(m: Msg, t0: number, measured: boolean): void {
    const now = performance.now();
    const kind = replyErrorKind(m);
    if (kind) this.progress.errors++;
    else this.progress.ok++;
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
    this.latency.recordValue(v);
    this.lastCompletion = now;
  }

  private flushProgress(): void {
    const p = this.progress;
    if (p.ok || p.errors) this.onProgress({ type: "progress", ...p });
    this.progress = { ok: 0, errors: 0, maxUs: 0 };
  }
}

function sleepUntil(at: number): Promise<void> {
  const wait = at - performance.now();
  return wait > 0 ? new Promise((r) => setTimeout(r, wait)) : Promise.resolve();
}
