import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../test-support/harness.js";
import {
  abandonQuest,
  checkStart,
  completeQuest,
  durationMs,
  expired,
  isReady,
  progressQuest,
  QuestRuleError,
  startQuest,
  validateDefinition,
  type QuestDefinition,
} from "./domain.js";
import service from "./service.js";

const obj = (objectiveId: string, requiredCount = 1, optional = false) => ({
  objectiveId,
  description: "",
  kind: "kill",
  target: "wolf",
  requiredCount,
  optional,
});
const quest = (questId: string, over: Partial<QuestDefinition> = {}): QuestDefinition => ({
  questId,
  title: `Quest ${questId}`,
  description: "",
  objectives: [obj("wolves", 3), obj("pelt", 1, true)],
  rewards: [{ kind: "xp", itemId: "", quantity: 100 }],
  prerequisiteQuestIds: [],
  minLevel: 0,
  repeatable: false,
  tags: [],
  ...over,
});
const now = new Date("2025-01-01T00:00:00Z");

describe("quest definitions", () => {
  it("accepts a well-formed definition", () => {
    expect(validateDefinition(quest("q1"), new Map())).toEqual([]);
  });

  it("reports duplicate objectives, bad counts, bad rewards and unknown prerequisites", () => {
    const bad = quest("q1", {
      title: "",
      objectives: [obj("a"), obj("a", 0)],
      rewards: [
        { kind: "gold", itemId: "", quantity: 1 },
        { kind: "currency", itemId: "", quantity: 0, money: { currency: "GOLD", minorUnits: "0" } },
      ],
      prerequisiteQuestIds: ["nope", "q1"],
    });
    const codes = validateDefinition(bad, new Map()).map((e) => e.code);
    expect(codes).toEqual([
      "REQUIRED",
      "DUPLICATE_OBJECTIVE",
      "OUT_OF_RANGE",
      "UNKNOWN_REWARD_KIND",
      "INVALID_REWARD",
      "UNKNOWN_PREREQUISITE",
      "SELF_PREREQUISITE",
    ]);
  });

  it("refuses a quest whose objectives are all optional", () => {
    expect(validateDefinition(quest("q", { objectives: [obj("a", 1, true)] }), new Map()).map((e) => e.code)).toEqual([
      "NO_REQUIRED_OBJECTIVE",
    ]);
  });

  it("detects prerequisite cycles through a replaced definition", () => {
    const known = new Map([
      ["a", quest("a")],
      ["b", quest("b", { prerequisiteQuestIds: ["a"] })],
    ]);
    expect(validateDefinition(quest("a", { prerequisiteQuestIds: ["b"] }), known).map((e) => e.code)).toEqual([
      "PREREQUISITE_CYCLE",
    ]);
  });

  it("parses proto durations", () => {
    expect(durationMs("90s")).toBe(90_000);
    expect(durationMs("1.5s")).toBe(1500);
    expect(durationMs(undefined)).toBe(0);
  });
});

describe("player quest rules", () => {
  const def = quest("q1");

  it("checks level, prerequisites, an active run and repeatability before starting", () => {
    const start = (over: Partial<Parameters<typeof checkStart>[0]>) => () =>
      checkStart({ def, previous: undefined, playerLevel: 1, completed: new Set(), ...over });
    expect(start({ def: quest("q", { minLevel: 5 }) })).toThrow(/level 5/);
    expect(start({ def: quest("q", { prerequisiteQuestIds: ["p"] }) })).toThrow(/needs p completed/);
    expect(start({ def: quest("q", { prerequisiteQuestIds: ["p"] }), completed: new Set(["p"]) })).not.toThrow();
    const active = startQuest(def, "ann", undefined, now);
    expect(start({ previous: active })).toThrow(QuestRuleError);
    const done = { ...active, status: "QUEST_STATUS_COMPLETED" as const, completionCount: 1 };
    expect(start({ previous: done })).toThrow(/not repeatable/);
    expect(start({ previous: done, def: { ...def, repeatable: true } })).not.toThrow();
    expect(start({ previous: { ...active, status: "QUEST_STATUS_ABANDONED" } })).not.toThrow();
  });

  it("clamps progress at the required count and reports the completing call once", () => {
    let pq = startQuest(def, "ann", undefined, now);
    const a = progressQuest(pq, def, "wolves", 2, now);
    expect([a.objective.currentCount, a.objectiveCompleted, a.quest.readyToComplete]).toEqual([2, false, false]);
    pq = a.quest;
    const b = progressQuest(pq, def, "wolves", 10, now);
    expect([b.objective.currentCount, b.objectiveCompleted, b.quest.readyToComplete]).toEqual([3, true, true]);
    const c = progressQuest(b.quest, def, "wolves", 1, now);
    expect([c.objective.currentCount, c.objectiveCompleted, c.changed]).toEqual([3, false, false]);
    expect(progressQuest(startQuest(def, "ann", undefined, now), def, "wolves", 0, now).objective.currentCount).toBe(1);
  });

  it("completes only when every required objective is done, ignoring optional ones", () => {
    const pq = startQuest(def, "ann", undefined, now);
    expect(() => completeQuest(pq, def, now)).toThrow(/wolves/);
    const ready = progressQuest(pq, def, "wolves", 3, now).quest;
    expect(isReady(ready.objectives, def)).toBe(true);
    const done = completeQuest(ready, def, now);
    expect([done.status, done.completionCount, done.finishedAt]).toEqual([
      "QUEST_STATUS_COMPLETED",
      1,
      now.toISOString(),
    ]);
    expect(() => completeQuest(done, def, now)).toThrow(/not active/);
    expect(() => abandonQuest(done, now)).toThrow(/not active/);
  });

  it("fails an active quest once its deadline passes", () => {
    const timed = quest("t", { timeLimit: "60s" });
    const pq = startQuest(timed, "ann", undefined, now);
    expect(pq.deadline).toBe("2025-01-01T00:01:00.000Z");
    expect(expired(pq, new Date(now.getTime() + 59_000))).toBeNull();
    expect(expired(pq, new Date(now.getTime() + 60_000))?.status).toBe("QUEST_STATUS_FAILED");
    expect(expired(startQuest(def, "ann", undefined, now), new Date(8e15))).toBeNull();
  });
});

