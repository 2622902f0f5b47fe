// orchestration: named multi-step flows across services, run as sagas with compensation.
// Env: ORCHESTRATION_RUN_LEASE_MS (how long a run's lease lasts without renewal, default 15000; calls use
//      the SDK client's default 5 s timeout; GS_REQUEST_DEADLINE_MS bounds `wait`).
// State: `run.<runId>` -> FlowRun, `idem.<idempotencyKey>` -> { runId, flowName, params },
//        `active.<runId>` -> RunLease while the run is not finished.
// Events: FlowStartedEvent, FlowStepFinishedEvent, FlowSucceededEvent, FlowCompensatedEvent.
// Runs go on in the background of the instance that took the request (stop() waits for them), under a
// lease it renews. A run outlives that instance: when it dies (SIGKILL, a lost host) its leases expire, and
// another instance takes the run over and resumes it from its record (see runSaga): it completes or compensates.
import { randomBytes } from "node:crypto";
import { badRequest, conflict, notFound } from "../sdk/errors.js";
import { defineService, type CallContext, ServiceBase, type RpcHandlers, type ServiceContext } from "../sdk/runtime.js";
import { RevisionConflict } from "../sdk/state.js";
import { checkParams, newRun, runSaga, TERMINAL, type FlowDef, type FlowRun } from "./domain.js";
import { fleetFlows } from "./flows.js";
import type {
  GetRunRequest,
  GetRunResponse,
  ListFlowsRequest,
  ListFlowsResponse,
  ListRunsRequest,
  ListRunsResponse,
  OrchestrationServiceRpcs,
  StartFlowRequest,
  StartFlowResponse,
} from "../generated/orchestration/v1/orchestration.js";

// ---------- state ----------
interface IdempotencyDoc {
  runId: string;
  flowName: string;
  params: Record<string, string>;
}

const MAX_PARAMS = 32;
const MAX_PARAM_VALUE = 256;
const MAX_KEY = 128;
const DEFAULT_PAGE = 20;
const MAX_PAGE = 100;

const sameParams = (a: Record<string, string>, b: Record<string, string>) =>
  JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

function newRunId(): string {
  return `${Date.now().toString(36).padStart(9, "0")}-${randomBytes(5).toString("hex")}`;
}

const background = new Set<Promise<unknown>>();

/** Which instance runs a run, until when (unix ms) unless it renews the lease. */
interface RunLease {
  owner: string;
  expiresAt: number;
}
const leaseKey = (runId: string) => `active.${runId}`;

/** Another instance took the run over (this one was frozen past its lease): this one stops working on it. */
class LeaseLost extends Error {}

/** Attempts per step for transport failures and "in progress" answers: with their backoff, past payment's 30 s claim lease. */
const STEP_ATTEMPTS = 12;
const stepBackoffMs = (n: number) => Math.min(250 * 2 ** (n - 1), 5000);

class Orchestration extends ServiceBase implements RpcHandlers<OrchestrationServiceRpcs> {
  private readonly flows = new Map<string, FlowDef>(
    fleetFlows((subject, request) => this.ctx.client.call(subject, request)).map((f) => [f.name, f]),
  );
  /** `name`'s flow with its calls in the trace of the request that started the run */
  private readonly tracedFlow = (name: string, call: CallContext): FlowDef =>
    fleetFlows((subject, request) => this.ctx.client.call(subject, request, { trace: call.trace })).find(
      (f) => f.name === name,
    )!;
  private async publish(name: string, data: unknown) {
    try {
      await this.ctx.events.publish(name, data);
    } catch (err) {
      this.ctx.log.warn(`cannot publish ${name}`, { err });
    }
  }
  private async save(run: FlowRun) {
    await this.ctx.state.put(`run.${run.runId}`, run);
  }
  private readonly loadRun = async (runId: string) => (await this.ctx.state.get<FlowRun>(`run.${runId}`))?.value;
  private readonly leaseMs = Number(this.ctx.env.ORCHESTRATION_RUN_LEASE_MS ?? 15_000);
  private readonly newLease = (): RunLease => ({ owner: this.ctx.instanceId, expiresAt: Date.now() + this.leaseMs });
  private recovering = false;

  constructor(ctx: ServiceContext) {
    super(ctx);
    // runs whose instance died are looked for now and then (and at once: this one may replace it)
    const timer = setInterval(() => void this.recover(), this.leaseMs / 2);
    timer.unref();
    ctx.signal.addEventListener("abort", () => clearInterval(timer), { once: true });
    void this.recover();
  }

