// A generic saga engine: steps run in order; when one fails, the compensations of the steps that
// completed run in reverse order. The run record it keeps is the proto's FlowRun (JSON form), so
// the service stores and returns it as it is.
import type { ErrorDetail } from "../generated/gs/common/v1/common.js";
import { ServiceError } from "../sdk/errors.js";

export type RunStatus =
  | "RUN_STATUS_PENDING"
  | "RUN_STATUS_RUNNING"
  | "RUN_STATUS_SUCCEEDED"
  | "RUN_STATUS_COMPENSATING"
  | "RUN_STATUS_COMPENSATED"
  | "RUN_STATUS_FAILED";
export type StepStatus =
  | "STEP_STATUS_PENDING"
  | "STEP_STATUS_RUNNING"
  | "STEP_STATUS_SUCCEEDED"
  | "STEP_STATUS_FAILED"
  | "STEP_STATUS_SKIPPED"
  | "STEP_STATUS_COMPENSATED"
  | "STEP_STATUS_COMPENSATION_FAILED";

export type { ErrorDetail };

export interface StepResult {
  name: string;
  status: StepStatus;
  outputJson: string;
  error?: ErrorDetail;
  attempts: number;
  startedAt?: string;
  finishedAt?: string;
}

export interface CompensationResult {
  stepName: string;
  succeeded: boolean;
  error?: ErrorDetail;
  at: string;
}

export interface FlowRun {
  runId: string;
  flowName: string;
  status: RunStatus;
  params: Record<string, string>;
  steps: StepResult[];
  compensations: CompensationResult[];
  failedStep: string;
  error?: ErrorDetail;
  startedAt: string;
  finishedAt?: string;
}

export const TERMINAL: ReadonlySet<RunStatus> = new Set([
  "RUN_STATUS_SUCCEEDED",
  "RUN_STATUS_COMPENSATED",
  "RUN_STATUS_FAILED",
]);

/** What every step of a run sees: its params and the outputs of the steps before it. */
export interface SagaContext {
  runId: string;
  params: Record<string, string>;
  outputs: Record<string, unknown>;
}

export interface SagaStep {
  name: string;
  /** subject of the main call, for listings */
  action: string;
  /** subject of the undo call; empty = nothing to undo */
  compensation: string;
  description: string;
  run(sc: SagaContext): Promise<unknown>;
  /** undo a completed step given its output */
  compensate?(sc: SagaContext, output: unknown): Promise<void>;
}

export interface FlowDef {
  name: string;
  description: string;
  requiredParams: string[];
  steps: SagaStep[];
  /** extra checks of the params; returns a problem or undefined */
  validate?(params: Record<string, string>): string | undefined;
}

/** A business failure of a step (the callee answered, but "no"): never retried. */
export class StepFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const CODE_NAMES: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  409: "CONFLICT",
  412: "FAILED_PRECONDITION",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

export function errorDetail(err: unknown): ErrorDetail {
  if (err instanceof StepFailure) return { code: err.code, message: err.message, field: "" };
  if (err instanceof ServiceError) return { code: CODE_NAMES[err.code] ?? "INTERNAL", message: err.message, field: "" };
  return { code: "INTERNAL", message: err instanceof Error ? err.message : String(err), field: "" };
}

/**
 * Transport trouble (no responders, timeouts) may pass: worth another attempt. So does a 409 that says
 * the same idempotency key is still in progress (payment answers it while the first attempt, maybe on an
 * instance that died, holds its claim): the outcome is not known yet. Actions must be idempotent.
 */
export function isRetryable(err: unknown): boolean {
  if (!(err instanceof ServiceError)) return false;
  return err.code === 503 || err.code === 504 || (err.code === 409 && /in progress/.test(err.message));
}

export function newRun(flow: FlowDef, runId: string, params: Record<string, string>, now: string): FlowRun {
  return {
    runId,
    flowName: flow.name,
    status: "RUN_STATUS_PENDING",
    params,
    steps: flow.steps.map((s) => ({ name: s.name, status: "STEP_STATUS_PENDING", outputJson: "", attempts: 0 })),
    compensations: [],
    failedStep: "",
    startedAt: now,
  };
}

/** Params missing from a flow's required list, then the flow's own checks. */
export function checkParams(flow: FlowDef, params: Record<string, string>): string | undefined {
  const missing = flow.requiredParams.filter((p) => !params[p]);
  if (missing.length) return `flow ${flow.name} needs params: ${missing.join(", ")}`;
  return flow.validate?.(params);
}

export interface SagaOptions {
  /** persist the run after every transition */
  save(run: FlowRun): Promise<void>;
  onStepFinished?(run: FlowRun, step: StepResult): Promise<void>;
  now?(): string;
  /** attempts per action and per compensation (retryable errors only); default 3 */
  maxAttempts?: number;
  /** delay before retry n (1-based); default 100ms * n */
  backoffMs?(attempt: number): number;
}

