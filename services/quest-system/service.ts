// quest-system: quest definitions and each player's progress through them.
// State: `quest.<questId>` = QuestDefinition, `player.<playerId>.<questId>` = PlayerQuest; every change is a
// revision-checked write (retried on conflict with the rules re-applied to the fresh value). An active
// quest past its deadline becomes FAILED the next time anyone touches it (QuestFailedEvent).
// Env: QUEST_PAGE_SIZE (default 50), QUEST_MAX_PAGE_SIZE (default 200).
import { defineService, ServiceBase, type RpcHandlers } from "../sdk/runtime.js";
import { badRequest, notFound, ServiceError } from "../sdk/errors.js";
import { RevisionConflict } from "../sdk/state.js";
import {
  abandonQuest,
  checkStart,
  completeQuest,
  expired,
  progressQuest,
  QuestRuleError,
  startQuest,
  validateDefinition,
  type PlayerQuest,
  type QuestDefinition,
  type Reward,
} from "./domain.js";
import type {
  AbandonQuestRequest,
  AbandonQuestResponse,
  CompleteQuestRequest,
  CompleteQuestResponse,
  DefineQuestRequest,
  DefineQuestResponse,
  GetPlayerQuestRequest,
  GetPlayerQuestResponse,
  ListPlayerQuestsRequest,
  ListPlayerQuestsResponse,
  ListQuestsRequest,
  ListQuestsResponse,
  ProgressQuestRequest,
  ProgressQuestResponse,
  QuestSystemServiceRpcs,
  StartQuestRequest,
  StartQuestResponse,
} from "../generated/quest_system/v1/quest_system.js";

// ids may contain dots, the store's key separator: escape them so `player.<p>.<q>` stays three tokens
const token = (id: string) => id.replace(/%/g, "%25").replace(/\./g, "%2E");
const untoken = (t: string) => t.replace(/%2E/g, ".").replace(/%25/g, "%");
const questKey = (id: string) => `quest.${token(id)}`;
const playerKey = (playerId: string, questId: string) => `player.${token(playerId)}.${token(questId)}`;
const MAX_AMOUNT = 1_000_000;

function requireId(value: string, field: string): string {
  const v = value.trim();
  if (!v) throw badRequest(`${field} is required`);
  if (v.length > 128) throw badRequest(`${field} is longer than 128 characters`);
  return v;
}

/** Domain refusals as service errors. */
function rules<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof QuestRuleError) throw new ServiceError(err.code, err.message);
    throw err;
  }
}

class QuestSystem extends ServiceBase implements RpcHandlers<QuestSystemServiceRpcs> {
  private readonly pageSize = Number(this.ctx.env.QUEST_PAGE_SIZE ?? 50);
  private readonly maxPageSize = Number(this.ctx.env.QUEST_MAX_PAGE_SIZE ?? 200);

  async DefineQuest(req: DefineQuestRequest): Promise<DefineQuestResponse> {
    const q = req.quest;
    if (!q) throw badRequest("quest is required");
    const questId = requireId(q.questId, "quest.questId");
    const def: QuestDefinition = {
      ...q,
      questId,
      tags: [...new Set(q.tags.map((t) => t.trim().toLowerCase()).filter(Boolean))],
    };
    const errors = validateDefinition(def, await this.allDefinitions());
    if (errors.length) return { quest: def, created: false, errors };
    let created = false;
    await this.mutate<QuestDefinition>(questKey(questId), (cur) => {
      created = !cur;
      return def;
    });
    await this.ctx.events.publish("QuestDefinedEvent", { questId, title: def.title, created });
    return { quest: def, created, errors: [] };
  }

