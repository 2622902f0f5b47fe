// quest-system: quest definitions and each player's progress through them.
// State: `quest.<questId>` = QuestDefinition, `player.<playerId>.<questId>` = PlayerQuest; every change is a
// revision-checked write (retried on conflict with the rules re-applied to the fresh value). An active
// quest past its deadline becomes FAILED the next time anyone touches it (QuestFailedEvent).
// Env: QUEST_PAGE_SIZE (default 50), QUEST_MAX_PAGE_SIZE (default 200).
import { defineService, type ServiceContext } from "../sdk/runtime.js";
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
  type ErrorDetail,
  type PlayerQuest,
  type QuestDefinition,
  type QuestStatus,
  type Reward,
} from "./domain.js";

// ---- proto types (quest_system.v1) ----
interface DefineQuestRequest {
  quest?: QuestDefinition;
}
interface DefineQuestResponse {
  quest?: QuestDefinition;
  created: boolean;
  errors: ErrorDetail[];
}
interface ListQuestsRequest {
  tag: string;
  page?: { pageSize: number; pageToken: string };
}
interface ListQuestsResponse {
  quests: QuestDefinition[];
  page: { nextPageToken: string; total: number };
}
interface PlayerQuestRequest {
  playerId: string;
  questId: string;
}
interface StartQuestRequest extends PlayerQuestRequest {
  playerLevel: number;
}
interface ProgressQuestRequest extends PlayerQuestRequest {
  objectiveId: string;
  amount: number;
}
interface AbandonQuestRequest extends PlayerQuestRequest {
  reason: string;
}
interface ListPlayerQuestsRequest {
  playerId: string;
  status: QuestStatus;
}

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

