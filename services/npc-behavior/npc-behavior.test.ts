import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../test-support/harness.js";
import {
  ARCHETYPES,
  CATALOG,
  INERTIA,
  actionsFor,
  curveValue,
  decide,
  resolveInputs,
  scoreAction,
  type ActionDefinition,
  type Consideration,
  type Inputs,
} from "./domain.js";
import service from "./service.js";

const base: Inputs = {
  needs: {},
  hourOfDay: 12,
  weather: "",
  threatLevel: 0,
  nearestPlayerDistance: -1,
  inCombat: false,
  extra: {},
};
const cons = (curve: Consideration["curve"], paramA = 0, paramB = 0, weight = 0): Consideration => ({
  input: "x",
  curve,
  paramA,
  paramB,
  weight,
});

describe("response curves", () => {
  it("maps linear and inverse linear inputs with slope and offset, clamped to [0,1]", () => {
    expect(curveValue(cons("CURVE_TYPE_LINEAR"), 0.3)).toBeCloseTo(0.3);
    expect(curveValue(cons("CURVE_TYPE_LINEAR", 0.5, 0.5), 0.4)).toBeCloseTo(0.7);
    expect(curveValue(cons("CURVE_TYPE_LINEAR", 2), 0.8)).toBe(1);
    expect(curveValue(cons("CURVE_TYPE_INVERSE_LINEAR"), 0.3)).toBeCloseTo(0.7);
    expect(curveValue(cons("CURVE_TYPE_LINEAR"), 7)).toBe(1);
    expect(curveValue(cons("CURVE_TYPE_LINEAR"), -3)).toBe(0);
  });

  it("raises quadratic curves to their exponent (2 by default)", () => {
    expect(curveValue(cons("CURVE_TYPE_QUADRATIC"), 0.5)).toBeCloseTo(0.25);
    expect(curveValue(cons("CURVE_TYPE_QUADRATIC", 3), 0.5)).toBeCloseTo(0.125);
  });

  it("centres logistic curves on their midpoint", () => {
    expect(curveValue(cons("CURVE_TYPE_LOGISTIC", 10, 0.5), 0.5)).toBeCloseTo(0.5);
    expect(curveValue(cons("CURVE_TYPE_LOGISTIC", 10, 0.5), 0.9)).toBeGreaterThan(0.97);
    expect(curveValue(cons("CURVE_TYPE_LOGISTIC", 10, 0.5), 0.1)).toBeLessThan(0.03);
  });

  it("steps from the low value to 1 at the threshold", () => {
    expect(curveValue(cons("CURVE_TYPE_STEP", 0.5, 0.2), 0.49)).toBe(0.2);
    expect(curveValue(cons("CURVE_TYPE_STEP", 0.5, 0.2), 0.5)).toBe(1);
  });

  it("applies the weight as an exponent", () => {
    expect(curveValue(cons("CURVE_TYPE_LINEAR", 0, 0, 2), 0.5)).toBeCloseTo(0.25);
    expect(curveValue(cons("CURVE_TYPE_LINEAR", 0, 0, 0.5), 0.25)).toBeCloseTo(0.5);
  });
});

describe("derived inputs", () => {
  it("derives daylight, night, proximity and bad weather from the context", () => {
    const noon = resolveInputs({ ...base, weather: "WEATHER_CONDITION_RAIN", nearestPlayerDistance: 15 });
    expect(noon).toMatchObject({ daylight: 1, is_night: 0, bad_weather: 1, player_proximity: 0.5, hour_of_day: 0.5 });
    const night = resolveInputs({ ...base, hourOfDay: 23, weather: "fog" });
    expect(night).toMatchObject({ daylight: 0, is_night: 1, bad_weather: 0.5, player_proximity: 0 });
    expect(resolveInputs({ ...base, inCombat: true, needs: { hunger: 0.4 }, extra: { loot: 0.9 } })).toMatchObject({
      in_combat: 1,
      hunger: 0.4,
      loot: 0.9,
    });
  });
});

describe("action scores", () => {
  const two: ActionDefinition = {
    actionId: "a",
    description: "",
    baseWeight: 1,
    archetypes: [],
    considerations: [
      { input: "p", curve: "CURVE_TYPE_LINEAR", weight: 0, paramA: 0, paramB: 0 },
      { input: "q", curve: "CURVE_TYPE_LINEAR", weight: 0, paramA: 0, paramB: 0 },
    ],
  };

  it("multiplies considerations and compensates for their number", () => {
    const s = scoreAction(two, { p: 0.5, q: 0.5 });
    // raw 0.25, make-up (1 - 0.25) * (1 - 1/2) = 0.375 -> 0.25 + 0.375 * 0.25
    expect(s.score).toBeCloseTo(0.34375);
    expect(s.considerations).toEqual([
      { input: "p", inputValue: 0.5, score: 0.5 },
      { input: "q", inputValue: 0.5, score: 0.5 },
    ]);
  });

  it("vetoes an action when any consideration scores zero, and reads missing inputs as zero", () => {
    expect(scoreAction(two, { p: 1 }).score).toBe(0);
  });

  it("scales by the base weight and scores an action without considerations by it alone", () => {
    expect(scoreAction({ ...two, baseWeight: 0.5 }, { p: 1, q: 1 }).score).toBe(0.5);
    expect(
      scoreAction(
        CATALOG.find((a) => a.actionId === "idle")!,
        {},
      ).score,
    ).toBe(0.1);
  });
});

