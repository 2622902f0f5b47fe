// orchestration: named multi-step flows across services, run as sagas with compensation.
// Env: none (calls use the SDK client's default 5 s timeout; GS_REQUEST_DEADLINE_MS bounds `wait`).
// State: `run.<runId>` -> FlowRun, `idem.<idempotencyKey>` -> { runId, flowName, params }.
// Events: FlowStartedEvent, FlowStepFinishedEvent, FlowSucceededEvent, FlowCompensatedEvent.
// Runs started without `wait` go on in the background of the instance that took the request;
// stop() waits for them.
import { randomBytes } from "node:crypto";
import { badRequest, conflict, notFound } from "../sdk/errors.js";
import { defineService, type CallContext, type ServiceContext } from "../sdk/runtime.js";
import { checkParams, newRun, runSaga, type FlowDef, type FlowRun, type RunStatus } from "./domain.js";
import { fleetFlows } from "./flows.js";

// ---------- proto types (orchestration.v1) ----------
interface FlowDefinition {
  name: string;
  description: string;
  steps: { name: string; action: string; compensation: string; description: string }[];
  requiredParams: string[];
}
interface StartFlowRequest {
  flowName: string;
  params: Record<string, string>;
  idempotencyKey: string;
  wait: boolean;
}
interface StartFlowResponse {
  run: FlowRun;
  existing: boolean;
}
interface ListRunsRequest {
  flowName: string;
  status: RunStatus | "RUN_STATUS_UNSPECIFIED";
  page?: { pageSize: number; pageToken: string };
}
interface ListRunsResponse {
  runs: FlowRun[];
  page: { nextPageToken: string; total: number };
}

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

