// Composing a region description from whatever facts arrived: the world (region, who is around),
// the weather and the clock, in English, French or Spanish. Counts and numbers go through Intl
// (PluralRules, NumberFormat, ListFormat) so each locale gets its own plural forms and separators.

import type { Fact } from "../generated/environmental_narrative/v1/environmental_narrative.js";

// proto messages as generated from proto/ (services/generated)
export type { Fact };

export type Lang = "en" | "fr" | "es";

export interface WorldFacts {
  name: string;
  biome: string;
  /** entities by type, the viewer excluded */
  counts: Record<string, number>;
}
export interface WeatherFacts {
  /** short name: clear, cloudy, fog, rain, storm, snow, windy */
  condition: string;
  temperatureC: number;
  windSpeedMps: number;
  precipitationMmPerHour: number;
  overridden: boolean;
}
export interface TimeFacts {
  day: number;
  hour: number;
  minute: number;
  /** short name: dawn, morning, afternoon, evening, night */
  dayPhase: string;
  /** short name: spring, summer, autumn, winter */
  season: string;
  /** derived from the last clock seen because time-manager did not answer */
  estimated: boolean;
}
export interface Scene {
  regionId: string;
  world?: WorldFacts;
  weather?: WeatherFacts;
  time?: TimeFacts;
}

/** "WEATHER_CONDITION_RAIN" -> "rain". */
export const shortName = (enumName: string, prefix: string): string => enumName.replace(prefix, "").toLowerCase();

/** The language we write in for a BCP 47 locale (English when we have no texts for it). Throws RangeError for malformed tags. */
export function languageOf(locale: string): Lang {
  const [canonical] = Intl.getCanonicalLocales(locale || "en");
  const lang = new Intl.Locale(canonical!).language;
  return lang === "fr" || lang === "es" ? lang : "en";
}

interface Texts {
  place(name: string, phase: string, time: string, season: string): string;
  placeOnly(name: string): string;
  phases: Record<string, string>;
  seasons: Record<string, string>;
  biomes: Record<string, string>;
  sky: Record<string, string>;
  air(feel: string, temp: string, wind: string): string;
  feels: [string, string, string, string, string, string];
  winds: [string, string, string, string];
  nearby(list: string): string;
  nobody: string;
  nouns: Record<string, { one: string; other: string }>;
}