  async ListQuests(req: ListQuestsRequest): Promise<ListQuestsResponse> {
    const size = req.page?.pageSize || this.pageSize;
    if (size > this.maxPageSize) throw badRequest(`page.pageSize must be <= ${this.maxPageSize}`);
    const after = req.page?.pageToken ? Buffer.from(req.page.pageToken, "base64url").toString("utf8") : "";
    const tag = req.tag.trim().toLowerCase();
    const all = [...(await this.allDefinitions()).values()]
      .filter((d) => !tag || d.tags.includes(tag))
      .sort((a, b) => (a.questId < b.questId ? -1 : 1));
    const rest = all.filter((d) => d.questId > after);
    const quests = rest.slice(0, size);
    const nextPageToken =
      rest.length > size ? Buffer.from(quests[quests.length - 1]!.questId, "utf8").toString("base64url") : "";
    return { quests, page: { nextPageToken, total: all.length } };
  }

  async StartQuest(req: StartQuestRequest): Promise<StartQuestResponse> {
    const playerId = requireId(req.playerId, "playerId");
    const questId = requireId(req.questId, "questId");
    const def = await this.loadDefinition(questId);
    const prereqs = await Promise.all(
      def.prerequisiteQuestIds.map((p) => this.ctx.state.get<PlayerQuest>(playerKey(playerId, p))),
    );
    const completed = new Set(prereqs.flatMap((p) => (p && p.value.completionCount > 0 ? [p.value.questId] : [])));
    await this.current(playerId, questId);
    const quest = (await this.mutate<PlayerQuest>(playerKey(playerId, questId), (previous) =>
      rules(() => {
        checkStart({ def, previous, playerLevel: req.playerLevel, completed });
        return startQuest(def, playerId, previous, new Date());
      }),
    ))!;
    await this.ctx.events.publish("QuestStartedEvent", { playerId, questId, at: quest.startedAt });
    return { quest };
  }

  async ProgressQuest(req: ProgressQuestRequest): Promise<ProgressQuestResponse> {
    const objectiveId = requireId(req.objectiveId, "objectiveId");
    if (req.amount > MAX_AMOUNT) throw badRequest(`amount must be <= ${MAX_AMOUNT}`);
    const def = await this.loadDefinition(requireId(req.questId, "questId"));
    if (!def.objectives.some((o) => o.objectiveId === objectiveId))
      throw notFound(`${def.questId} has no objective ${objectiveId}`);
    let outcome: ReturnType<typeof progressQuest> | undefined;
    const quest = await this.change(req, (pq, now) => {
      outcome = progressQuest(pq, def, objectiveId, req.amount, now);
      return outcome.changed ? outcome.quest : undefined;
    });
    const { objective, objectiveCompleted, changed } = outcome!;
    if (changed) {
      await this.ctx.events.publish("QuestProgressedEvent", {
        playerId: quest.playerId,
        questId: quest.questId,
        objectiveId,
        currentCount: objective.currentCount,
        requiredCount: objective.requiredCount,
        objectiveCompleted: objective.completed,
        at: quest.updatedAt,
      });
    }
    return { quest, objectiveCompleted };
  }

  async CompleteQuest(req: CompleteQuestRequest): Promise<CompleteQuestResponse> {
    const def = await this.loadDefinition(requireId(req.questId, "questId"));
    const quest = await this.change(req, (pq, now) => completeQuest(pq, def, now));
    const rewards: Reward[] = def.rewards;
    await this.ctx.events.publish("QuestCompletedEvent", {
      playerId: quest.playerId,
      questId: quest.questId,
      rewards,
      completionCount: quest.completionCount,
      at: quest.finishedAt,
    });
    return { quest, rewards };
  }

  async AbandonQuest(req: AbandonQuestRequest): Promise<AbandonQuestResponse> {
    if (req.reason.length > 200) throw badRequest("reason is longer than 200 characters");
    const quest = await this.change(req, (pq, now) => abandonQuest(pq, now));
    await this.ctx.events.publish("QuestAbandonedEvent", {
      playerId: quest.playerId,
      questId: quest.questId,
      reason: req.reason || "abandoned",
      at: quest.finishedAt,
    });
    return { quest };
  }

