// How a run is split across worker threads and connections: pure, so the arithmetic is unit-tested.
import type { ConnectionSettings } from "@gs/fleet/sdk/connection";
import { UsageError } from "../output/errors.js";
import type { BenchMode, WorkerConfig } from "./types.js";

export interface BenchOptions {
  subject: string;
  payload: Uint8Array;
  headers?: Record<string, string>;
  /** open loop when set: constant arrival rate, req/s */
  rate?: number;
  /** closed loop: requests in flight (default 64 when no rate is given) */
  concurrency?: number;
  /** worker threads; undefined: the machine's cores (fewer when there is less work to share) */
  workers?: number;
  /** NATS connections in all; undefined: one per worker */
  connections?: number;
  durationMs?: number;
  requests?: number;
  warmupMs?: number;
  timeoutMs: number;
}

const DEFAULT_CONCURRENCY = 64;
const DEFAULT_DURATION_MS = 10_000;

/** The run as planned, in total, and its split across workers. */
export interface Plan {
  subject: string;
  mode: BenchMode;
  /** open loop: the target rate, req/s */
  rate?: number;
  /** closed loop: requests in flight */
  concurrency?: number;
  /** a --requests run: how many are measured */
  requests?: number;
  warmupMs: number;
  workers: WorkerConfig[];
  connections: number;
  /** planned measured time (ms), for progress; a --requests run estimates it from the rate when it can */
  plannedMs?: number;
}

/** Flag combinations that cannot work; checked before DATA is read or anything connects. */
export function checkBenchOptions(opts: Omit<BenchOptions, "subject" | "payload">): void {
  if (opts.rate !== undefined && opts.concurrency !== undefined) {
    throw new UsageError(
      "give --rate (open loop) or --concurrency (closed loop), not both",
      "--rate R sends R requests/s whatever the replies do; --concurrency C keeps C in flight",
    );
  }
  if (opts.durationMs !== undefined && opts.requests !== undefined)
    throw new UsageError("give --duration or --requests, not both");
  positive(opts.rate, "--rate");
  positive(opts.concurrency, "--concurrency");
  positive(opts.workers, "--workers");
  positive(opts.connections, "--connections");
  positive(opts.requests, "--requests");
  if (opts.rate !== undefined && opts.rate > 1_000_000)
    throw new UsageError(
      `--rate ${opts.rate} is more than 1,000,000 req/s`,
      "one gs bench cannot send that; run several",
    );
}

/** Validate the options and split them across `cores`-many workers at most. */
export function planBench(opts: BenchOptions, settings: ConnectionSettings, cores: number): Plan {
  checkBenchOptions(opts);

  const mode: BenchMode = opts.rate !== undefined ? "open" : "closed";
  const concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
  const warmupMs = opts.warmupMs ?? 0;
  const durationMs = opts.requests === undefined ? (opts.durationMs ?? DEFAULT_DURATION_MS) : undefined;
  // the work that can be shared bounds the workers: a request, a unit of rate, a request in flight
  const shareable = Math.min(mode === "open" ? Math.ceil(opts.rate!) : concurrency, opts.requests ?? Infinity);
  let workers = opts.workers ?? Math.max(1, Math.min(cores, shareable, opts.connections ?? Infinity));
  if (opts.workers !== undefined && workers > shareable) {
    throw new UsageError(`--workers ${workers} is more than the work to share (${shareable})`, "use fewer --workers");
  }
  workers = Math.max(1, workers);
  const connections = opts.connections ?? workers;
  if (connections < workers) {
    throw new UsageError(
      `--connections ${connections} is fewer than --workers ${workers}`,
      "each worker needs a connection of its own: raise --connections or lower --workers",
    );
  }

  const configs: WorkerConfig[] = [];
  for (let i = 0; i < workers; i++) {
    configs.push({
      index: i,
      settings,
      connections: share(connections, workers, i),
      subject: opts.subject,
      payload: opts.payload,
      headers: opts.headers ?? {},
      timeoutMs: opts.timeoutMs,
      mode,
      // worker i sends the requests i, i+W, i+2W, ... of one evenly spaced schedule
      rate: mode === "open" ? opts.rate! / workers : undefined,
      phaseMs: mode === "open" ? (i * 1000) / opts.rate! : undefined,
      concurrency: mode === "closed" ? share(concurrency, workers, i) : undefined,
      warmupMs,
      durationMs,
      requests: opts.requests === undefined ? undefined : share(opts.requests, workers, i),
    });
  }
  const plannedMs = durationMs ?? (mode === "open" ? (opts.requests! / opts.rate!) * 1000 : undefined);
  return {
    subject: opts.subject,
    mode,
    rate: mode === "open" ? opts.rate : undefined,
    concurrency: mode === "closed" ? concurrency : undefined,
    requests: opts.requests,
    warmupMs,
    workers: configs,
    connections,
    plannedMs,
  };
}

/** The i-th of n near-equal shares of total. */
export function share(total: number, n: number, i: number): number {
  return Math.floor(total / n) + (i < total % n ? 1 : 0);
}

function positive(v: number | undefined, flag: string): void {
  if (v !== undefined && !(Number.isFinite(v) && v > 0))
    throw new UsageError(`${flag} must be a positive number, got ${v}`);
}
