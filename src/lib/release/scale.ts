// `gs scale`: set a service's desired count on its platform, then (unless told not to wait) follow it
// until the platform runs exactly that many and that many instances of its version answer over NATS,
// the same check a deploy ends with (the deploy verifier). Past the deadline: a timeout error (exit 4).
import type { Verifier } from "../deploy/deploy.js";
import { EXIT, GsError } from "../output/errors.js";
import type { Platform, ServiceDescription } from "../platform/platform.js";

export interface ScaleOptions {
  platform: Platform;
  /** checks that the instances answer over NATS; without it only the platform's counts are followed */
  verifier?: Verifier;
  service: string;
  desired: number;
  /** false: return once the platform took the new count */
  wait: boolean;
  timeoutMs: number;
  pollMs: number;
  onProgress?: (p: ScaleProgress) => void;
  /** aborted: stop following (the count stays set) */
  signal?: AbortSignal;
}

export interface ScaleProgress {
  service: string;
  desired: number;
  running: number;
  pending: number;
  /** instances answering over NATS with the service's version, once the platform's counts are reached */
  answering?: number;
}

export interface ScaleResult {
  name: string;
  desired: number;
  running: number;
  pending: number;
  state: string;
  version?: string;
  /** instances that answered over NATS with `version` (absent with --no-wait, or without a verifier) */
  answering?: number;
  /** followed until running == desired (false with --no-wait, or when interrupted) */
  settled: boolean;
  seconds: number;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });

export async function scaleService(opts: ScaleOptions): Promise<ScaleResult> {
  const t0 = Date.now();
  const result = (s: ServiceDescription, settled: boolean, answering?: number): ScaleResult => ({
    name: s.name,
    desired: s.desired,
    running: s.running,
    pending: s.pending,
    state: s.state,
    ...(s.version ? { version: s.version } : {}),
    ...(answering !== undefined ? { answering } : {}),
    settled,
    seconds: Math.round((Date.now() - t0) / 100) / 10,
  });
  let s = await opts.platform.scale(opts.service, opts.desired);
  if (!opts.wait) return result(s, false);
  if (opts.desired > 0) await opts.verifier?.ready?.();
  const deadline = t0 + opts.timeoutMs;
  let last = "";
  const report = (answering?: number) => {
    const key = `${s.running}/${s.pending}/${answering ?? "-"}`;
    if (key !== last)
      opts.onProgress?.({ service: s.name, desired: opts.desired, running: s.running, pending: s.pending, answering });
    last = key;
  };
  for (;;) {
    report();
    if (s.running === opts.desired && s.pending === 0) {
      if (opts.desired === 0 || !opts.verifier) return result(s, true);
      const answering = await opts.verifier.answering(
        s.name,
        s.version ?? "",
        opts.desired,
        Math.max(0, deadline - Date.now()),
      );
      report(answering);
      if (answering >= opts.desired) return result(s, true, answering);
      if (Date.now() >= deadline) throw timedOut(s, opts, answering);
    } else if (Date.now() >= deadline) throw timedOut(s, opts);
    if (opts.signal?.aborted) return result(s, false);
    await sleep(opts.pollMs, opts.signal);
    if (opts.signal?.aborted) return result(s, false);
    [s] = (await opts.platform.describeServices([opts.service])) as [ServiceDescription];
  }
}

function timedOut(s: ServiceDescription, opts: ScaleOptions, answering?: number): GsError {
  const nats = answering !== undefined ? `, ${answering} answer over NATS with ${s.version ?? "its version"}` : "";
  return new GsError(
    `${s.name} did not reach ${opts.desired} within ${Math.round(opts.timeoutMs / 1000)}s: ${s.running} running, ${s.pending} pending${nats}`,
    {
      exit: EXIT.timedOut,
      code: "timed_out",
      hint: `the desired count stays ${opts.desired}; see why with \`gs status ${s.name}\` and \`gs logs ${s.name}\``,
    },
  );
}