const TEXTS: Record<Lang, Texts> = {
  en: {
    place: (n, p, t, s) => `In ${n}, it is ${p} (${t}) in ${s}.`,
    placeOnly: (n) => `You are in ${n}.`,
    phases: { dawn: "dawn", morning: "morning", afternoon: "afternoon", evening: "evening", night: "night" },
    seasons: { spring: "spring", summer: "summer", autumn: "autumn", winter: "winter" },
    biomes: {
      forest: "Tall trees crowd the paths.",
      desert: "Sand stretches to the horizon.",
      tundra: "Frozen plains reach into the distance.",
      coast: "Waves break against the shore.",
      city: "Streets wind between stone houses.",
      mountain: "Rocky slopes rise all around.",
      swamp: "Murky water pools between the reeds.",
      plains: "Grassland rolls away in every direction.",
    },
    sky: {
      clear: "The sky is clear.",
      cloudy: "Clouds cover the sky.",
      fog: "A thick fog hangs in the air.",
      rain: "Rain is falling.",
      storm: "A storm is raging.",
      snow: "Snow is falling.",
      windy: "The wind is howling.",
    },
    air: (f, t, w) => `The air is ${f} at ${t} °C${w}.`,
    feels: ["freezing", "cold", "cool", "mild", "warm", "hot"],
    winds: ["", ", with a light breeze", ", with a steady wind", ", with a strong gale"],
    nearby: (l) => `Nearby: ${l}.`,
    nobody: "Nobody else is around.",
    nouns: {
      player: { one: "other player", other: "other players" },
      npc: { one: "character", other: "characters" },
      item: { one: "item", other: "items" },
      prop: { one: "object", other: "objects" },
    },
  },
  fr: {
    place: (n, p, t, s) => `À ${n}, c'est ${p} (${t}), ${s}.`,
    placeOnly: (n) => `Vous êtes à ${n}.`,
    phases: { dawn: "l'aube", morning: "le matin", afternoon: "l'après-midi", evening: "le soir", night: "la nuit" },
    seasons: { spring: "au printemps", summer: "en été", autumn: "en automne", winter: "en hiver" },
    biomes: {
      forest: "De grands arbres bordent les sentiers.",
      desert: "Le sable s'étend jusqu'à l'horizon.",
      tundra: "Des plaines gelées s'étendent au loin.",
      coast: "Les vagues se brisent sur le rivage.",
      city: "Les rues serpentent entre les maisons de pierre.",
      mountain: "Des pentes rocheuses s'élèvent tout autour.",
      swamp: "Une eau trouble stagne entre les roseaux.",
      plains: "La prairie s'étend dans toutes les directions.",
    },
    sky: {
      clear: "Le ciel est dégagé.",
      cloudy: "Les nuages couvrent le ciel.",
      fog: "Un épais brouillard flotte dans l'air.",
      rain: "Il pleut.",
      storm: "Une tempête fait rage.",
      snow: "Il neige.",
      windy: "Le vent souffle fort.",
    },
    air: (f, t, w) => `L'air est ${f} : ${t} °C${w}.`,
    feels: ["glacial", "froid", "frais", "doux", "chaud", "brûlant"],
    winds: ["", ", avec une légère brise", ", avec un vent régulier", ", avec de fortes rafales"],
    nearby: (l) => `À proximité : ${l}.`,
    nobody: "Personne d'autre n'est là.",
    nouns: {
      player: { one: "autre joueur", other: "autres joueurs" },
      npc: { one: "personnage", other: "personnages" },
      item: { one: "objet", other: "objets" },
      prop: { one: "élément du décor", other: "éléments du décor" },
    },
  },
  es: {
    place: (n, p, t, s) => `En ${n}, es ${p} (${t}), ${s}.`,
    placeOnly: (n) => `Estás en ${n}.`,
    phases: {
      dawn: "el amanecer",
      morning: "la mañana",
      afternoon: "la tarde",
      evening: "el anochecer",
      night: "la noche",
    },
    seasons: { spring: "en primavera", summer: "en verano", autumn: "en otoño", winter: "en invierno" },
    biomes: {
      forest: "Árboles altos bordean los senderos.",
      desert: "La arena se extiende hasta el horizonte.",
      tundra: "Llanuras heladas se pierden en la distancia.",
      coast: "Las olas rompen contra la orilla.",
      city: "Las calles serpentean entre casas de piedra.",
      mountain: "Laderas rocosas se alzan alrededor.",
      swamp: "El agua turbia se estanca entre los juncos.",
      plains: "La pradera se extiende en todas direcciones.",
    },
    sky: {
      clear: "El cielo está despejado.",
      cloudy: "Las nubes cubren el cielo.",
      fog: "Una espesa niebla flota en el aire.",
      rain: "Está lloviendo.",
      storm: "Se desata una tormenta.",
      snow: "Está nevando.",
      windy: "El viento sopla con fuerza.",
    },
    air: (f, t, w) => `El aire está ${f}: ${t} °C${w}.`,
    feels: ["helado", "frío", "fresco", "templado", "cálido", "abrasador"],
    winds: ["", ", con una ligera brisa", ", con un viento constante", ", con fuertes rachas"],
    nearby: (l) => `Cerca: ${l}.`,
    nobody: "No hay nadie más alrededor.",
    nouns: {
      player: { one: "otro jugador", other: "otros jugadores" },
      npc: { one: "personaje", other: "personajes" },
      item: { one: "objeto", other: "objetos" },
      prop: { one: "elemento del decorado", other: "elementos del decorado" },
    },
  },
};

