// Runs a plan: start every share of the load together, relay their progress, merge their histograms.
import type { Histogram } from "hdr-histogram-js";
import { mergeHistograms, mergeWorkerHistograms } from "./histogram.js";
import type { Plan } from "./plan.js";
import { workerThreadShare, type LoadShare } from "./shares.js";
import type { WorkerProgress } from "./types.js";

export interface ProgressSnapshot {
  /** ms since the start, warm-up included */
  elapsedMs: number;
  warmupMs: number;
  /** planned measured time, when known */
  plannedMs?: number;
  ok: number;
  errors: number;
  /** over the last second */
  rps: number;
  /** the largest latency over the last second, warm-up included */
  maxMs: number;
  /** requests completed in the measured window so far (after the warm-up) */
  measuredRequests: number;
  /** the largest latency in the measured window so far */
  measuredMaxMs: number;
}

export interface RunHooks {
  onProgress?(s: ProgressSnapshot): void;
  /** abort: stop sending, let requests in flight finish, report what was measured */
  signal?: AbortSignal;
}

export interface RunOutcome {
  latency: Histogram;
  /** exact, µs */
  maxUs: number;
  lag?: Histogram;
  ok: number;
  errorsByKind: Record<string, number>;
  /** from the end of the warm-up to the last measured reply */
  seconds: number;
  /** CPU time this process (all its threads) used from the end of the warm-up to the end, s */
  cpuSeconds: number;
  sampleReply?: Uint8Array;
}

// time for the start message to reach every worker, so they all begin on the same schedule
const START_DELAY_MS = 30;
const PROGRESS_EVERY_MS = 1000;

export async function runWorkers(plan: Plan, workerFile: string, hooks: RunHooks = {}): Promise<RunOutcome> {
  const counts = { ok: 0, errors: 0, maxUs: 0, lastOk: 0, lastErrors: 0, measured: 0, measuredMaxUs: 0 };
  const onProgress = (m: WorkerProgress) => {
    counts.ok += m.ok;
    counts.errors += m.errors;
    counts.maxUs = Math.max(counts.maxUs, m.maxUs);
    counts.measured += m.measured;
    counts.measuredMaxUs = Math.max(counts.measuredMaxUs, m.measuredMaxUs);
  };
  const shares: LoadShare[] = plan.workers.map((cfg) => workerThreadShare(workerFile, cfg, onProgress));
  let progressTimer: NodeJS.Timeout | undefined;
  let cpuTimer: NodeJS.Timeout | undefined;
  let startTimer: NodeJS.Timeout | undefined;
  let finished = false;
  const stopAll = () => shares.forEach((s) => s.stop());
  try {
    await Promise.all(shares.map((s) => s.ready));
    const startAt = Date.now() + START_DELAY_MS;
    const { warmupMs } = plan;
    for (const s of shares) s.start(startAt);
    hooks.signal?.addEventListener("abort", stopAll, { once: true });
    // the generator's own CPU over the measured window: near `workers` cores busy means it, not the service, was the limit
    let cpuAtMeasure = process.cpuUsage();
    cpuTimer = setTimeout(() => (cpuAtMeasure = process.cpuUsage()), Math.max(0, startAt + warmupMs - Date.now()));
    if (hooks.onProgress) {
      const snapshot = (): ProgressSnapshot => ({
        elapsedMs: Date.now() - startAt,
        warmupMs,
        plannedMs: plan.plannedMs,
        ok: counts.ok,
        errors: counts.errors,
        rps: ((counts.ok - counts.lastOk + counts.errors - counts.lastErrors) * 1000) / PROGRESS_EVERY_MS,
        maxMs: counts.maxUs / 1000,
        measuredRequests: counts.measured,
        measuredMaxMs: counts.measuredMaxUs / 1000,
      });
      // the moment the load begins, so a live view counts from it rather than from the first second's news
      startTimer = setTimeout(
        () => hooks.onProgress!({ ...snapshot(), elapsedMs: 0, rps: 0 }),
        Math.max(0, startAt - Date.now()),
      );
      progressTimer = setInterval(() => {
        const s = snapshot();
        counts.lastOk = counts.ok;
        counts.lastErrors = counts.errors;
        counts.maxUs = 0;
        hooks.onProgress!(s);
      }, PROGRESS_EVERY_MS);
    }

    const done = await Promise.all(shares.map((s) => s.result));
    finished = true;
    const cpu = process.cpuUsage(cpuAtMeasure);
    const measureFrom = startAt + warmupMs;
    const last = Math.max(...done.map((d) => d.lastCompletionAt));
    const errorsByKind: Record<string, number> = {};
    for (const d of done)
      for (const [k, n] of Object.entries(d.errorsByKind)) errorsByKind[k] = (errorsByKind[k] ?? 0) + n;
    const { histogram, maxUs } = mergeWorkerHistograms(done);
    return {
      latency: histogram,
      maxUs,
      lag: plan.mode === "open" ? mergeHistograms(done.flatMap((d) => (d.lag ? [d.lag] : []))) : undefined,
      ok: done.reduce((n, d) => n + d.ok, 0),
      errorsByKind,
      seconds: last > measureFrom ? (last - measureFrom) / 1000 : 0,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      sampleReply: done.find((d) => d.sampleReply)?.sampleReply,
    };
  } finally {
    clearInterval(progressTimer);
    clearTimeout(cpuTimer);
    clearTimeout(startTimer);
    hooks.signal?.removeEventListener("abort", stopAll);
    // after a failure nothing is worth waiting for
    await Promise.all(shares.map((s) => s.close(!finished)));
  }
}
