// Request latency per endpoint, kept by every service instance and reported in $SRV.STATS as each
// endpoint's `data` (ADR-32): HDR histograms over the last minute (twelve 5 s slots, moved on by one
// unref'd timer per instance) and since start. Recording a request is one histogram update and a few
// array writes: no allocation, no timer and no clock read of its own (the runtime already timed it).
import hdr, { type Histogram } from "hdr-histogram-js";

/** The slots of the sliding window: the window spans the last 55-60 s (the current slot is partial). */
export const SLOT_MS = 5_000;
export const SLOTS = 12;
/** How often the instance's one timer moves the slots on: a sample lands at most this late in its slot. */
const TICK_MS = 1_000;
/** 512 ns resolution at the bottom (HDR rounds the lowest value down to a power of 2) */
const LOWEST_NS = 1_000;
/** longer requests are recorded as 10 min; their exact duration still shows in `max` */
const HIGHEST_NS = 600_000_000_000;

/**
 * `data` of one endpoint in a `$SRV.STATS` reply, for instances that keep histograms (all, unless
 * started with GS_LATENCY_HISTOGRAMS=0). Every duration is in nanoseconds, like ADR-32's
 * `processing_time`. Example: `{ unit: "ns", window: { seconds: 57.3, count: 1200, errors: 2,
 * p50: 412_000, p90: 1_050_000, p99: 20_400_000, max: 21_800_123, hdr: "HISTFAAAA..." }, total: {...} }`.
 */
export interface LatencyData {
  unit: "ns";
  /** the last 55-60 s (less just after start) */
  window: LatencySummary;
  /** since the instance started */
  total: LatencySummary;
}

export interface LatencySummary {
  /** the time these figures cover, in seconds (divide `count` by it for a rate) */
  seconds: number;
  /** requests answered (replies and error replies) */
  count: number;
  /** error replies among them */
  errors: number;
  /** percentiles, ns, to HDR's ~1% precision (2 significant digits), never above `max`; 0 when count is 0 */
  p50: number;
  p90: number;
  p99: number;
  /** the slowest request, ns, exact */
  max: number;
  /**
   * The histogram itself (ns; hdr-histogram-js `encodeIntoCompressedBase64`, the HdrHistogram V2
   * compressed encoding): decode it to merge instances exactly or to count requests under bucket bounds.
   */
  hdr: string;
}

/** The bench switch: GS_LATENCY_HISTOGRAMS=0 turns the histograms off, to measure what they cost. */
export function latencyHistogramsEnabled(env: NodeJS.ProcessEnv): boolean {
  return env.GS_LATENCY_HISTOGRAMS !== "0";
}

const newHistogram = (): Histogram =>
  hdr.build({
    lowestDiscernibleValue: LOWEST_NS,
    highestTrackableValue: HIGHEST_NS,
    numberOfSignificantValueDigits: 2,
    bitBucketSize: 32,
    autoResize: false,
  });

/** One endpoint's histograms: a ring of slots for the window, and what has left the window. */
export class EndpointLatency {
  private readonly slots: Histogram[] = Array.from({ length: SLOTS }, newHistogram);
  private readonly slotErrors = new Float64Array(SLOTS);
  private readonly slotMax = new Float64Array(SLOTS);
  /** samples of the slots that left the window: the totals are these plus the window */
  private readonly past = newHistogram();
  private pastErrors = 0;
  private pastMax = 0;
  private current = 0;
  private slotStart: number;

  constructor(private readonly startedAt: number) {
    this.slotStart = startedAt;
  }

  /** One answered request that took `ns` nanoseconds; `failed` when the reply was an error. */
  record(ns: number, failed: boolean): void {
    const i = this.current;
    this.slots[i]!.recordValue(ns < HIGHEST_NS ? ns : HIGHEST_NS);
    if (ns > this.slotMax[i]!) this.slotMax[i] = ns;
    if (failed) this.slotErrors[i]!++;
  }

  /** Move to the slot `now` (ms, the tracker's clock) falls in; the slots reused fold into the past. */
  rotate(now: number): void {
    const steps = Math.floor((now - this.slotStart) / SLOT_MS);
    if (steps <= 0) return;
    this.slotStart += steps * SLOT_MS;
    // after a full turn every slot has left the window: no need to turn again
    for (let n = Math.min(steps, SLOTS); n > 0; n--) {
      this.current = (this.current + 1) % SLOTS;
      this.retire(this.current);
    }
  }

  private retire(i: number): void {
    const h = this.slots[i]!;
    if (h.totalCount > 0) {
      this.past.add(h);
      h.reset();
    }
    this.pastErrors += this.slotErrors[i]!;
    this.pastMax = Math.max(this.pastMax, this.slotMax[i]!);
    this.slotErrors[i] = 0;
    this.slotMax[i] = 0;
  }

  /** The figures as of `now`; `scratch` is a histogram the caller lends (reset here), so stats allocate less. */
  snapshot(now: number, scratch: Histogram = newHistogram()): LatencyData {
    this.rotate(now);
    scratch.reset();
    let errors = 0;
    let max = 0;
    for (let i = 0; i < SLOTS; i++) {
      if (this.slots[i]!.totalCount > 0) scratch.add(this.slots[i]!);
      errors += this.slotErrors[i]!;
      max = Math.max(max, this.slotMax[i]!);
    }
    const sinceStart = (now - this.startedAt) / 1000;
    const windowSeconds = Math.min(sinceStart, ((SLOTS - 1) * SLOT_MS + (now - this.slotStart)) / 1000);
    const window = summarize(scratch, windowSeconds, errors, max);
    if (this.past.totalCount > 0) scratch.add(this.past);
    const total = summarize(scratch, sinceStart, errors + this.pastErrors, Math.max(max, this.pastMax));
    return { unit: "ns", window, total };
  }
}

function summarize(h: Histogram, seconds: number, errors: number, max: number): LatencySummary {
  const count = h.totalCount;
  // HDR reports a bucket's upper bound, which can pass the exact max by up to 1%
  const at = (p: number) => (count > 0 ? Math.min(h.getValueAtPercentile(p), max) : 0);
  return {
    seconds: Math.round(seconds * 1000) / 1000,
    count,
    errors,
    p50: at(50),
    p90: at(90),
    p99: at(99),
    max,
    hdr: hdr.encodeIntoCompressedBase64(h),
  };
}

/** A monotonic clock in ms: slots must not jump when the wall clock is set. */
const monotonicMs = () => performance.now();

/** The histograms of one service instance, one per endpoint, keyed by the endpoint's subject. */
export class LatencyTracker {
  private readonly endpoints = new Map<string, EndpointLatency>();
  private readonly scratch = newHistogram();
  private timer: NodeJS.Timeout | undefined;

  /** `clock`: ms, monotonic; tests pass their own to move time on without waiting a minute */
  constructor(private readonly clock: () => number = monotonicMs) {}

  /** The histograms of the endpoint on `subject`, created on first use. */
  endpoint(subject: string): EndpointLatency {
    let e = this.endpoints.get(subject);
    if (!e) this.endpoints.set(subject, (e = new EndpointLatency(this.clock())));
    return e;
  }

  /** The endpoint's `data` for $SRV.STATS, or null for an endpoint without histograms. */
  data(subject: string): LatencyData | null {
    return this.endpoints.get(subject)?.snapshot(this.clock(), this.scratch) ?? null;
  }

  /** Start the one timer that moves every endpoint's slots on (unref'd: it never keeps the process up). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      const now = this.clock();
      for (const e of this.endpoints.values()) e.rotate(now);
    }, TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