interface PQ {
  status: string;
  completionCount: number;
  readyToComplete: boolean;
  objectives: { objectiveId: string; currentCount: number; completed: boolean }[];
}

describe("quest-system over NATS", () => {
  let h: Harness;
  const events: string[] = [];
  beforeAll(async () => {
    h = await startHarness();
    await h.start(service);
    await h.start(service);
    h.nc.subscribe("events.quest-system.>", { callback: (_e, m) => void events.push(m.subject.split(".")[2]!) });
    await h.call("quest-system.define-quest", {
      quest: quest("wolf.hunt", {
        tags: ["Hunting"],
        rewards: [{ kind: "currency", itemId: "", quantity: 0, money: { currency: "GOLD", minorUnits: "50" } }],
      }),
    });
    await h.call("quest-system.define-quest", {
      quest: quest("den", { prerequisiteQuestIds: ["wolf.hunt"], minLevel: 3, objectives: [obj("enter")] }),
    });
    await h.call("quest-system.define-quest", {
      quest: quest("daily", { repeatable: true, objectives: [obj("x")], tags: ["hunting"] }),
    });
    await h.call("quest-system.define-quest", { quest: quest("timed", { timeLimit: "0.3s", objectives: [obj("x")] }) });
  });
  afterAll(async () => h?.stop());

  it("reports definition problems in errors instead of storing them", async () => {
    const r = await h.call<{ created: boolean; errors: { code: string }[] }>("quest-system.define-quest", {
      quest: quest("broken", { objectives: [] }),
    });
    expect(r.created).toBe(false);
    expect(r.errors.map((e) => e.code)).toEqual(["REQUIRED"]);
    expect((await h.fail("quest-system.define-quest", { quest: { questId: "" } })).code).toBe(400);
    const again = await h.call<{ created: boolean }>("quest-system.define-quest", {
      quest: quest("daily", { repeatable: true, objectives: [obj("x")], tags: ["hunting"] }),
    });
    expect(again.created).toBe(false);
  });

  it("lists definitions by tag, page by page", async () => {
    const p1 = await h.call<{ quests: { questId: string }[]; page: { nextPageToken: string; total: number } }>(
      "quest-system.list-quests",
      { tag: "hunting", page: { pageSize: 1 } },
    );
    expect(p1.quests.map((q) => q.questId)).toEqual(["daily"]);
    expect(p1.page.total).toBe(2);
    const p2 = await h.call<{ quests: { questId: string }[]; page: { nextPageToken: string } }>(
      "quest-system.list-quests",
      { tag: "hunting", page: { pageSize: 1, pageToken: p1.page.nextPageToken } },
    );
    expect(p2.quests.map((q) => q.questId)).toEqual(["wolf.hunt"]);
    expect(p2.page.nextPageToken).toBe("");
  });

  it("runs a quest from start to completion and returns its rewards", async () => {
    const s = await h.call<{ quest: PQ }>("quest-system.start-quest", { playerId: "ann", questId: "wolf.hunt" });
    expect(s.quest.status).toBe("QUEST_STATUS_ACTIVE");
    expect((await h.fail("quest-system.start-quest", { playerId: "ann", questId: "wolf.hunt" })).code).toBe(409);
    expect((await h.fail("quest-system.complete-quest", { playerId: "ann", questId: "wolf.hunt" })).code).toBe(412);
    const p = await h.call<{ quest: PQ; objectiveCompleted: boolean }>("quest-system.progress-quest", {
      playerId: "ann",
      questId: "wolf.hunt",
      objectiveId: "wolves",
      amount: 5,
    });
    expect(p.objectiveCompleted).toBe(true);
    expect(p.quest.objectives[0]).toMatchObject({ currentCount: 3, completed: true });
    expect(p.quest.readyToComplete).toBe(true);
    expect(
      (await h.fail("quest-system.progress-quest", { playerId: "ann", questId: "wolf.hunt", objectiveId: "ghost" }))
        .code,
    ).toBe(404);
    const c = await h.call<{ quest: PQ; rewards: { kind: string; money: { minorUnits: string } }[] }>(
      "quest-system.complete-quest",
      { playerId: "ann", questId: "wolf.hunt" },
    );
    expect(c.quest).toMatchObject({ status: "QUEST_STATUS_COMPLETED", completionCount: 1 });
    expect(c.rewards[0]).toMatchObject({ kind: "currency", money: { minorUnits: "50" } });
    expect((await h.fail("quest-system.start-quest", { playerId: "ann", questId: "wolf.hunt" })).code).toBe(409);
  });

  it("enforces prerequisites and level", async () => {
    expect((await h.fail("quest-system.start-quest", { playerId: "bob", questId: "den", playerLevel: 5 })).code).toBe(
      412,
    );
    expect((await h.fail("quest-system.start-quest", { playerId: "ann", questId: "den", playerLevel: 1 })).code).toBe(
      412,
    );
    const ok = await h.call<{ quest: PQ }>("quest-system.start-quest", {
      playerId: "ann",
      questId: "den",
      playerLevel: 3,
    });
    expect(ok.quest.status).toBe("QUEST_STATUS_ACTIVE");
    expect((await h.fail("quest-system.start-quest", { playerId: "ann", questId: "nope" })).code).toBe(404);
  });

  it("counts concurrent progress exactly with two instances", async () => {
    await h.call("quest-system.define-quest", { quest: quest("gather", { objectives: [obj("herb", 100)] }) });
    await h.call("quest-system.start-quest", { playerId: "cy", questId: "gather" });
    await Promise.all(
      Array.from({ length: 20 }, () =>
        h.call("quest-system.progress-quest", { playerId: "cy", questId: "gather", objectiveId: "herb", amount: 2 }),
      ),
    );
    const g = await h.call<{ found: boolean; quest: PQ; definition: { questId: string } }>(
      "quest-system.get-player-quest",
      { playerId: "cy", questId: "gather" },
    );
    expect(g.quest.objectives[0]!.currentCount).toBe(40);
    expect(g.definition.questId).toBe("gather");
  });

  it("abandons and restarts, repeats repeatable quests, and keeps the completion count", async () => {
    await h.call("quest-system.start-quest", { playerId: "dee", questId: "daily" });
    const a = await h.call<{ quest: PQ }>("quest-system.abandon-quest", {
      playerId: "dee",
      questId: "daily",
      reason: "bored",
    });
    expect(a.quest.status).toBe("QUEST_STATUS_ABANDONED");
    expect((await h.fail("quest-system.abandon-quest", { playerId: "dee", questId: "daily" })).code).toBe(412);
    for (let i = 0; i < 2; i++) {
      await h.call("quest-system.start-quest", { playerId: "dee", questId: "daily" });
      await h.call("quest-system.progress-quest", { playerId: "dee", questId: "daily", objectiveId: "x" });
      await h.call("quest-system.complete-quest", { playerId: "dee", questId: "daily" });
    }
    const g = await h.call<{ quest: PQ }>("quest-system.get-player-quest", { playerId: "dee", questId: "daily" });
    expect(g.quest.completionCount).toBe(2);
  });

  it("fails a quest whose time limit ran out", async () => {
    await h.call("quest-system.start-quest", { playerId: "eve", questId: "timed" });
    await new Promise((r) => setTimeout(r, 400));
    expect(
      (await h.fail("quest-system.progress-quest", { playerId: "eve", questId: "timed", objectiveId: "x" })).code,
    ).toBe(412);
    const g = await h.call<{ quest: PQ }>("quest-system.get-player-quest", { playerId: "eve", questId: "timed" });
    expect(g.quest.status).toBe("QUEST_STATUS_FAILED");
  });

  it("lists a player's quests by status and publishes quest events", async () => {
    const all = await h.call<{ quests: { questId: string }[] }>("quest-system.list-player-quests", { playerId: "ann" });
    expect(all.quests.map((q) => q.questId)).toEqual(["den", "wolf.hunt"]);
    const done = await h.call<{ quests: { questId: string }[] }>("quest-system.list-player-quests", {
      playerId: "ann",
      status: "QUEST_STATUS_COMPLETED",
    });
    expect(done.quests.map((q) => q.questId)).toEqual(["wolf.hunt"]);
    expect(
      (await h.call<{ found: boolean }>("quest-system.get-player-quest", { playerId: "nobody", questId: "den" })).found,
    ).toBe(false);
    expect((await h.fail("quest-system.list-player-quests", { playerId: "" })).code).toBe(400);
    await h.nc.flush();
    expect(new Set(events)).toEqual(
      new Set([
        "quest-defined",
        "quest-started",
        "quest-progressed",
        "quest-completed",
        "quest-abandoned",
        "quest-failed",
      ]),
    );
  });
});
