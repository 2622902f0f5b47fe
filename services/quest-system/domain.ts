// Quest rules as plain functions over proto-shaped values: definition validation (objectives, rewards,
// prerequisites without cycles), who may start what, progress clamped at the required count, completion
// only when every non-optional objective is done, and deadlines that fail an active quest.

// the proto messages, as generated from proto/ (services/generated)
import type { ErrorDetail } from "../generated/gs/common/v1/common.js";
import type {
  Objective,
  ObjectiveProgress,
  PlayerQuest,
  QuestDefinition,
  QuestStatus,
  Reward,
} from "../generated/quest_system/v1/quest_system.js";
export type { ErrorDetail, Objective, ObjectiveProgress, PlayerQuest, QuestDefinition, QuestStatus, Reward };

/** A refusal with the status code it maps to (409 conflict, 412 precondition). */
export class QuestRuleError extends Error {
  constructor(
    readonly code: 409 | 412,
    message: string,
  ) {
    super(message);
  }
}

/** proto3 JSON Duration ("90s", "1.5s") in ms. */
export function durationMs(d: string | undefined): number {
  if (!d) return 0;
  const m = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(d);
  if (!m) return NaN;
  const ms = Number(m[2]) * 1000 + Number((m[3] ?? "").padEnd(9, "0")) / 1e6;
  return m[1] ? -ms : ms;
}

const REWARD_KINDS = ["item", "xp", "currency"];

/** Problems with a definition, given the other known definitions (empty = valid). */
export function validateDefinition(q: QuestDefinition, known: ReadonlyMap<string, QuestDefinition>): ErrorDetail[] {
  const errors: ErrorDetail[] = [];
  const err = (code: string, field: string, message: string) => errors.push({ code, field, message });
  if (!q.title.trim()) err("REQUIRED", "quest.title", "title is required");
  if (q.title.length > 200) err("TOO_LONG", "quest.title", "title is longer than 200 characters");
  if (q.description.length > 4000) err("TOO_LONG", "quest.description", "description is longer than 4000 characters");
  if (!q.objectives.length) err("REQUIRED", "quest.objectives", "a quest needs at least one objective");
  else if (q.objectives.every((o) => o.optional))
    err("NO_REQUIRED_OBJECTIVE", "quest.objectives", "at least one objective must not be optional");
  const seen = new Set<string>();
  q.objectives.forEach((o, i) => {
    const f = `quest.objectives[${i}]`;
    if (!o.objectiveId.trim()) err("REQUIRED", `${f}.objectiveId`, "objective id is required");
    else if (seen.has(o.objectiveId))
      err("DUPLICATE_OBJECTIVE", `${f}.objectiveId`, `objective id ${o.objectiveId} is used twice`);
    seen.add(o.objectiveId);
    if (o.requiredCount < 1) err("OUT_OF_RANGE", `${f}.requiredCount`, "requiredCount must be at least 1");
  });
  q.rewards.forEach((r, i) => {
    const f = `quest.rewards[${i}]`;
    if (!REWARD_KINDS.includes(r.kind))
      err("UNKNOWN_REWARD_KIND", `${f}.kind`, `reward kind must be one of ${REWARD_KINDS.join(", ")}`);
    if (r.kind === "item" && (!r.itemId || r.quantity < 1))
      err("INVALID_REWARD", f, "an item reward needs itemId and quantity >= 1");
    if (r.kind === "xp" && r.quantity < 1) err("INVALID_REWARD", f, "an xp reward needs quantity >= 1");
    if (r.kind === "currency" && (!r.money?.currency || !(BigInt(r.money.minorUnits) > 0n)))
      err("INVALID_REWARD", f, "a currency reward needs money with a currency and positive minorUnits");
  });
  const limit = durationMs(q.timeLimit);
  if (!(limit >= 0)) err("OUT_OF_RANGE", "quest.timeLimit", "timeLimit must not be negative");
  q.prerequisiteQuestIds.forEach((p, i) => {
    const f = `quest.prerequisiteQuestIds[${i}]`;
    if (p === q.questId) err("SELF_PREREQUISITE", f, "a quest cannot require itself");
    else if (!known.has(p)) err("UNKNOWN_PREREQUISITE", f, `no quest ${p}`);
  });
  if (!errors.length && requiresItself(q, known))
    err("PREREQUISITE_CYCLE", "quest.prerequisiteQuestIds", `prerequisites of ${q.questId} lead back to it`);
  return errors;
}

/** True when following prerequisites from `q` (with `q` replacing its stored version) reaches `q` again. */
function requiresItself(q: QuestDefinition, known: ReadonlyMap<string, QuestDefinition>): boolean {
  const stack = [...q.prerequisiteQuestIds];
  const visited = new Set<string>();
  while (stack.length) {
    const id = stack.pop()!;
    if (id === q.questId) return true;
    if (visited.has(id)) continue;
    visited.add(id);
    stack.push(...(known.get(id)?.prerequisiteQuestIds ?? []));
  }
  return false;
}