describe("decisions", () => {
  const scenarios: [string, string, Partial<Inputs>, string][] = [
    ["a hungry villager at noon eats", "villager", { needs: { hunger: 0.92, fatigue: 0.2, duty: 0.5 } }, "eat"],
    ["a tired villager sleeps at night", "villager", { hourOfDay: 23, needs: { hunger: 0.3, fatigue: 0.8 } }, "sleep"],
    [
      "a threatened villager flees even when hungry",
      "villager",
      { threatLevel: 0.9, needs: { hunger: 0.9, safety: 0.8 } },
      "flee",
    ],
    ["a guard in combat fights", "guard", { threatLevel: 0.9, inCombat: true, needs: { duty: 0.8 } }, "fight"],
    ["a dutiful guard patrols on a calm day", "guard", { needs: { duty: 0.7, fatigue: 0.2, social: 0.3 } }, "patrol"],
    [
      "a merchant trades with a player close by",
      "merchant",
      { nearestPlayerDistance: 3, needs: { duty: 0.5 } },
      "trade",
    ],
    [
      "a villager seeks shelter from a storm",
      "villager",
      { weather: "WEATHER_CONDITION_STORM", needs: { duty: 0.3 } },
      "seek_shelter",
    ],
    ["a hungry wolf hunts at night", "wolf", { hourOfDay: 2, needs: { hunger: 0.6, fatigue: 0.3 } }, "hunt"],
  ];
  for (const [name, archetype, input, expected] of scenarios) {
    it(name, () => {
      expect(decide(CATALOG, archetype, { ...base, ...input }).actionId).toBe(expected);
    });
  }

  it("returns the same decision for the same input, whatever the order of the needs", () => {
    const a = decide(CATALOG, "villager", { ...base, needs: { hunger: 0.4, social: 0.6, fatigue: 0.5 } });
    const b = decide(CATALOG, "villager", { ...base, needs: { fatigue: 0.5, social: 0.6, hunger: 0.4 } });
    expect(b).toEqual(a);
    expect(decide(CATALOG, "villager", { ...base, needs: { hunger: 0.4, social: 0.6, fatigue: 0.5 } })).toEqual(a);
  });

  it("breaks ties by action id", () => {
    const same = (id: string): ActionDefinition => ({
      actionId: id,
      description: "",
      considerations: [],
      baseWeight: 0.5,
      archetypes: [],
    });
    const d = decide([same("walk"), same("bark"), same("sit")], "wolf", base);
    expect(d.actionId).toBe("bark");
    expect(d.scores.map((s) => s.actionId)).toEqual(["bark", "sit", "walk"]);
  });

  it("keeps the current action when the alternative is only marginally better", () => {
    const act = (id: string, w: number): ActionDefinition => ({
      actionId: id,
      description: "",
      considerations: [],
      baseWeight: w,
      archetypes: [],
    });
    const catalog = [act("a", 0.5), act("b", 0.5 + INERTIA / 2)];
    expect(decide(catalog, "x", base).actionId).toBe("b");
    const kept = decide(catalog, "x", base, "a");
    expect(kept.actionId).toBe("a");
    expect(kept.reason).toContain("inertia");
    expect(decide([act("a", 0.5), act("b", 0.5 + INERTIA * 2)], "x", base, "a").actionId).toBe("b");
  });

  it("explains the decision by its dominant input and the runner-up", () => {
    const d = decide(CATALOG, "villager", { ...base, needs: { hunger: 0.92 } });
    expect(d.reason).toMatch(/^eat 0\.\d\d: hunger 0\.92 dominates; next \w+ 0\.\d\d$/);
    const best = d.scores[0]!;
    expect(best.considerations.map((c) => c.input)).toEqual(["hunger", "threat_level"]);
  });

  it("scores every action of the archetype within [0,1], best first, for random inputs", () => {
    let seed = 42;
    const rand = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296;
    for (let i = 0; i < 500; i++) {
      const archetype = ARCHETYPES[i % ARCHETYPES.length]!;
      const input: Inputs = {
        needs: { hunger: rand(), fatigue: rand(), safety: rand(), social: rand(), duty: rand() },
        hourOfDay: rand() * 24,
        weather: ["rain", "clear", "fog", ""][Math.floor(rand() * 4)]!,
        threatLevel: rand(),
        nearestPlayerDistance: rand() * 60 - 10,
        inCombat: rand() > 0.8,
        extra: {},
      };
      const d = decide(CATALOG, archetype, input);
      expect(d.scores).toHaveLength(actionsFor(CATALOG, archetype).length);
      for (const s of d.scores) {
        expect(s.score).toBeGreaterThanOrEqual(0);
        expect(s.score).toBeLessThanOrEqual(1);
      }
      for (let k = 1; k < d.scores.length; k++)
        expect(d.scores[k - 1]!.score).toBeGreaterThanOrEqual(d.scores[k]!.score);
      expect(d.actionId).toBe(d.scores[0]!.actionId);
    }
  });

  it("offers each archetype only its own actions", () => {
    expect(actionsFor(CATALOG, "wolf").map((a) => a.actionId)).not.toContain("trade");
    expect(actionsFor(CATALOG, "merchant").map((a) => a.actionId)).not.toContain("hunt");
    expect(actionsFor(CATALOG, "wolf").map((a) => a.actionId)).toEqual(["sleep", "flee", "fight", "hunt", "idle"]);
  });
});