export default defineService({
  name: "orchestration",
  description: "Multi-step flows across services, run as sagas with compensation",
  start(ctx: ServiceContext) {
    const flows = new Map<string, FlowDef>(
      fleetFlows((subject, request) => ctx.client.call(subject, request)).map((f) => [f.name, f]),
    );
    /** `name`'s flow with its calls in the trace of the request that started the run */
    const tracedFlow = (name: string, call: CallContext): FlowDef =>
      fleetFlows((subject, request) => ctx.client.call(subject, request, { trace: call.trace })).find(
        (f) => f.name === name,
      )!;

    const publish = async (name: string, data: unknown) => {
      try {
        await ctx.events.publish(name, data);
      } catch (err) {
        ctx.log.warn(`cannot publish ${name}`, { err });
      }
    };
    const save = async (run: FlowRun) => {
      await ctx.state.put(`run.${run.runId}`, run);
    };
    const loadRun = async (runId: string) => (await ctx.state.get<FlowRun>(`run.${runId}`))?.value;

    const execute = async (flow: FlowDef, run: FlowRun): Promise<FlowRun> => {
      await publish("FlowStartedEvent", {
        runId: run.runId,
        flowName: flow.name,
        params: run.params,
        at: run.startedAt,
      });
      const done = await runSaga(flow, run, {
        save,
        onStepFinished: (r, step) => publish("FlowStepFinishedEvent", { runId: r.runId, flowName: r.flowName, step }),
      });
      if (done.status === "RUN_STATUS_SUCCEEDED") {
        await publish("FlowSucceededEvent", { runId: done.runId, flowName: done.flowName, at: done.finishedAt });
      } else {
        const { runId, flowName, status, failedStep, error, compensations, finishedAt: at } = done;
        await publish("FlowCompensatedEvent", { runId, flowName, status, failedStep, error, compensations, at });
        ctx.log.warn("flow compensated", { runId, flowName, status, failedStep });
      }
      return done;
    };

    // an idempotency key whose run record is being written by another request
    const existingRun = async (doc: IdempotencyDoc, req: StartFlowRequest): Promise<StartFlowResponse> => {
      if (doc.flowName !== req.flowName || !sameParams(doc.params, req.params)) {
        throw conflict(
          `idempotency key "${req.idempotencyKey}" was used for another ${doc.flowName} run with different params`,
        );
      }
      for (let i = 0; i < 20; i++) {
        const run = await loadRun(doc.runId);
        if (run) return { run, existing: true };
        await new Promise((r) => setTimeout(r, 25));
      }
      throw conflict(`run ${doc.runId} for idempotency key "${req.idempotencyKey}" is still being created: retry`);
    };

    return {
      async ListFlows(): Promise<{ flows: FlowDefinition[] }> {
        return {
          flows: [...flows.values()].map((f) => ({
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
      },

      async StartFlow(req: StartFlowRequest, call: CallContext): Promise<StartFlowResponse> {
        if (!req.flowName) throw badRequest("flowName is required");
        const flow = flows.get(req.flowName);
        if (!flow) throw notFound(`no flow "${req.flowName}" (flows: ${[...flows.keys()].join(", ")})`);
        const entries = Object.entries(req.params);
        if (entries.length > MAX_PARAMS) throw badRequest(`at most ${MAX_PARAMS} params`);
        const long = entries.find(([k, v]) => k.length > 64 || v.length > MAX_PARAM_VALUE);
        if (long)
          throw badRequest(
            `param "${long[0].slice(0, 64)}" is too long (keys 64, values ${MAX_PARAM_VALUE} characters)`,
          );
        const problem = checkParams(flow, req.params);
        if (problem) throw badRequest(problem);
        if (req.idempotencyKey.length > MAX_KEY)
          throw badRequest(`idempotencyKey is longer than ${MAX_KEY} characters`);

        const runId = newRunId();
        if (req.idempotencyKey) {
          const doc: IdempotencyDoc = { runId, flowName: flow.name, params: req.params };
          const key = `idem.${req.idempotencyKey}`;
          const prior = await ctx.state.get<IdempotencyDoc>(key);
          if (prior) return existingRun(prior.value, req);
          try {
            await ctx.state.put(key, doc, 0);
          } catch (err) {
            const raced = await ctx.state.get<IdempotencyDoc>(key);
            if (raced) return existingRun(raced.value, req);
            throw err;
          }
        }
        const run = newRun(flow, runId, req.params, new Date().toISOString());
        await save(run);
        const finished = execute(tracedFlow(flow.name, call), run).catch((err: unknown) => {
          ctx.log.error("flow run crashed", { runId, err });
          return run;
        });
        background.add(finished);
        void finished.finally(() => background.delete(finished));

        if (req.wait) {
          // answer before the caller's deadline even when the run is slower: it goes on regardless
          const budget = Math.max(0, call.deadline - Date.now() - 250);
          await Promise.race([finished, new Promise((r) => setTimeout(r, budget).unref())]);
        }
        return { run: structuredClone(run), existing: false };
      },

      async GetRun(req: { runId: string }): Promise<{ found: boolean; run?: FlowRun }> {
        if (!req.runId) throw badRequest("runId is required");
        const run = await loadRun(req.runId);
        return run ? { found: true, run } : { found: false };
      },

      async ListRuns(req: ListRunsRequest): Promise<ListRunsResponse> {
        const size = req.page?.pageSize || DEFAULT_PAGE;
        if (size > MAX_PAGE) throw badRequest(`page.pageSize must be <= ${MAX_PAGE}`);
        const token = req.page?.pageToken ?? "";
        const offset = token ? Number(Buffer.from(token, "base64url").toString("utf8")) : 0;
        if (!Number.isInteger(offset) || offset < 0)
          throw badRequest("page.pageToken is not a token from a previous page");
        const runs: FlowRun[] = [];
        for (const key of await ctx.state.keys("run")) {
          const run = (await ctx.state.get<FlowRun>(key))?.value;
          if (!run) continue;
          if (req.flowName && run.flowName !== req.flowName) continue;
          if (req.status !== "RUN_STATUS_UNSPECIFIED" && run.status !== req.status) continue;
          runs.push(run);
        }
        runs.sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.runId.localeCompare(a.runId));
        const page = runs.slice(offset, offset + size);
        const next = offset + size < runs.length ? Buffer.from(String(offset + size)).toString("base64url") : "";
        return { runs: page, page: { nextPageToken: next, total: runs.length } };
      },
    };
  },
  async stop() {
    await Promise.allSettled([...background]);
  },
});