  /** Renew a run's lease while it runs, release it after; `lost()` once another instance has taken it. */
  private holdLease(runId: string, revision: number) {
    let rev = revision;
    let lost = false;
    const timer = setInterval(() => {
      this.ctx.state.put(leaseKey(runId), this.newLease(), rev).then(
        (r) => (rev = r),
        (err: unknown) => {
          if (err instanceof RevisionConflict) lost = true; // else (the store fails over) renew on the next beat
        },
      );
    }, this.leaseMs / 3);
    return {
      lost: () => lost,
      release: async () => {
        clearInterval(timer);
        if (!lost) await this.ctx.state.delete(leaseKey(runId), rev).catch(() => undefined);
      },
    };
  }

  /** Run (or resume) a run under its lease, in the background: stop() waits for it. */
  private inBackground(flow: FlowDef, run: FlowRun, leaseRevision: number, resumed = false): Promise<FlowRun> {
    const lease = this.holdLease(run.runId, leaseRevision);
    const finished = this.execute(flow, run, lease.lost, resumed)
      .catch((err: unknown) => {
        if (err instanceof LeaseLost)
          this.ctx.log.warn("flow run taken over by another instance", { runId: run.runId });
        else this.ctx.log.error("flow run crashed", { runId: run.runId, err });
        return run;
      })
      .finally(() => lease.release());
    background.add(finished);
    void finished.finally(() => background.delete(finished));
    return finished;
  }

  /** Take over the runs whose lease expired (their instance died) and resume them. */
  private async recover(): Promise<void> {
    if (this.recovering || this.ctx.signal.aborted) return;
    this.recovering = true;
    try {
      for (const key of await this.ctx.state.keys("active")) {
        const cur = await this.ctx.state.get<RunLease>(key);
        if (!cur || cur.value.expiresAt > Date.now()) continue;
        let revision: number;
        try {
          revision = await this.ctx.state.put(key, this.newLease(), cur.revision);
        } catch (err) {
          if (err instanceof RevisionConflict) continue; // another instance took it first
          throw err;
        }
        const run = await this.loadRun(key.slice("active.".length));
        const flow = run && this.flows.get(run.flowName);
        if (!run || !flow || TERMINAL.has(run.status)) {
          // never saved (its instance died first), or finished before its lease was released
          await this.ctx.state.delete(key, revision).catch(() => undefined);
          continue;
        }
        this.ctx.log.warn("resuming a flow run whose instance stopped", {
          runId: run.runId,
          flowName: run.flowName,
          status: run.status,
          previousOwner: cur.value.owner,
        });
        void this.inBackground(flow, run, revision, true);
      }
    } catch (err) {
      this.ctx.log.warn("cannot look for flow runs to resume", { err: (err as Error).message });
    } finally {
      this.recovering = false;
    }
  }

  private async execute(flow: FlowDef, run: FlowRun, lost: () => boolean, resumed: boolean): Promise<FlowRun> {
    if (!resumed)
      await this.publish("FlowStartedEvent", {
        runId: run.runId,
        flowName: flow.name,
        params: run.params,
        at: run.startedAt,
      });
    const done = await runSaga(flow, run, {
      save: async (r) => {
        if (lost()) throw new LeaseLost(`run ${r.runId} was taken over by another instance`);
        await this.save(r);
      },
      maxAttempts: STEP_ATTEMPTS,
      backoffMs: stepBackoffMs,
      onStepFinished: (r, step) =>
        this.publish("FlowStepFinishedEvent", { runId: r.runId, flowName: r.flowName, step }),
    });
    if (done.status === "RUN_STATUS_SUCCEEDED") {
      await this.publish("FlowSucceededEvent", { runId: done.runId, flowName: done.flowName, at: done.finishedAt });
    } else {
      const { runId, flowName, status, failedStep, error, compensations, finishedAt: at } = done;
      await this.publish("FlowCompensatedEvent", { runId, flowName, status, failedStep, error, compensations, at });
      this.ctx.log.warn("flow compensated", { runId, flowName, status, failedStep });
    }
    return done;
  }
  // an idempotency key whose run record is being written by another request
  private async existingRun(doc: IdempotencyDoc, req: StartFlowRequest): Promise<StartFlowResponse> {
    if (doc.flowName !== req.flowName || !sameParams(doc.params, req.params)) {
      throw conflict(
        `idempotency key "${req.idempotencyKey}" was used for another ${doc.flowName} run with different params`,
      );
    }
    for (let i = 0; i < 20; i++) {
      const run = await this.loadRun(doc.runId);
      if (run) return { run, existing: true };
      await new Promise((r) => setTimeout(r, 25));
    }
    throw conflict(`run ${doc.runId} for idempotency key "${req.idempotencyKey}" is still being created: retry`);
  }

