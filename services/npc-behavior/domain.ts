// Utility AI: every action has considerations, each maps one input in [0,1] through a response curve;
// the action's utility is the product of those (compensated for how many there are) times its base
// weight. The best action wins; equal utilities go to the smaller action id. Pure and deterministic.

import type { ActionScore, ConsiderationScore } from "../generated/npc_behavior/v1/npc_behavior.js";

// proto messages as generated from proto/ (services/generated)
export type { ActionScore, ConsiderationScore };

export type Curve =
  | "CURVE_TYPE_LINEAR"
  | "CURVE_TYPE_INVERSE_LINEAR"
  | "CURVE_TYPE_QUADRATIC"
  | "CURVE_TYPE_LOGISTIC"
  | "CURVE_TYPE_STEP";

export interface Consideration {
  input: string;
  curve: Curve;
  /** exponent applied to the curve output (0 = 1): > 1 sharpens, < 1 softens */
  weight: number;
  /** LINEAR/INVERSE: slope (0 = 1); QUADRATIC: exponent (0 = 2); LOGISTIC: steepness (0 = 10); STEP: threshold */
  paramA: number;
  /** LINEAR/INVERSE: offset; LOGISTIC: midpoint; STEP: output below the threshold */
  paramB: number;
}

export interface ActionDefinition {
  actionId: string;
  description: string;
  considerations: Consideration[];
  baseWeight: number;
  /** empty = every archetype */
  archetypes: string[];
}

export interface Inputs {
  needs: Record<string, number>;
  hourOfDay: number;
  weather: string;
  threatLevel: number;
  nearestPlayerDistance: number;
  inCombat: boolean;
  extra: Record<string, number>;
}

export interface Decision {
  actionId: string;
  score: number;
  scores: ActionScore[];
  reason: string;
}

export const ARCHETYPES = ["villager", "guard", "merchant", "wolf"] as const;
/** Added to the current action's utility so an NPC does not flip-flop between near-equal actions. */
export const INERTIA = 0.05;
/** Inputs derived from the context; extra inputs may not reuse these names. */
export const CONTEXT_INPUTS = [
  "hour_of_day",
  "daylight",
  "is_night",
  "threat_level",
  "in_combat",
  "player_proximity",
  "bad_weather",
] as const;
/** Distance (m) at which a player stops counting as near. */
const PROXIMITY_RANGE_M = 30;

const clamp01 = (n: number) => (n < 0 ? 0 : n > 1 ? 1 : n);
const round6 = (n: number) => Math.round(n * 1e6) / 1e6;

export function curveValue(c: Consideration, x: number): number {
  const v = clamp01(x);
  let y: number;
  switch (c.curve) {
    case "CURVE_TYPE_LINEAR":
      y = (c.paramA || 1) * v + c.paramB;
      break;
    case "CURVE_TYPE_INVERSE_LINEAR":
      y = 1 - ((c.paramA || 1) * v + c.paramB);
      break;
    case "CURVE_TYPE_QUADRATIC":
      y = v ** (c.paramA || 2);
      break;
    case "CURVE_TYPE_LOGISTIC":
      y = 1 / (1 + Math.exp(-(c.paramA || 10) * (v - c.paramB)));
      break;
    case "CURVE_TYPE_STEP":
      y = v >= c.paramA ? 1 : c.paramB;
      break;
  }
  return clamp01(clamp01(y) ** (c.weight || 1));
}

const WET = new Set(["rain", "storm", "snow"]);
const ROUGH = new Set(["fog", "windy"]);

const CONTEXT_NAMES: ReadonlySet<string> = new Set(CONTEXT_INPUTS);

/**
 * Every named input a consideration can read: the needs, the extras (which win over a need of the
 * same name), and the derived context inputs (which win over both). Built from a fixed-shape literal:
 * spreading the request's records made a dictionary-mode object per request, the rpc's largest cost.
 */
