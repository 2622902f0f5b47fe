// state-manager: versioned entity state with optimistic concurrency and a short revision history.
// Env: STATE_HISTORY (revisions kept per entity, default 20), STATE_HISTORY_BYTES (data bytes kept per
//      entity, default 524288), STATE_MAX_BYTES (largest data_json accepted, default 262144).
// State: entity.<type>.<id> = EntityRecord (domain.ts): the latest revision number and the recent revisions with
// their data. One record per entity, written at the store revision it was read at, so a save is atomic and
// two instances cannot both turn revision n into n+1.
import { badRequest, unavailable } from "../sdk/errors.js";
import { defineService, type CallContext, ServiceBase, type RpcHandlers, type ServiceContext } from "../sdk/runtime.js";
import { RevisionConflict } from "../sdk/state.js";
import {
  ENTITY_TYPE_RE,
  currentRevision,
  decideDelete,
  decideSave,
  decodeCursor,
  encodeCursor,
  type DeleteDecision,
  type EntityRecord,
  type HistoryLimits,
  type Revision,
  type SaveDecision,
} from "./domain.js";
import type {
  DeleteStateRequest,
  DeleteStateResponse,
  EntityState,
  ListRevisionsRequest,
  ListRevisionsResponse,
  LoadStateRequest,
  LoadStateResponse,
  SaveStateRequest,
  SaveStateResponse,
  StateManagerServiceRpcs,
} from "../generated/state_manager/v1/state_manager.js";

const PAGE_DEFAULT = 20;
const PAGE_MAX = 100;

function entityKey(req: { entityType: string; entityId: string }): string {
  if (!ENTITY_TYPE_RE.test(req.entityType)) throw badRequest("entity_type must be 1-64 characters of A-Z a-z 0-9 _ -");
  if (!req.entityId.trim()) throw badRequest("entity_id is required");
  if (req.entityId.length > 256) throw badRequest("entity_id must be at most 256 characters");
  // entity_type has no dots, so the first token after it is unambiguous even when the id has dots
  return `entity.${req.entityType}.${req.entityId}`;
}

function revisionArg(raw: string, field: string): number {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw badRequest(`${field} must be 0 or a positive revision`);
  return n;
}

function intEnv(ctx: ServiceContext, name: string, fallback: number): number {
  const n = Number(ctx.env[name] ?? fallback);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
  return n;
}

class StateManager extends ServiceBase implements RpcHandlers<StateManagerServiceRpcs> {
  private readonly maxData = intEnv(this.ctx, "STATE_MAX_BYTES", 256 * 1024);
  private readonly limits: HistoryLimits = {
    maxRevisions: intEnv(this.ctx, "STATE_HISTORY", 20),
    maxBytes: Math.max(intEnv(this.ctx, "STATE_HISTORY_BYTES", 512 * 1024), this.maxData),
  };
  private readonly publish = (name: string, data: unknown) =>
    this.ctx.events
      .publish(name, data)
      .catch((err: Error) => this.ctx.log.warn("event not published", { event: name, err: err.message }));
  private readonly toState = (req: { entityType: string; entityId: string }, r: Revision): EntityState => ({
    entityType: req.entityType,
    entityId: req.entityId,
    revision: String(r.revision),
    dataJson: r.dataJson,
    updatedBy: r.updatedBy,
    savedAt: r.savedAt,
  });

  async SaveState(req: SaveStateRequest, call: CallContext): Promise<SaveStateResponse> {
    const key = entityKey(req);
    const expectedRevision = revisionArg(req.expectedRevision, "expected_revision");
    if (Buffer.byteLength(req.dataJson, "utf8") > this.maxData)
      throw badRequest(`data_json must be at most ${this.maxData} bytes`);
    try {
      JSON.parse(req.dataJson);
    } catch (err) {
      throw badRequest(`data_json is not valid JSON: ${(err as Error).message}`);
    }
    const updatedBy = req.updatedBy.slice(0, 128);
    const outcome = await this.writeLoop<SaveDecision>(key, call.deadline, (rec) => {
      const d = decideSave(
        rec,
        { dataJson: req.dataJson, expectedRevision, force: req.force, updatedBy },
        new Date().toISOString(),
        this.limits,
      );
      return d.ok ? { next: d.next, result: d } : { result: d };
    });
    const at = new Date().toISOString();
    if (!outcome.ok) {
      await this.publish("StateConflictEvent", {
        entityType: req.entityType,
        entityId: req.entityId,
        expectedRevision: String(expectedRevision),
        currentRevision: String(outcome.current),
        at,
      });
      return { saved: false, revision: "0", currentRevision: String(outcome.current), conflict: true };
    }
    const r = outcome.revision;
    await this.publish("StateSavedEvent", {
      entityType: req.entityType,
      entityId: req.entityId,
      revision: String(r.revision),
      updatedBy,
      at: r.savedAt,
    });
    return {
      saved: true,
      revision: String(r.revision),
      currentRevision: String(r.revision),
      conflict: false,
      savedAt: r.savedAt,
    };
  }