function feelIndex(c: number): number {
  return c < -5 ? 0 : c < 5 ? 1 : c < 12 ? 2 : c < 20 ? 3 : c < 28 ? 4 : 5;
}
function windIndex(mps: number): number {
  return mps < 1 ? 0 : mps < 5 ? 1 : mps < 12 ? 2 : 3;
}
const pad2 = (n: number) => String(n).padStart(2, "0");

/** The description, sentence by sentence, from the facts present. */
export function compose(scene: Scene, lang: Lang): string {
  const t = TEXTS[lang];
  const name = scene.world?.name || scene.regionId;
  const num = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });
  const out: string[] = [];
  if (scene.time) {
    const { dayPhase, season, hour, minute } = scene.time;
    out.push(
      t.place(name, t.phases[dayPhase] ?? dayPhase, `${pad2(hour)}:${pad2(minute)}`, t.seasons[season] ?? season),
    );
  } else {
    out.push(t.placeOnly(name));
  }
  const biome = scene.world && t.biomes[scene.world.biome];
  if (biome) out.push(biome);
  if (scene.weather) {
    const w = scene.weather;
    const sky = t.sky[w.condition];
    if (sky) out.push(sky);
    out.push(t.air(t.feels[feelIndex(w.temperatureC)], num.format(w.temperatureC), t.winds[windIndex(w.windSpeedMps)]));
  }
  if (scene.world) {
    const plural = new Intl.PluralRules(lang);
    const parts = Object.entries(scene.world.counts)
      .filter(([, n]) => n > 0)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([type, n]) => {
        const noun = t.nouns[type];
        const word = noun ? (plural.select(n) === "one" ? noun.one : noun.other) : type;
        return `${num.format(n)} ${word}`;
      });
    out.push(parts.length ? t.nearby(new Intl.ListFormat(lang, { type: "conjunction" }).format(parts)) : t.nobody);
  }
  return out.join(" ");
}

/** The facts a description was built from, each tagged with the service that supplied it. */
export function factsOf(scene: Scene): Fact[] {
  const facts: Fact[] = [];
  const add = (source: string, key: string, value: string | number | boolean) =>
    facts.push({ source, key, value: String(value) });
  if (scene.world) {
    const w = scene.world;
    add("world-state", "region.name", w.name);
    add("world-state", "region.biome", w.biome);
    add(
      "world-state",
      "entities.total",
      Object.values(w.counts).reduce((a, b) => a + b, 0),
    );
    for (const type of Object.keys(w.counts).sort()) add("world-state", `entities.${type}_count`, w.counts[type]!);
  }
  if (scene.weather) {
    const w = scene.weather;
    add("weather-manager", "weather.condition", w.condition);
    add("weather-manager", "weather.temperature_c", w.temperatureC);
    add("weather-manager", "weather.wind_speed_mps", w.windSpeedMps);
    add("weather-manager", "weather.precipitation_mm_per_hour", w.precipitationMmPerHour);
    if (w.overridden) add("weather-manager", "weather.overridden", true);
  }
  if (scene.time) {
    const t = scene.time;
    add("time-manager", "time.day", t.day);
    add("time-manager", "time.hour", t.hour);
    add("time-manager", "time.minute", t.minute);
    add("time-manager", "time.day_phase", t.dayPhase);
    add("time-manager", "time.season", t.season);
    if (t.estimated) add("time-manager", "time.estimated", true);
  }
  return facts;
}

/** Entities by type from a region query, leaving out the viewer. */
export function countByType(
  entities: readonly { entityId: string; entityType: string }[],
  viewerId: string,
): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of entities) if (e.entityId !== viewerId) counts[e.entityType] = (counts[e.entityType] ?? 0) + 1;
  return counts;
}

export interface LastClock {
  gameTimeMs: number;
  scale: number;
  paused: boolean;
  realMs: number;
}

/** Game time now, extrapolated from the last clock time-manager gave us. */
export function extrapolate(last: LastClock, realNow: number): number {
  return last.paused ? last.gameTimeMs : Math.floor(last.gameTimeMs + (realNow - last.realMs) * last.scale);
}