const MAX_OUTPUT = 8192;

/** The outputs of a run's finished steps, as the steps after them (and compensations) see them. */
function outputsOf(run: FlowRun): Record<string, unknown> {
  const outputs: Record<string, unknown> = {};
  for (const s of run.steps) {
    if (s.status !== "STEP_STATUS_SUCCEEDED" || !s.outputJson) continue;
    try {
      outputs[s.name] = JSON.parse(s.outputJson);
    } catch {
      // cut at MAX_OUTPUT: the step's compensation gets no output
    }
  }
  return outputs;
}

/**
 * Run `run` through `flow`'s steps; resolves with the terminal run. A run fresh from newRun starts at its
 * first step; a run taken over from an instance that died goes on from its record: the step that was under
 * way runs again (steps are idempotent by run id), a compensation under way goes on with the steps not yet undone.
 */
export async function runSaga(flow: FlowDef, run: FlowRun, opts: SagaOptions): Promise<FlowRun> {
  const now = opts.now ?? (() => new Date().toISOString());
  const maxAttempts = opts.maxAttempts ?? 3;
  const backoff = opts.backoffMs ?? ((n) => 100 * n);
  const sc: SagaContext = { runId: run.runId, params: run.params, outputs: outputsOf(run) };

  const attempt = async <T>(fn: () => Promise<T>, onAttempt: () => void): Promise<T> => {
    for (let n = 1; ; n++) {
      onAttempt();
      try {
        return await fn();
      } catch (err) {
        if (n >= maxAttempts || !isRetryable(err)) throw err;
        await new Promise((r) => setTimeout(r, backoff(n)));
      }
    }
  };

  let failedAt = run.steps.findIndex((s) => s.status === "STEP_STATUS_FAILED");
  const forward = run.status === "RUN_STATUS_PENDING" || run.status === "RUN_STATUS_RUNNING";
  if (forward && failedAt < 0) {
    run.status = "RUN_STATUS_RUNNING";
    await opts.save(run);
  }
  for (let i = 0; forward && failedAt < 0 && i < flow.steps.length; i++) {
    const step = flow.steps[i]!;
    const result = run.steps[i]!;
    if (result.status === "STEP_STATUS_SUCCEEDED") continue;
    result.status = "STEP_STATUS_RUNNING";
    result.startedAt = now();
    await opts.save(run);
    try {
      const output = await attempt(
        () => step.run(sc),
        () => result.attempts++,
      );
      sc.outputs[step.name] = output;
      result.status = "STEP_STATUS_SUCCEEDED";
      const json = output === undefined ? "" : JSON.stringify(output);
      result.outputJson = json.length > MAX_OUTPUT ? json.slice(0, MAX_OUTPUT) : json;
    } catch (err) {
      result.status = "STEP_STATUS_FAILED";
      result.error = errorDetail(err);
      failedAt = i;
    }
    result.finishedAt = now();
    await opts.save(run);
    await opts.onStepFinished?.(run, result);
    if (failedAt >= 0) break;
  }

  if (failedAt < 0) {
    run.status = "RUN_STATUS_SUCCEEDED";
    run.finishedAt = now();
    await opts.save(run);
    return run;
  }

  if (run.status !== "RUN_STATUS_COMPENSATING") {
    const failed = run.steps[failedAt]!;
    for (const later of run.steps.slice(failedAt + 1)) later.status = "STEP_STATUS_SKIPPED";
    run.failedStep = failed.name;
    run.error = failed.error;
    run.status = "RUN_STATUS_COMPENSATING";
    await opts.save(run);
  }
  for (let i = failedAt - 1; i >= 0; i--) {
    const step = flow.steps[i]!;
    const result = run.steps[i]!;
    // undone already (before a takeover), or tried and failed
    if (!step.compensate || result.status !== "STEP_STATUS_SUCCEEDED") continue;
    try {
      await attempt(
        () => step.compensate!(sc, sc.outputs[step.name]),
        () => undefined,
      );
      result.status = "STEP_STATUS_COMPENSATED";
      run.compensations.push({ stepName: step.name, succeeded: true, at: now() });
    } catch (err) {
      result.status = "STEP_STATUS_COMPENSATION_FAILED";
      run.compensations.push({ stepName: step.name, succeeded: false, error: errorDetail(err), at: now() });
    }
    await opts.save(run);
  }
  const allUndone = !run.steps.some((s) => s.status === "STEP_STATUS_COMPENSATION_FAILED");
  run.status = allUndone ? "RUN_STATUS_COMPENSATED" : "RUN_STATUS_FAILED";
  run.finishedAt = now();
  await opts.save(run);
  return run;
}
