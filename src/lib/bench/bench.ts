// `gs bench`: plan, check the subject answers, run the workers, and assemble the result.
import { connectNats } from "../nats/connect.js";
import type { ResolvedConnection } from "../nats/options.js";
import type { PbType } from "@gs/fleet/sdk/registry";
import { latencyBuckets, percentilesMs } from "./histogram.js";
import { replySizes } from "./payload.js";
import { planBench, type BenchOptions, type Plan } from "./plan.js";
import { preflight } from "./preflight.js";
import { runWorkers, type RunHooks } from "./run.js";
import type { BenchResult, PayloadBytes } from "./types.js";

export interface BenchInput extends BenchOptions {
  payloadSizes: PayloadBytes;
  replyType?: PbType;
}

export interface BenchDeps extends RunHooks {
  settings: ResolvedConnection;
  workerFile: string;
  /** the default number of workers */
  cores: number;
  /** things worth saying before the run (an error reply to the first request) */
  onWarning?(text: string): void;
  /** called once the workers are about to start, with the plan */
  onStart?(plan: Plan): void;
}

export async function bench(input: BenchInput, deps: BenchDeps): Promise<BenchResult> {
  // validates the options first: a UsageError before anything connects
  const p = planBench(input, deps.settings, deps.cores);
  const nc = await connectNats(deps.settings, { name: "gs-bench" });
  try {
    const warning = await preflight(nc, input.subject, input.payload, input.headers ?? {}, input.timeoutMs);
    if (warning) deps.onWarning?.(warning);
  } finally {
    await nc.close();
  }
  deps.onStart?.(p);
  const out = await runWorkers(p, deps.workerFile, deps);
  const errors = Object.values(out.errorsByKind).reduce((a, b) => a + b, 0);
  const lag = out.lag && out.lag.totalCount ? percentilesMs(out.lag) : undefined;
  return {
    subject: input.subject,
    mode: p.mode,
    requests: out.ok + errors,
    errors,
    errors_by_kind: out.errorsByKind,
    seconds: round3(out.seconds),
    throughput_rps: out.seconds > 0 ? Math.round((out.ok / out.seconds) * 10) / 10 : 0,
    latency_ms: percentilesMs(out.latency, out.maxUs),
    payload_bytes: input.payloadSizes,
    reply_bytes: replySizes(input.replyType, out.sampleReply),
    rate_rps: p.rate,
    concurrency: p.concurrency,
    workers: p.workers.length,
    connections: p.connections,
    warmup_s: p.warmupMs / 1000,
    timeout_ms: input.timeoutMs,
    send_lag_ms: lag ? { p99: lag.p99, max: lag.max } : undefined,
    generator_cpu: {
      seconds: round3(out.cpuSeconds),
      us_per_request: out.ok + errors ? Math.round(((out.cpuSeconds * 1e6) / (out.ok + errors)) * 10) / 10 : 0,
    },
    latency_histogram: latencyBuckets(out.latency),
  };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