interface Decided {
  npcId: string;
  actionId: string;
  score: number;
  scores: { actionId: string; score: number; considerations: unknown[] }[];
  reason: string;
}

describe("npc-behavior over NATS", () => {
  let h: Harness;
  const changes: string[] = [];
  beforeAll(async () => {
    h = await startHarness();
    await h.start(service);
    h.nc.subscribe("events.npc-behavior.npc-action-changed", { callback: (_e, m) => void changes.push(m.subject) });
  });
  afterAll(async () => h?.stop());

  const req = {
    npcId: "bob",
    archetype: "villager",
    needs: [
      { name: "hunger", value: 0.92 },
      { name: "fatigue", value: 0.2 },
    ],
    context: { hourOfDay: 12, weather: "clear", threatLevel: 0, nearestPlayerDistance: -1, inCombat: false, extra: {} },
  };

  it("decides with explainable scores and the same answer every time", async () => {
    const a = await h.call<Decided>("npc-behavior.decide", req);
    const b = await h.call<Decided>("npc-behavior.decide", req);
    expect(a.actionId).toBe("eat");
    expect(a.reason).toContain("hunger 0.92 dominates");
    expect(a.scores[0]).toMatchObject({ actionId: "eat" });
    expect(b).toEqual(a);
  });

  it("publishes an action change only when the action changes", async () => {
    await h.nc.flush();
    const before = changes.length;
    await h.call("npc-behavior.decide", { ...req, currentActionId: "eat" });
    await h.call("npc-behavior.decide", { ...req, currentActionId: "work" });
    await h.nc.flush();
    expect(changes.length - before).toBe(1);
  });

  it("lists the actions of an archetype", async () => {
    const r = await h.call<{ actions: { actionId: string; considerations: { curve: string }[] }[] }>(
      "npc-behavior.list-actions",
      { archetype: "guard" },
    );
    expect(r.actions.map((a) => a.actionId)).toEqual(expect.arrayContaining(["fight", "patrol", "eat", "idle"]));
    expect(r.actions.map((a) => a.actionId)).not.toContain("trade");
    expect(r.actions.find((a) => a.actionId === "fight")!.considerations[0]!.curve).toBe("CURVE_TYPE_LOGISTIC");
    const all = await h.call<{ actions: unknown[] }>("npc-behavior.list-actions");
    expect(all.actions).toHaveLength(CATALOG.length);
  });

  it("refuses out-of-range needs, unknown archetypes and bad context with a 400", async () => {
    expect((await h.fail("npc-behavior.decide", { ...req, needs: [{ name: "hunger", value: 1.5 }] })).code).toBe(400);
    expect(
      (
        await h.fail("npc-behavior.decide", {
          ...req,
          needs: [
            { name: "hunger", value: 0.1 },
            { name: "hunger", value: 0.2 },
          ],
        })
      ).code,
    ).toBe(400);
    expect((await h.fail("npc-behavior.decide", { ...req, archetype: "dragon" })).code).toBe(400);
    expect((await h.fail("npc-behavior.decide", { ...req, npcId: "" })).code).toBe(400);
    expect((await h.fail("npc-behavior.decide", { ...req, context: { ...req.context, hourOfDay: 24 } })).code).toBe(
      400,
    );
    expect(
      (await h.fail("npc-behavior.decide", { ...req, context: { ...req.context, extra: { threat_level: 0.5 } } })).code,
    ).toBe(400);
    expect((await h.fail("npc-behavior.list-actions", { archetype: "dragon" })).code).toBe(400);
  });
});