export default defineService({
  name: "quest-system",
  description: "Quest definitions and player quest progress",
  start(ctx: ServiceContext) {
    const pageSize = Number(ctx.env.QUEST_PAGE_SIZE ?? 50);
    const maxPageSize = Number(ctx.env.QUEST_MAX_PAGE_SIZE ?? 200);

    /** Read-modify-write with optimistic concurrency; `fn` returns undefined to leave the value as it is. */
    async function mutate<T>(key: string, fn: (cur: T | undefined) => T | undefined): Promise<T | undefined> {
      for (let attempt = 0; ; attempt++) {
        const cur = await ctx.state.get<T>(key);
        const next = fn(cur?.value);
        if (next === undefined) return cur?.value;
        try {
          await ctx.state.put(key, next, cur?.revision ?? 0);
          return next;
        } catch (err) {
          if (!(err instanceof RevisionConflict) || attempt >= 30) throw err;
          await new Promise((r) => setTimeout(r, Math.random() * 5 * (attempt + 1))); // jitter so racing writers spread out
        }
      }
    }

    async function loadDefinition(questId: string): Promise<QuestDefinition> {
      const d = await ctx.state.get<QuestDefinition>(questKey(questId));
      if (!d) throw notFound(`no quest ${questId}`);
      return d.value;
    }

    async function allDefinitions(): Promise<Map<string, QuestDefinition>> {
      const loaded = await Promise.all((await ctx.state.keys("quest")).map((k) => ctx.state.get<QuestDefinition>(k)));
      return new Map(loaded.flatMap((d) => (d ? [[d.value.questId, d.value] as const] : [])));
    }

    async function publishFailed(pq: PlayerQuest): Promise<void> {
      await ctx.events.publish("QuestFailedEvent", {
        playerId: pq.playerId,
        questId: pq.questId,
        reason: "deadline passed",
        at: pq.finishedAt,
      });
    }

    /** The player's quest with its deadline applied (persisted and announced when it just ran out). */
    async function current(playerId: string, questId: string): Promise<PlayerQuest | undefined> {
      let failed: PlayerQuest | undefined;
      const pq = await mutate<PlayerQuest>(playerKey(playerId, questId), (cur) => {
        failed = cur && (expired(cur, new Date()) ?? undefined);
        return failed;
      });
      if (failed) await publishFailed(failed);
      return pq;
    }

    /** Applies a rule to an existing player quest, failing it first if its deadline passed. */
    async function change(
      req: PlayerQuestRequest,
      fn: (pq: PlayerQuest, now: Date) => PlayerQuest | undefined,
    ): Promise<PlayerQuest> {
      const playerId = requireId(req.playerId, "playerId");
      const questId = requireId(req.questId, "questId");
      await current(playerId, questId);
      const pq = await mutate<PlayerQuest>(playerKey(playerId, questId), (cur) => {
        if (!cur) throw notFound(`player ${playerId} has not started ${questId}`);
        return rules(() => fn(cur, new Date()));
      });
      return pq!;
    }

    return {
      async DefineQuest(req: DefineQuestRequest): Promise<DefineQuestResponse> {
        const q = req.quest;
        if (!q) throw badRequest("quest is required");
        const questId = requireId(q.questId, "quest.questId");
        const def: QuestDefinition = {
          ...q,
          questId,
          tags: [...new Set(q.tags.map((t) => t.trim().toLowerCase()).filter(Boolean))],
        };
        const errors = validateDefinition(def, await allDefinitions());
        if (errors.length) return { quest: def, created: false, errors };
        let created = false;
        await mutate<QuestDefinition>(questKey(questId), (cur) => {
          created = !cur;
          return def;
        });
        await ctx.events.publish("QuestDefinedEvent", { questId, title: def.title, created });
        return { quest: def, created, errors: [] };
      },

      async ListQuests(req: ListQuestsRequest): Promise<ListQuestsResponse> {
        const size = req.page?.pageSize || pageSize;
        if (size > maxPageSize) throw badRequest(`page.pageSize must be <= ${maxPageSize}`);
        const after = req.page?.pageToken ? Buffer.from(req.page.pageToken, "base64url").toString("utf8") : "";
        const tag = req.tag.trim().toLowerCase();
        const all = [...(await allDefinitions()).values()]
          .filter((d) => !tag || d.tags.includes(tag))
          .sort((a, b) => (a.questId < b.questId ? -1 : 1));
        const rest = all.filter((d) => d.questId > after);
        const quests = rest.slice(0, size);
        const nextPageToken =
          rest.length > size ? Buffer.from(quests[quests.length - 1]!.questId, "utf8").toString("base64url") : "";
        return { quests, page: { nextPageToken, total: all.length } };
      },

      async StartQuest(req: StartQuestRequest) {
        const playerId = requireId(req.playerId, "playerId");
        const questId = requireId(req.questId, "questId");
        const def = await loadDefinition(questId);
        const prereqs = await Promise.all(
          def.prerequisiteQuestIds.map((p) => ctx.state.get<PlayerQuest>(playerKey(playerId, p))),
        );
        const completed = new Set(prereqs.flatMap((p) => (p && p.value.completionCount > 0 ? [p.value.questId] : [])));
        await current(playerId, questId);
        const quest = (await mutate<PlayerQuest>(playerKey(playerId, questId), (previous) =>
          rules(() => {
            checkStart({ def, previous, playerLevel: req.playerLevel, completed });
            return startQuest(def, playerId, previous, new Date());
          }),
        ))!;
        await ctx.events.publish("QuestStartedEvent", { playerId, questId, at: quest.startedAt });
        return { quest };
      },

      async ProgressQuest(req: ProgressQuestRequest) {
        const objectiveId = requireId(req.objectiveId, "objectiveId");
        if (req.amount > MAX_AMOUNT) throw badRequest(`amount must be <= ${MAX_AMOUNT}`);
        const def = await loadDefinition(requireId(req.questId, "questId"));
        if (!def.objectives.some((o) => o.objectiveId === objectiveId))
          throw notFound(`${def.questId} has no objective ${objectiveId}`);
        let outcome: ReturnType<typeof progressQuest> | undefined;
        const quest = await change(req, (pq, now) => {
          outcome = progressQuest(pq, def, objectiveId, req.amount, now);
          return outcome.changed ? outcome.quest : undefined;
        });
        const { objective, objectiveCompleted, changed } = outcome!;
        if (changed) {
          await ctx.events.publish("QuestProgressedEvent", {
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
      },

      async CompleteQuest(req: PlayerQuestRequest) {
        const def = await loadDefinition(requireId(req.questId, "questId"));
        const quest = await change(req, (pq, now) => completeQuest(pq, def, now));
        const rewards: Reward[] = def.rewards;
        await ctx.events.publish("QuestCompletedEvent", {
          playerId: quest.playerId,
          questId: quest.questId,
          rewards,
          completionCount: quest.completionCount,
          at: quest.finishedAt,
        });
        return { quest, rewards };
      },

      async AbandonQuest(req: AbandonQuestRequest) {
        if (req.reason.length > 200) throw badRequest("reason is longer than 200 characters");
        const quest = await change(req, (pq, now) => abandonQuest(pq, now));
        await ctx.events.publish("QuestAbandonedEvent", {
          playerId: quest.playerId,
          questId: quest.questId,
          reason: req.reason || "abandoned",
          at: quest.finishedAt,
        });
        return { quest };
      },

      async GetPlayerQuest(req: PlayerQuestRequest) {
        const playerId = requireId(req.playerId, "playerId");
        const questId = requireId(req.questId, "questId");
        const quest = await current(playerId, questId);
        if (!quest) return { found: false };
        const definition = (await ctx.state.get<QuestDefinition>(questKey(questId)))?.value;
        return definition ? { found: true, quest, definition } : { found: true, quest };
      },

      async ListPlayerQuests(req: ListPlayerQuestsRequest) {
        const playerId = requireId(req.playerId, "playerId");
        const questIds = (await ctx.state.keys(`player.${token(playerId)}`)).map((k) => untoken(k.split(".")[2]!));
        const quests = (await Promise.all(questIds.map((q) => current(playerId, q)))).flatMap((q) => (q ? [q] : []));
        const wanted =
          req.status === "QUEST_STATUS_UNSPECIFIED" ? quests : quests.filter((q) => q.status === req.status);
        return { quests: wanted.sort((a, b) => (a.questId < b.questId ? -1 : 1)) };
      },
    };
  },
});
