// The live state of a `gs bench` run, fed by the run's hooks: what its panel (ui/bench-view.tsx) draws,
// derived here so the component only renders.
import type { Plan } from "./plan.js";
import type { ProgressSnapshot } from "./run.js";
import type { BenchMode } from "./types.js";

/** What the panel shows of the plan. */
export interface LivePlan {
  subject: string;
  mode: BenchMode;
  /** open loop: the target rate, req/s */
  rate?: number;
  /** closed loop: requests in flight */
  concurrency?: number;
  /** a --requests run: how many are measured */
  requests?: number;
  workers: number;
  connections: number;
  warmupMs: number;
  plannedMs?: number;
}

export function livePlan(plan: Plan): LivePlan {
  return {
    subject: plan.subject,
    mode: plan.mode,
    rate: plan.rate === undefined ? undefined : Math.round(plan.rate),
    concurrency: plan.concurrency,
    requests: plan.requests,
    workers: plan.workers.length,
    connections: plan.connections,
    warmupMs: plan.warmupMs,
    plannedMs: plan.plannedMs,
  };
}

/** Everything the panel draws at one instant: derived here so the component only renders. */
export interface LiveFigures {
  plan: LivePlan;
  /** starting: the workers are connecting, or no snapshot has come yet (the first comes after ~1 s) */
  phase: "starting" | "warm-up" | "measuring";
  /** warm-up: time into it; measuring: measured time (both interpolated between snapshots) */
  phaseMs: number;
  /** the phase's length, when known */
  phaseTotalMs?: number;
  /** a --requests run without a planned time: requests measured so far */
  requestsDone?: number;
  /** 0..1 of the current phase, when its end is known */
  fraction?: number;
  /** replies over the last second; undefined before the first snapshot */
  rps?: number;
  /** open loop: achieved / target, and whether that is more than 5% short */
  rateRatio?: number;
  behind: boolean;
  ok: number;
  errors: number;
  /** the largest latency seen in the current phase, ms */
  maxMs?: number;
  /** req/s of the last snapshots, oldest first */
  history: number[];
}

const HISTORY = 30;
/** open loop: achieved below this share of the target rate is "behind" */
const BEHIND_BELOW = 0.95;
// between snapshots (1 s apart) the clock moves the bar on, but not far past the last news
const MAX_INTERPOLATE_MS = 1500;

type Listener = () => void;

/** The live state of one run, fed by the run's hooks; the panel subscribes to it. */
export class BenchFeed {
  private plan?: LivePlan;
  private last?: { s: ProgressSnapshot; at: number };
  private history: number[] = [];
  private maxWarmup?: number;
  private ended = false;
  private listeners = new Set<Listener>();

  constructor(private readonly now: () => number = Date.now) {}

  start(plan: LivePlan): void {
    this.plan = plan;
    this.notify();
  }

  update(s: ProgressSnapshot): void {
    if (s.elapsedMs <= s.warmupMs) this.maxWarmup = Math.max(this.maxWarmup ?? 0, s.maxMs);
    this.last = { s, at: this.now() };
    this.history = [...this.history, s.rps].slice(-HISTORY);
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** What to draw now; undefined before the start and after the end (the panel then draws nothing). */
  figures(): LiveFigures | undefined {
    const plan = this.plan;
    if (!plan || this.ended) return undefined;
    const now = this.now();
    const s = this.last?.s;
    const f: LiveFigures = {
      plan,
      phase: "starting",
      phaseMs: 0,
      behind: false,
      ok: s?.ok ?? 0,
      errors: s?.errors ?? 0,
      history: this.history,
      rps: s?.rps,
    };
    // the time the workers start is only known from a snapshot: until then, say so rather than guess
    if (!s) return f;
    const elapsed = s.elapsedMs + Math.min(MAX_INTERPOLATE_MS, Math.max(0, now - this.last!.at));
    const warmingUp = elapsed < plan.warmupMs;
    f.phase = warmingUp ? "warm-up" : "measuring";
    f.maxMs = warmingUp ? this.maxWarmup : s.measuredMaxMs || undefined;
    if (warmingUp) {
      f.phaseMs = elapsed;
      f.phaseTotalMs = plan.warmupMs;
      f.fraction = elapsed / plan.warmupMs;
    } else if (plan.plannedMs !== undefined) {
      f.phaseMs = Math.min(plan.plannedMs, elapsed - plan.warmupMs);
      f.phaseTotalMs = plan.plannedMs;
      f.fraction = plan.plannedMs > 0 ? f.phaseMs / plan.plannedMs : 1;
    } else {
      f.phaseMs = elapsed - plan.warmupMs;
    }
    if (!warmingUp && plan.requests !== undefined) {
      f.requestsDone = Math.min(plan.requests, s.measuredRequests);
      if (plan.plannedMs === undefined) f.fraction = plan.requests > 0 ? f.requestsDone / plan.requests : 1;
    }
    if (plan.mode === "open" && plan.rate) {
      f.rateRatio = s.rps / plan.rate;
      f.behind = f.rateRatio < BEHIND_BELOW;
    }
    return f;
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }
}
