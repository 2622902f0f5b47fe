// model-management: the registry of AI models (capabilities, cost, latency) and the default model per task type.
// Env: none beyond the SDK's.
// State: `model.<modelId>` -> Model; `default.<TASK_TYPE>` -> { modelId }.
// Events: ModelRegisteredEvent, DefaultModelChangedEvent, ModelRetiredEvent.
import { defineService, ServiceBase, type RpcHandlers } from "../sdk/runtime.js";
import { badRequest, conflict, failedPrecondition, notFound } from "../sdk/errors.js";
import {
  defaultRejection,
  isTaskType,
  matchesFilter,
  reassignDefaults,
  validateModel,
  TASK_TYPES,
  type Model,
  type TaskType,
} from "./domain.js";
import type {
  GetDefaultModelRequest,
  GetDefaultModelResponse,
  GetModelRequest,
  GetModelResponse,
  ListModelsRequest,
  ListModelsResponse,
  ModelManagementServiceRpcs,
  RegisterModelRequest,
  RegisterModelResponse,
  RetireModelRequest,
  RetireModelResponse,
  SetDefaultModelRequest,
  SetDefaultModelResponse,
} from "../generated/model_management/v1/model_management.js";

interface DefaultEntry {
  modelId: string;
}

const modelKey = (id: string) => `model.${id}`;
const defaultKey = (t: TaskType) => `default.${t}`;

function requireTask(t: TaskType): TaskType {
  if (!isTaskType(t)) throw badRequest("task_type is required (e.g. TASK_TYPE_CHAT)");
  return t;
}

function requireId(id: string, field = "model_id"): string {
  const v = id.trim();
  if (!v) throw badRequest(`${field} is required`);
  if (v.length > 128) throw badRequest(`${field} is too long (max 128)`);
  return v;
}

class ModelManagement extends ServiceBase implements RpcHandlers<ModelManagementServiceRpcs> {
  private readonly load = async (id: string) => (await this.ctx.state.get<Model>(modelKey(id)))?.value;

  /** Swap the default of `task` to `modelId` ("" clears it) only if it is still `expected`; returns whether it changed. */
  private readonly changeDefault = async (
    task: TaskType,
    modelId: string,
    expected?: string,
  ): Promise<{ changed: boolean; previous: string }> => {
    let previous = "";
    let changed = false;
    await this.ctx.state.update<DefaultEntry>(defaultKey(task), (cur) => {
      previous = cur?.modelId ?? "";
      changed = previous !== modelId && (expected === undefined || previous === expected);
      return changed ? { modelId } : { modelId: previous };
    });
    if (changed)
      await this.ctx.events.publish("DefaultModelChangedEvent", { taskType: task, modelId, previousModelId: previous });
    return { changed, previous };
  };

  async RegisterModel(req: RegisterModelRequest): Promise<RegisterModelResponse> {
    const { problems, model } = validateModel(req.model);
    if (!model) throw badRequest(problems.join("; "));
    let created = false;
    const saved = await this.ctx.state.update<Model>(modelKey(model.modelId), (cur) => {
      if (cur?.status === "MODEL_STATUS_RETIRED")
        throw conflict(`model ${model.modelId} is retired and cannot be re-registered`);
      created = !cur;
      return { ...model, registeredAt: cur?.registeredAt ?? new Date().toISOString() };
    });
    // an update that drops a task type also drops the default it held for it
    for (const [task, id] of await this.defaults()) {
      if (id === model.modelId && !model.taskTypes.includes(task)) await this.changeDefault(task, "", id);
    }
    await this.ctx.events.publish("ModelRegisteredEvent", { model: saved.value, created });
    this.ctx.log.info("model registered", { modelId: model.modelId, created });
    return { model: saved.value, created };
  }

  async GetModel(req: GetModelRequest): Promise<GetModelResponse> {
    const id = requireId(req.modelId);
    const model = await this.load(id);
    if (!model) return { found: false, defaultFor: [] };
    const defaultFor = [...(await this.defaults())].filter(([, m]) => m === id).map(([t]) => t);
    return { found: true, model, defaultFor };
  }

