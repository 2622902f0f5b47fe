// The shapes that cross the worker boundary and the --json contract of `gs bench`.

export type BenchMode = "open" | "closed";

/** Percentiles in milliseconds, from the merged HDR histogram. */
export interface LatencyMs {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** One bar of the latency histogram drawn in the terminal (and kept in --json). */
export interface LatencyBucket {
  from_ms: number;
  to_ms: number;
  count: number;
}

/** What one worker thread is asked to do; plain data (it is structured-cloned). */
export interface WorkerConfig {
  index: number;
  settings: import("@gs/fleet/sdk/connection").ConnectionSettings;
  connections: number;
  subject: string;
  payload: Uint8Array;
  headers: Record<string, string>;
  timeoutMs: number;
  mode: BenchMode;
  /** open loop: this worker's share of the rate, and the offset of its first send so the workers interleave */
  rate?: number;
  phaseMs?: number;
  /** closed loop: this worker's requests in flight */
  concurrency?: number;
  warmupMs: number;
  /** one of these two ends the run */
  durationMs?: number;
  requests?: number;
}

/** Counts a worker reports while it runs, since its previous report. */
export interface WorkerProgress {
  type: "progress";
  ok: number;
  errors: number;
  maxUs: number;
  /** of those, the requests in the measured window (after the warm-up), and their largest latency */
  measured: number;
  measuredMaxUs: number;
}

export interface WorkerResult {
  type: "done";
  /** HDR histogram of latencies in µs, compressed base64 (hdr-histogram-js encoding) */
  histogram: string;
  /** the exact largest latency, µs (a decoded histogram only knows it to 0.1%) */
  maxUs: number;
  /** open loop: how late each request left against its intended send time, µs */
  lag?: string;
  ok: number;
  errorsByKind: Record<string, number>;
  /** wall-clock ms (epoch) of the last completed measured request; 0 when none completed */
  lastCompletionAt: number;
  /** the bytes of one successful reply, to report its size in protobuf and JSON */
  sampleReply?: Uint8Array;
}

export type WorkerMessage = { type: "ready" } | { type: "failed"; message: string } | WorkerProgress | WorkerResult;
export type ControlMessage = { type: "start"; startAt: number } | { type: "stop" };

export interface PayloadBytes {
  /** the request as protobuf (null when sent raw) */
  protobuf: number | null;
  /** the same message as JSON (null when sent raw) */
  json: number | null;
}

/** `gs bench --json`: the documented contract (docs/load-tests.md, "--json"). */
export interface BenchResult {
  subject: string;
  mode: BenchMode;
  /** requests completed in the measured window, errors included */
  requests: number;
  errors: number;
  /** timeout, no_responders, error_reply:<code>, other */
  errors_by_kind: Record<string, number>;
  /** the measured window: from the end of the warm-up to the last reply */
  seconds: number;
  /** successful replies per second */
  throughput_rps: number;
  latency_ms: LatencyMs;
  payload_bytes: PayloadBytes;
  reply_bytes: PayloadBytes;
  /** open loop: the target rate; closed loop: requests in flight */
  rate_rps?: number;
  concurrency?: number;
  workers: number;
  connections: number;
  warmup_s: number;
  timeout_ms: number;
  /** open loop only: how late the generator sent against the schedule (large values mean: add --workers) */
  send_lag_ms?: { p99: number; max: number };
  /** the CPU gs bench itself used over the measured window (all threads) */
  generator_cpu: { seconds: number; us_per_request: number };
  latency_histogram: LatencyBucket[];
  regression?: RegressionReport;
}

export interface Regression {
  figure: "throughput_rps" | "latency_ms.p99";
  baseline: number;
  current: number;
  /** signed change in percent; positive is worse */
  worse_by_pct: number;
}

export interface RegressionReport {
  baseline_file: string;
  max_regression_pct: number;
  ok: boolean;
  regressed: Regression[];
  compared: Regression[];
}