  async LoadState(req: LoadStateRequest): Promise<LoadStateResponse> {
    const key = entityKey(req);
    const wanted = revisionArg(req.revision, "revision");
    const rec = (await this.ctx.state.get<EntityRecord>(key))?.value;
    const latest = currentRevision(rec);
    const r =
      latest === 0 ? undefined : wanted === 0 ? rec!.history[0] : rec!.history.find((h) => h.revision === wanted);
    return r
      ? { found: true, state: this.toState(req, r), latestRevision: String(latest) }
      : { found: false, latestRevision: String(latest) };
  }

  async ListRevisions(req: ListRevisionsRequest): Promise<ListRevisionsResponse> {
    const key = entityKey(req);
    const pageSize = Math.min(req.page?.pageSize || PAGE_DEFAULT, PAGE_MAX);
    let below = Infinity;
    if (req.page?.pageToken) {
      try {
        below = decodeCursor(req.page.pageToken);
      } catch (err) {
        throw badRequest((err as Error).message);
      }
    }
    const rec = (await this.ctx.state.get<EntityRecord>(key))?.value;
    const history = rec && !rec.deleted ? rec.history : [];
    const rest = history.filter((h) => h.revision < below);
    const page = rest.slice(0, pageSize);
    return {
      revisions: page.map((h) => ({
        revision: String(h.revision),
        sizeBytes: h.sizeBytes,
        updatedBy: h.updatedBy,
        savedAt: h.savedAt,
      })),
      page: {
        nextPageToken: rest.length > pageSize ? encodeCursor(page[page.length - 1]!.revision) : "",
        total: history.length,
      },
    };
  }

  async DeleteState(req: DeleteStateRequest, call: CallContext): Promise<DeleteStateResponse> {
    const key = entityKey(req);
    const expectedRevision = revisionArg(req.expectedRevision, "expected_revision");
    const outcome = await this.writeLoop<DeleteDecision>(key, call.deadline, (rec) => {
      const d = decideDelete(rec, { expectedRevision, force: req.force });
      return d.ok ? { next: d.next, result: d } : { result: d };
    });
    const at = new Date().toISOString();
    if (!outcome.ok) {
      if (outcome.conflict) {
        await this.publish("StateConflictEvent", {
          entityType: req.entityType,
          entityId: req.entityId,
          expectedRevision: String(expectedRevision),
          currentRevision: String(outcome.current),
          at,
        });
      }
      return { deleted: false, conflict: outcome.conflict, currentRevision: String(outcome.current) };
    }
    await this.publish("StateDeletedEvent", {
      entityType: req.entityType,
      entityId: req.entityId,
      lastRevision: String(outcome.lastRevision),
      at,
    });
    return { deleted: true, conflict: false, currentRevision: "0" };
  }

  /** Read, decide, write at the revision read; on a lost race decide again against what won. */
  private async writeLoop<R>(
    key: string,
    deadline: number,
    step: (rec: EntityRecord | undefined) => { next?: EntityRecord; result: R },
  ): Promise<R> {
    for (let attempt = 0; ; attempt++) {
      const cur = await this.ctx.state.get<EntityRecord>(key);
      const { next, result } = step(cur?.value);
      if (!next) return result;
      try {
        await this.ctx.state.put(key, next, cur?.revision ?? 0);
        return result;
      } catch (err) {
        if (!(err instanceof RevisionConflict)) throw err;
        if (Date.now() >= deadline - 50) throw unavailable(`${key} is busy; retry`);
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(20, 2 * (attempt + 1))));
      }
    }
  }
}

export default defineService({
  name: "state-manager",
  description: "Versioned entity state with optimistic concurrency",
  start: (ctx) => new StateManager(ctx),
});