export function resolveInputs(i: Inputs): Record<string, number> {
  const hour = i.hourOfDay;
  const weather = i.weather ? i.weather.toLowerCase().replace(/^weather_condition_/, "") : "";
  const out: Record<string, number> = {
    hour_of_day: hour / 24,
    // 0 at 06:00 and 18:00, 1 at noon
    daylight: hour > 6 && hour < 18 ? Math.sin((Math.PI * (hour - 6)) / 12) : 0,
    is_night: hour < 6 || hour >= 21 ? 1 : 0,
    threat_level: i.threatLevel,
    in_combat: i.inCombat ? 1 : 0,
    player_proximity: i.nearestPlayerDistance < 0 ? 0 : clamp01(1 - i.nearestPlayerDistance / PROXIMITY_RANGE_M),
    bad_weather: WET.has(weather) ? 1 : ROUGH.has(weather) ? 0.5 : 0,
  };
  for (const k in i.needs) if (!CONTEXT_NAMES.has(k)) out[k] = i.needs[k]!;
  for (const k in i.extra) if (!CONTEXT_NAMES.has(k)) out[k] = i.extra[k]!;
  return out;
}

/** Utility of one action. Missing inputs read as 0. Compensation keeps many-consideration actions comparable. */
export function scoreAction(a: ActionDefinition, inputs: Record<string, number>): ActionScore {
  const considerations = a.considerations.map((c) => {
    const inputValue = inputs[c.input] ?? 0;
    return { input: c.input, inputValue: round6(inputValue), score: round6(curveValue(c, inputValue)) };
  });
  let product = 1;
  for (const c of considerations) product *= c.score;
  const n = considerations.length;
  if (n > 1 && product > 0) {
    const makeUp = (1 - product) * (1 - 1 / n);
    product = product + makeUp * product;
  }
  return { actionId: a.actionId, score: round6(clamp01(product * a.baseWeight)), considerations };
}

export function actionsFor(catalog: readonly ActionDefinition[], archetype: string): ActionDefinition[] {
  return catalog.filter((a) => a.archetypes.length === 0 || a.archetypes.includes(archetype));
}

const fmt = (n: number) => n.toFixed(2);

/** Scores every action of the archetype and picks the best (ties by action id). */
export function decide(
  catalog: readonly ActionDefinition[],
  archetype: string,
  inputs: Inputs,
  currentActionId = "",
): Decision {
  const values = resolveInputs(inputs);
  const scores = actionsFor(catalog, archetype).map((a) => {
    const s = scoreAction(a, values);
    return a.actionId === currentActionId && s.score > 0 ? { ...s, score: round6(clamp01(s.score + INERTIA)) } : s;
  });
  scores.sort((a, b) => b.score - a.score || (a.actionId < b.actionId ? -1 : a.actionId > b.actionId ? 1 : 0));
  const best = scores[0];
  if (!best) return { actionId: "", score: 0, scores, reason: `no actions for archetype ${archetype}` };
  return {
    actionId: best.actionId,
    score: best.score,
    scores,
    reason: explain(catalog, best, scores[1], currentActionId),
  };
}

/**
 * "eat 0.91: hunger 0.92 dominates; next sleep 0.40". The dominant input is the strongest driver: a
 * consideration whose curve rises with its input (inverse curves and step gates only hold an action back).
 */
export function explain(
  catalog: readonly ActionDefinition[],
  best: ActionScore,
  next: ActionScore | undefined,
  current: string,
): string {
  const def = catalog.find((a) => a.actionId === best.actionId)!;
  const drivers = best.considerations.filter(
    (_, i) => !["CURVE_TYPE_INVERSE_LINEAR", "CURVE_TYPE_STEP"].includes(def.considerations[i]!.curve),
  );
  const pool = drivers.length ? drivers : best.considerations;
  const dominant = pool.reduce<ConsiderationScore | undefined>(
    (top, c) => (!top || c.score > top.score ? c : top),
    undefined,
  );
  const why = dominant ? `${dominant.input} ${fmt(dominant.inputValue)} dominates` : "nothing more pressing";
  const kept = best.actionId === current ? " (kept, inertia)" : "";
  return (
    `${best.actionId} ${fmt(best.score)}: ${why}${kept}` + (next ? `; next ${next.actionId} ${fmt(next.score)}` : "")
  );
}

const c = (input: string, curve: Curve, paramA = 0, paramB = 0, weight = 1): Consideration => ({
  input,
  curve,
  weight,
  paramA,
  paramB,
});