/** Every non-optional objective of the definition is completed (objectives no longer defined do not count). */
export function isReady(objectives: readonly ObjectiveProgress[], def: QuestDefinition): boolean {
  const required = new Set(def.objectives.filter((o) => !o.optional).map((o) => o.objectiveId));
  return (
    objectives.every((o) => o.completed || !required.has(o.objectiveId)) &&
    [...required].every((id) => objectives.some((o) => o.objectiveId === id))
  );
}

export interface StartCheck {
  def: QuestDefinition;
  previous: PlayerQuest | undefined;
  playerLevel: number;
  /** quest ids the player has completed at least once */
  completed: ReadonlySet<string>;
}

/** Whether a player may start a quest now; throws QuestRuleError with the reason when not. */
export function checkStart({ def, previous, playerLevel, completed }: StartCheck): void {
  if (playerLevel < def.minLevel)
    throw new QuestRuleError(412, `${def.questId} needs level ${def.minLevel} (player is ${playerLevel})`);
  const missing = def.prerequisiteQuestIds.filter((p) => !completed.has(p));
  if (missing.length) throw new QuestRuleError(412, `${def.questId} needs ${missing.join(", ")} completed first`);
  if (previous?.status === "QUEST_STATUS_ACTIVE") throw new QuestRuleError(409, `${def.questId} is already active`);
  if (previous && previous.completionCount > 0 && !def.repeatable)
    throw new QuestRuleError(409, `${def.questId} is already completed and not repeatable`);
}

export function startQuest(
  def: QuestDefinition,
  playerId: string,
  previous: PlayerQuest | undefined,
  now: Date,
): PlayerQuest {
  const limit = durationMs(def.timeLimit);
  const at = now.toISOString();
  const pq: PlayerQuest = {
    playerId,
    questId: def.questId,
    status: "QUEST_STATUS_ACTIVE",
    objectives: def.objectives.map((o) => ({
      objectiveId: o.objectiveId,
      currentCount: 0,
      requiredCount: o.requiredCount,
      completed: false,
    })),
    readyToComplete: false,
    completionCount: previous?.completionCount ?? 0,
    startedAt: at,
    updatedAt: at,
  };
  if (limit > 0) pq.deadline = new Date(now.getTime() + limit).toISOString();
  return pq;
}

/** Adds `amount` to one objective, clamped at its required count. */
export function progressQuest(
  pq: PlayerQuest,
  def: QuestDefinition,
  objectiveId: string,
  amount: number,
  now: Date,
): { quest: PlayerQuest; objective: ObjectiveProgress; objectiveCompleted: boolean; changed: boolean } {
  if (pq.status !== "QUEST_STATUS_ACTIVE") throw new QuestRuleError(412, `${pq.questId} is not active (${pq.status})`);
  const cur = pq.objectives.find((o) => o.objectiveId === objectiveId);
  if (!cur) throw new QuestRuleError(412, `${pq.questId} has no objective ${objectiveId}`);
  const currentCount = Math.min(cur.requiredCount, cur.currentCount + Math.max(1, amount));
  const objective = { ...cur, currentCount, completed: currentCount >= cur.requiredCount };
  const objectives = pq.objectives.map((o) => (o.objectiveId === objectiveId ? objective : o));
  const changed = currentCount !== cur.currentCount;
  const quest = changed
    ? { ...pq, objectives, readyToComplete: isReady(objectives, def), updatedAt: now.toISOString() }
    : pq;
  return { quest, objective, objectiveCompleted: objective.completed && !cur.completed, changed };
}

export function completeQuest(pq: PlayerQuest, def: QuestDefinition, now: Date): PlayerQuest {
  if (pq.status !== "QUEST_STATUS_ACTIVE") throw new QuestRuleError(412, `${pq.questId} is not active (${pq.status})`);
  if (!isReady(pq.objectives, def)) {
    const open = pq.objectives.filter((o) => !o.completed).map((o) => o.objectiveId);
    throw new QuestRuleError(412, `${pq.questId} still has objectives to do: ${open.join(", ")}`);
  }
  const at = now.toISOString();
  return {
    ...pq,
    status: "QUEST_STATUS_COMPLETED",
    readyToComplete: false,
    completionCount: pq.completionCount + 1,
    updatedAt: at,
    finishedAt: at,
  };
}

export function abandonQuest(pq: PlayerQuest, now: Date): PlayerQuest {
  if (pq.status !== "QUEST_STATUS_ACTIVE") throw new QuestRuleError(412, `${pq.questId} is not active (${pq.status})`);
  const at = now.toISOString();
  return { ...pq, status: "QUEST_STATUS_ABANDONED", readyToComplete: false, updatedAt: at, finishedAt: at };
}

/** The failed quest when an active one is past its deadline, else null. */
export function expired(pq: PlayerQuest, now: Date): PlayerQuest | null {
  if (pq.status !== "QUEST_STATUS_ACTIVE" || !pq.deadline || Date.parse(pq.deadline) > now.getTime()) return null;
  const at = now.toISOString();
  return { ...pq, status: "QUEST_STATUS_FAILED", readyToComplete: false, updatedAt: at, finishedAt: at };
}
