// npc-behavior: utility-AI decisions. Decide is a pure function of its request (see domain.ts); the only
// side effect is an NpcActionChangedEvent when the chosen action differs from the current one.
// No state: the action catalog is built in. No env vars.
import { defineService, ServiceBase, type RpcHandlers } from "../sdk/runtime.js";
import { badRequest } from "../sdk/errors.js";
import { ARCHETYPES, CATALOG, CONTEXT_INPUTS, actionsFor, decide } from "./domain.js";
import type {
  DecideRequest,
  DecideResponse,
  ListActionsRequest,
  ListActionsResponse,
  NpcBehaviorServiceRpcs,
  NpcContext,
} from "../generated/npc_behavior/v1/npc_behavior.js";

const MAX_INPUTS = 32;
const DEFAULT_CONTEXT: NpcContext = {
  hourOfDay: 12,
  weather: "",
  threatLevel: 0,
  nearestPlayerDistance: -1,
  inCombat: false,
  regionId: "",
  extra: {},
};

const inUnit = (v: number) => Number.isFinite(v) && v >= 0 && v <= 1;

function archetypeOf(value: string, required: boolean): string {
  const a = value.trim().toLowerCase();
  if (!a && !required) return "";
  if (!(ARCHETYPES as readonly string[]).includes(a))
    throw badRequest(`archetype "${value}" is not one of ${ARCHETYPES.join(", ")}`);
  return a;
}

function needsOf(needs: DecideRequest["needs"]): Record<string, number> {
  if (needs.length > MAX_INPUTS) throw badRequest(`at most ${MAX_INPUTS} needs`);
  const out: Record<string, number> = {};
  for (const [i, n] of needs.entries()) {
    const name = n.name.trim().toLowerCase();
    if (!name || name.length > 64) throw badRequest(`needs[${i}].name must be 1..64 characters`);
    if (name in out) throw badRequest(`need "${name}" is given twice`);
    if ((CONTEXT_INPUTS as readonly string[]).includes(name))
      throw badRequest(`need "${name}" clashes with a context input`);
    if (!inUnit(n.value)) throw badRequest(`needs[${i}].value must be within 0..1 (got ${n.value})`);
    out[name] = n.value;
  }
  return out;
}

function contextOf(ctx: NpcContext | undefined, needs: Record<string, number>): NpcContext {
  const c = ctx ?? DEFAULT_CONTEXT;
  if (!Number.isFinite(c.hourOfDay) || c.hourOfDay < 0 || c.hourOfDay >= 24)
    throw badRequest(`context.hourOfDay must be within [0, 24) (got ${c.hourOfDay})`);
  if (!inUnit(c.threatLevel)) throw badRequest(`context.threatLevel must be within 0..1 (got ${c.threatLevel})`);
  if (!Number.isFinite(c.nearestPlayerDistance)) throw badRequest("context.nearestPlayerDistance must be finite");
  if (c.weather.length > 64) throw badRequest("context.weather is longer than 64 characters");
  const extra = Object.entries(c.extra);
  if (extra.length > MAX_INPUTS) throw badRequest(`at most ${MAX_INPUTS} context.extra inputs`);
  for (const [k, v] of extra) {
    if ((CONTEXT_INPUTS as readonly string[]).includes(k) || k in needs)
      throw badRequest(`context.extra.${k} clashes with a need or a context input`);
    if (!inUnit(v)) throw badRequest(`context.extra.${k} must be within 0..1 (got ${v})`);
  }
  return c;
}

class NpcBehavior extends ServiceBase implements RpcHandlers<NpcBehaviorServiceRpcs> {
  async Decide(req: DecideRequest): Promise<DecideResponse> {
    const npcId = req.npcId.trim();
    if (!npcId || npcId.length > 128) throw badRequest("npcId is required (at most 128 characters)");
    const archetype = archetypeOf(req.archetype, true);
    const needs = needsOf(req.needs);
    const c = contextOf(req.context, needs);
    const current = req.currentActionId.trim();
    const d = decide(
      CATALOG,
      archetype,
      {
        needs,
        hourOfDay: c.hourOfDay,
        weather: c.weather,
        threatLevel: c.threatLevel,
        nearestPlayerDistance: c.nearestPlayerDistance,
        inCombat: c.inCombat,
        extra: c.extra,
      },
      current,
    );
    if (d.actionId !== current) {
      await this.ctx.events.publish("NpcActionChangedEvent", {
        npcId,
        archetype,
        fromActionId: current,
        toActionId: d.actionId,
        score: d.score,
        reason: d.reason,
        at: new Date().toISOString(),
      });
    }
    return { npcId, actionId: d.actionId, score: d.score, scores: d.scores, reason: d.reason };
  }

  async ListActions(req: ListActionsRequest): Promise<ListActionsResponse> {
    const archetype = archetypeOf(req.archetype, false);
    return { actions: archetype ? actionsFor(CATALOG, archetype) : [...CATALOG] };
  }
}

export default defineService({
  name: "npc-behavior",
  description: "Utility-AI decisions for NPCs",
  start: (ctx) => new NpcBehavior(ctx),
});