  async GetPlayerQuest(req: GetPlayerQuestRequest): Promise<GetPlayerQuestResponse> {
    const playerId = requireId(req.playerId, "playerId");
    const questId = requireId(req.questId, "questId");
    const quest = await this.current(playerId, questId);
    if (!quest) return { found: false };
    const definition = (await this.ctx.state.get<QuestDefinition>(questKey(questId)))?.value;
    return definition ? { found: true, quest, definition } : { found: true, quest };
  }

  async ListPlayerQuests(req: ListPlayerQuestsRequest): Promise<ListPlayerQuestsResponse> {
    const playerId = requireId(req.playerId, "playerId");
    const questIds = (await this.ctx.state.keys(`player.${token(playerId)}`)).map((k) => untoken(k.split(".")[2]!));
    const quests = (await Promise.all(questIds.map((q) => this.current(playerId, q)))).flatMap((q) => (q ? [q] : []));
    const wanted = req.status === "QUEST_STATUS_UNSPECIFIED" ? quests : quests.filter((q) => q.status === req.status);
    return { quests: wanted.sort((a, b) => (a.questId < b.questId ? -1 : 1)) };
  }

  /** Read-modify-write with optimistic concurrency; `fn` returns undefined to leave the value as it is. */
  private async mutate<T>(key: string, fn: (cur: T | undefined) => T | undefined): Promise<T | undefined> {
    for (let attempt = 0; ; attempt++) {
      const cur = await this.ctx.state.get<T>(key);
      const next = fn(cur?.value);
      if (next === undefined) return cur?.value;
      try {
        await this.ctx.state.put(key, next, cur?.revision ?? 0);
        return next;
      } catch (err) {
        if (!(err instanceof RevisionConflict) || attempt >= 30) throw err;
        await new Promise((r) => setTimeout(r, Math.random() * 5 * (attempt + 1))); // jitter so racing writers spread out
      }
    }
  }

  private async loadDefinition(questId: string): Promise<QuestDefinition> {
    const d = await this.ctx.state.get<QuestDefinition>(questKey(questId));
    if (!d) throw notFound(`no quest ${questId}`);
    return d.value;
  }

  private async allDefinitions(): Promise<Map<string, QuestDefinition>> {
    const loaded = await Promise.all(
      (await this.ctx.state.keys("quest")).map((k) => this.ctx.state.get<QuestDefinition>(k)),
    );
    return new Map(loaded.flatMap((d) => (d ? [[d.value.questId, d.value] as const] : [])));
  }

  private async publishFailed(pq: PlayerQuest): Promise<void> {
    await this.ctx.events.publish("QuestFailedEvent", {
      playerId: pq.playerId,
      questId: pq.questId,
      reason: "deadline passed",
      at: pq.finishedAt,
    });
  }

  /** The player's quest with its deadline applied (persisted and announced when it just ran out). */
  private async current(playerId: string, questId: string): Promise<PlayerQuest | undefined> {
    let failed: PlayerQuest | undefined;
    const pq = await this.mutate<PlayerQuest>(playerKey(playerId, questId), (cur) => {
      failed = cur && (expired(cur, new Date()) ?? undefined);
      return failed;
    });
    if (failed) await this.publishFailed(failed);
    return pq;
  }

  /** Applies a rule to an existing player quest, failing it first if its deadline passed. */
  private async change(
    req: { playerId: string; questId: string },
    fn: (pq: PlayerQuest, now: Date) => PlayerQuest | undefined,
  ): Promise<PlayerQuest> {
    const playerId = requireId(req.playerId, "playerId");
    const questId = requireId(req.questId, "questId");
    await this.current(playerId, questId);
    const pq = await this.mutate<PlayerQuest>(playerKey(playerId, questId), (cur) => {
      if (!cur) throw notFound(`player ${playerId} has not started ${questId}`);
      return rules(() => fn(cur, new Date()));
    });
    return pq!;
  }
}

export default defineService({
  name: "quest-system",
  description: "Quest definitions and player quest progress",
  start: (ctx) => new QuestSystem(ctx),
});