  async ListModels(req: ListModelsRequest): Promise<ListModelsResponse> {
    if (req.taskType !== "TASK_TYPE_UNSPECIFIED" && !isTaskType(req.taskType))
      throw badRequest(`unknown task_type ${req.taskType}`);
    const models: Model[] = [];
    for (const key of await this.ctx.state.keys("model")) {
      const m = (await this.ctx.state.get<Model>(key))?.value;
      if (m && matchesFilter(m, req)) models.push(m);
    }
    models.sort((a, b) => a.modelId.localeCompare(b.modelId));
    return { models };
  }

  async SetDefaultModel(req: SetDefaultModelRequest): Promise<SetDefaultModelResponse> {
    const task = requireTask(req.taskType);
    const model = await this.mustLoad(requireId(req.modelId));
    const why = defaultRejection(model, task);
    if (why) throw failedPrecondition(`${why}: it cannot be the default for ${task}`);
    const { previous } = await this.changeDefault(task, model.modelId);
    return { model, previousModelId: previous === model.modelId ? "" : previous };
  }

  async GetDefaultModel(req: GetDefaultModelRequest): Promise<GetDefaultModelResponse> {
    const task = requireTask(req.taskType);
    const d = (await this.ctx.state.get<DefaultEntry>(defaultKey(task)))?.value;
    const model = d?.modelId ? await this.load(d.modelId) : undefined;
    if (!model || defaultRejection(model, task)) return { found: false };
    return { found: true, model };
  }

  async RetireModel(req: RetireModelRequest): Promise<RetireModelResponse> {
    const id = requireId(req.modelId);
    if (req.reason.length > 500) throw badRequest("reason is too long (max 500)");
    let replacement: Model | undefined;
    if (req.replacementModelId) {
      if (req.replacementModelId === id) throw badRequest("a model cannot replace itself");
      replacement = await this.mustLoad(req.replacementModelId);
      if (replacement.status === "MODEL_STATUS_RETIRED")
        throw failedPrecondition(`replacement ${replacement.modelId} is retired`);
    }
    await this.mustLoad(id);
    let already = false;
    const saved = await this.ctx.state.update<Model>(modelKey(id), (cur) => {
      if (!cur) throw notFound(`no model ${id}`);
      already = cur.status === "MODEL_STATUS_RETIRED";
      if (already) return cur;
      return {
        ...cur,
        status: "MODEL_STATUS_RETIRED",
        retiredAt: new Date().toISOString(),
        retiredReason: req.reason,
        replacementModelId: replacement?.modelId ?? "",
      };
    });
    if (already) return { model: saved.value, defaultsChanged: [] };
    const held = [...(await this.defaults())].filter(([, m]) => m === id).map(([t]) => t);
    const defaultsChanged: TaskType[] = [];
    for (const { taskType, modelId } of reassignDefaults(held, replacement)) {
      if ((await this.changeDefault(taskType, modelId, id)).changed) defaultsChanged.push(taskType);
    }
    await this.ctx.events.publish("ModelRetiredEvent", {
      modelId: id,
      reason: req.reason,
      replacementModelId: replacement?.modelId ?? "",
      at: saved.value.retiredAt,
    });
    this.ctx.log.info("model retired", { modelId: id, defaultsChanged });
    return { model: saved.value, defaultsChanged };
  }

  private async mustLoad(id: string) {
    const m = await this.load(id);
    if (!m) throw notFound(`no model ${id}`);
    return m;
  }

  private async defaults(): Promise<Map<TaskType, string>> {
    const out = new Map<TaskType, string>();
    for (const t of TASK_TYPES) {
      const d = (await this.ctx.state.get<DefaultEntry>(defaultKey(t)))?.value;
      if (d?.modelId) out.set(t, d.modelId);
    }
    return out;
  }
}

export default defineService({
  name: "model-management",
  description: "Registry of AI models, their cost/latency profiles and the default model per task type",
  start: (ctx) => new ModelManagement(ctx),
});