/** The built-in actions. */
export const CATALOG: readonly ActionDefinition[] = [
  {
    actionId: "eat",
    description: "Find food and eat",
    considerations: [c("hunger", "CURVE_TYPE_LOGISTIC", 10, 0.5), c("threat_level", "CURVE_TYPE_INVERSE_LINEAR")],
    baseWeight: 1,
    archetypes: ["villager", "guard", "merchant"],
  },
  {
    actionId: "sleep",
    description: "Rest until fatigue is gone",
    considerations: [
      c("fatigue", "CURVE_TYPE_QUADRATIC", 2),
      c("is_night", "CURVE_TYPE_STEP", 0.5, 0.35),
      c("threat_level", "CURVE_TYPE_INVERSE_LINEAR", 1, 0, 2),
    ],
    baseWeight: 0.95,
    archetypes: [],
  },
  {
    actionId: "flee",
    description: "Run from danger",
    considerations: [c("threat_level", "CURVE_TYPE_LOGISTIC", 12, 0.55), c("safety", "CURVE_TYPE_LINEAR", 0.5, 0.5)],
    baseWeight: 1,
    archetypes: ["villager", "merchant", "wolf"],
  },
  {
    actionId: "fight",
    description: "Engage the threat",
    considerations: [
      c("threat_level", "CURVE_TYPE_LOGISTIC", 10, 0.4),
      c("in_combat", "CURVE_TYPE_STEP", 0.5, 0.7),
      c("duty", "CURVE_TYPE_LINEAR", 0.4, 0.6),
    ],
    baseWeight: 1,
    archetypes: ["guard", "wolf"],
  },
  {
    actionId: "work",
    description: "Tend to the day's work",
    considerations: [
      c("duty", "CURVE_TYPE_LINEAR", 0.7, 0.3),
      c("daylight", "CURVE_TYPE_STEP", 0.25, 0.1),
      c("fatigue", "CURVE_TYPE_INVERSE_LINEAR", 0.8),
    ],
    baseWeight: 0.8,
    archetypes: ["villager", "merchant"],
  },
  {
    actionId: "trade",
    description: "Offer goods to a nearby player",
    considerations: [
      c("player_proximity", "CURVE_TYPE_LOGISTIC", 8, 0.3),
      c("daylight", "CURVE_TYPE_STEP", 0.1, 0.05),
      c("threat_level", "CURVE_TYPE_INVERSE_LINEAR"),
    ],
    baseWeight: 0.9,
    archetypes: ["merchant"],
  },
  {
    actionId: "socialize",
    description: "Chat with neighbours",
    considerations: [
      c("social", "CURVE_TYPE_QUADRATIC", 1.5),
      c("is_night", "CURVE_TYPE_INVERSE_LINEAR", 0.6),
      c("threat_level", "CURVE_TYPE_INVERSE_LINEAR"),
    ],
    baseWeight: 0.75,
    archetypes: ["villager", "merchant", "guard"],
  },
  {
    actionId: "patrol",
    description: "Walk the watch route",
    considerations: [
      c("duty", "CURVE_TYPE_LINEAR", 0.6, 0.4),
      c("threat_level", "CURVE_TYPE_INVERSE_LINEAR", 0.5),
      c("fatigue", "CURVE_TYPE_INVERSE_LINEAR", 0.7),
    ],
    baseWeight: 0.7,
    archetypes: ["guard"],
  },
  {
    actionId: "hunt",
    description: "Stalk prey (a wolf's way to eat)",
    considerations: [c("hunger", "CURVE_TYPE_LINEAR"), c("daylight", "CURVE_TYPE_INVERSE_LINEAR", 0.6)],
    baseWeight: 0.9,
    archetypes: ["wolf"],
  },
  {
    actionId: "seek_shelter",
    description: "Get out of the weather",
    considerations: [c("bad_weather", "CURVE_TYPE_LINEAR"), c("threat_level", "CURVE_TYPE_INVERSE_LINEAR", 0.5)],
    baseWeight: 0.6,
    archetypes: ["villager", "merchant"],
  },
  {
    actionId: "idle",
    description: "Nothing pressing: stand around",
    considerations: [],
    baseWeight: 0.1,
    archetypes: [],
  },
];