  async ListFlows(_req: ListFlowsRequest): Promise<ListFlowsResponse> {
    return {
      flows: [...this.flows.values()].map((f) => ({
        name: f.name,
        description: f.description,
        requiredParams: f.requiredParams,
        steps: f.steps.map(({ name, action, compensation, description }) => ({
          name,
          action,
          compensation,
          description,
        })),
      })),
    };
  }

  async StartFlow(req: StartFlowRequest, call: CallContext): Promise<StartFlowResponse> {
    if (!req.flowName) throw badRequest("flowName is required");
    const flow = this.flows.get(req.flowName);
    if (!flow) throw notFound(`no flow "${req.flowName}" (flows: ${[...this.flows.keys()].join(", ")})`);
    const entries = Object.entries(req.params);
    if (entries.length > MAX_PARAMS) throw badRequest(`at most ${MAX_PARAMS} params`);
    const long = entries.find(([k, v]) => k.length > 64 || v.length > MAX_PARAM_VALUE);
    if (long)
      throw badRequest(`param "${long[0].slice(0, 64)}" is too long (keys 64, values ${MAX_PARAM_VALUE} characters)`);
    const problem = checkParams(flow, req.params);
    if (problem) throw badRequest(problem);
    if (req.idempotencyKey.length > MAX_KEY) throw badRequest(`idempotencyKey is longer than ${MAX_KEY} characters`);

    const runId = newRunId();
    if (req.idempotencyKey) {
      const doc: IdempotencyDoc = { runId, flowName: flow.name, params: req.params };
      const key = `idem.${req.idempotencyKey}`;
      const prior = await this.ctx.state.get<IdempotencyDoc>(key);
      if (prior) return this.existingRun(prior.value, req);
      try {
        await this.ctx.state.put(key, doc, 0);
      } catch (err) {
        const raced = await this.ctx.state.get<IdempotencyDoc>(key);
        if (raced) return this.existingRun(raced.value, req);
        throw err;
      }
    }
    const run = newRun(flow, runId, req.params, new Date().toISOString());
    // the lease first: a run saved without one could be resumed by nobody
    const leaseRevision = await this.ctx.state.put(leaseKey(runId), this.newLease(), 0);
    await this.save(run);
    const finished = this.inBackground(this.tracedFlow(flow.name, call), run, leaseRevision);

    if (req.wait) {
      // answer before the caller's deadline even when the run is slower: it goes on regardless
      const budget = Math.max(0, call.deadline - Date.now() - 250);
      await Promise.race([finished, new Promise((r) => setTimeout(r, budget).unref())]);
    }
    return { run: structuredClone(run), existing: false };
  }

  async GetRun(req: GetRunRequest): Promise<GetRunResponse> {
    if (!req.runId) throw badRequest("runId is required");
    const run = await this.loadRun(req.runId);
    return run ? { found: true, run } : { found: false };
  }

  async ListRuns(req: ListRunsRequest): Promise<ListRunsResponse> {
    const size = req.page?.pageSize || DEFAULT_PAGE;
    if (size > MAX_PAGE) throw badRequest(`page.pageSize must be <= ${MAX_PAGE}`);
    const token = req.page?.pageToken ?? "";
    const offset = token ? Number(Buffer.from(token, "base64url").toString("utf8")) : 0;
    if (!Number.isInteger(offset) || offset < 0) throw badRequest("page.pageToken is not a token from a previous page");
    const runs: FlowRun[] = [];
    for (const key of await this.ctx.state.keys("run")) {
      const run = (await this.ctx.state.get<FlowRun>(key))?.value;
      if (!run) continue;
      if (req.flowName && run.flowName !== req.flowName) continue;
      if (req.status !== "RUN_STATUS_UNSPECIFIED" && run.status !== req.status) continue;
      runs.push(run);
    }
    runs.sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.runId.localeCompare(a.runId));
    const page = runs.slice(offset, offset + size);
    const next = offset + size < runs.length ? Buffer.from(String(offset + size)).toString("base64url") : "";
    return { runs: page, page: { nextPageToken: next, total: runs.length } };
  }
}

export default defineService({
  name: "orchestration",
  description: "Multi-step flows across services, run as sagas with compensation",
  start: (ctx) => new Orchestration(ctx),
  async stop() {
    await Promise.allSettled([...background]);
  },
});
