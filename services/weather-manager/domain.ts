// Weather as a deterministic function of (region seed, game time): integer-hashed value noise over
// game hours (several octaves), shaped by a seasonal and a diurnal curve. Only integer hashing and
// IEEE arithmetic, outputs rounded: every instance computes the same weather for the same input.

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
/** Same calendar as time-manager: 4 seasons of 30 days, spring first. */
export const YEAR_DAYS = 120;

export type Condition =
  | "WEATHER_CONDITION_CLEAR"
  | "WEATHER_CONDITION_CLOUDY"
  | "WEATHER_CONDITION_FOG"
  | "WEATHER_CONDITION_RAIN"
  | "WEATHER_CONDITION_STORM"
  | "WEATHER_CONDITION_SNOW"
  | "WEATHER_CONDITION_WINDY";

export interface Weather {
  condition: Condition;
  temperatureC: number;
  humidity: number;
  windSpeedMps: number;
  windDirectionDeg: number;
  precipitationMmPerHour: number;
  visibilityM: number;
}

/** FNV-1a over the UTF-8 bytes: the region's seed, stable across processes. */
export function regionSeed(worldSeed: string, regionId: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(`${worldSeed}\u0000${regionId}`, "utf8")) {
    h ^= b;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A 32-bit integer hash of (seed, channel, lattice point) mapped to [0, 1). */
export function hash01(seed: number, channel: number, i: number): number {
  let h = (seed ^ Math.imul(channel + 1, 0x9e3779b1) ^ Math.imul(i | 0, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/** Smooth value noise in [0, 1) over `hours`, with lattice points every `period` hours. */
function valueNoise(seed: number, channel: number, hours: number, period: number): number {
  const x = hours / period;
  const i = Math.floor(x);
  const f = x - i;
  const s = f * f * (3 - 2 * f);
  return hash01(seed, channel, i) * (1 - s) + hash01(seed, channel, i + 1) * s;
}

/** Three octaves (3 days, 12 hours, 3 hours), in [0, 1). */
export function noise(seed: number, channel: number, hours: number): number {
  return (
    valueNoise(seed, channel, hours, 72) * 0.55 +
    valueNoise(seed, channel + 100, hours, 12) * 0.3 +
    valueNoise(seed, channel + 200, hours, 3) * 0.15
  );
}

/** +1 at mid-summer (day 45 of the year), -1 at mid-winter (day 105). */
export function seasonal(gameMs: number): number {
  const dayOfYear = (gameMs / DAY_MS) % YEAR_DAYS;
  return Math.cos((2 * Math.PI * (dayOfYear - 45)) / YEAR_DAYS);
}

/** +1 at 15:00, -1 at 03:00. */
export function diurnal(gameMs: number): number {
  const hour = (gameMs % DAY_MS) / HOUR_MS;
  return Math.cos((2 * Math.PI * (hour - 15)) / 24);
}

/** The region's climate, fixed by its seed: mean temperature, how wet and how windy it tends to be. */
export function climate(seed: number): { meanC: number; wetness: number; windiness: number } {
  return {
    meanC: 2 + hash01(seed, 900, 0) * 20,
    wetness: 0.35 + hash01(seed, 901, 0) * 0.35,
    windiness: 0.6 + hash01(seed, 902, 0) * 0.8,
  };
}

const round = (n: number, digits: number) => {
  const p = 10 ** digits;
  return Math.round(n * p) / p;
};
const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, n));

const VISIBILITY: Record<Condition, number> = {
  WEATHER_CONDITION_CLEAR: 20_000,
  WEATHER_CONDITION_CLOUDY: 15_000,
  WEATHER_CONDITION_FOG: 400,
  WEATHER_CONDITION_RAIN: 5_000,
  WEATHER_CONDITION_STORM: 1_500,
  WEATHER_CONDITION_SNOW: 2_000,
  WEATHER_CONDITION_WINDY: 12_000,
};

export function classify(w: Omit<Weather, "condition" | "visibilityM">, hour: number): Condition {
  if (w.precipitationMmPerHour > 0) {
    if (w.temperatureC <= 0.5) return "WEATHER_CONDITION_SNOW";
    if (w.precipitationMmPerHour >= 6 || w.windSpeedMps >= 15) return "WEATHER_CONDITION_STORM";
    return "WEATHER_CONDITION_RAIN";
  }
  if (w.windSpeedMps >= 13) return "WEATHER_CONDITION_WINDY";
  if (w.humidity >= 0.85 && w.windSpeedMps < 3 && (hour < 10 || hour >= 20)) return "WEATHER_CONDITION_FOG";
  if (w.humidity >= 0.62) return "WEATHER_CONDITION_CLOUDY";
  return "WEATHER_CONDITION_CLEAR";
}

/** The computed weather of a region (by seed) at a game time. */
export function computeWeather(seed: number, gameMs: number): Weather {
  const hours = gameMs / HOUR_MS;
  const hour = (gameMs % DAY_MS) / HOUR_MS;
  const c = climate(seed);
  const season = seasonal(gameMs);
  const day = diurnal(gameMs);
  const temperatureC = c.meanC + 11 * season + 4.5 * day + (noise(seed, 1, hours) - 0.5) * 10;
  const humidity = clamp(c.wetness + (noise(seed, 2, hours) - 0.5) * 0.9 - 0.12 * day + 0.05 * -season, 0, 1);
  const windSpeedMps = Math.max(0, c.windiness * noise(seed, 3, hours) ** 2 * 24);
  const windDirectionDeg = (noise(seed, 4, hours) * 720) % 360;
  // rain needs a wet spell (humidity) and a front passing (storminess)
  const storminess = noise(seed, 5, hours);
  const wetSpell = humidity > 0.6 && storminess > 0.55;
  const precipitationMmPerHour = wetSpell ? (storminess - 0.55) * 30 * (humidity - 0.5) * 2 : 0;
  const base = {
    temperatureC: round(temperatureC, 1),
    humidity: round(humidity, 2),
    windSpeedMps: round(windSpeedMps, 1),
    windDirectionDeg: round(windDirectionDeg, 0) % 360,
    precipitationMmPerHour: round(precipitationMmPerHour, 1),
  };
  const condition = classify(base, hour);
  const visibilityM = round(
    VISIBILITY[condition] * (1 - 0.5 * base.humidity * (base.precipitationMmPerHour > 0 ? 1 : 0.3)),
    -1,
  );
  return { ...base, condition, visibilityM };
}

export interface Override {
  condition: Condition;
  temperatureC: number;
  windSpeedMps: number;
  /** 0 = until cleared */
  untilGameTimeMs: number;
}

export function overrideActive(o: Override, gameMs: number): boolean {
  return o.untilGameTimeMs === 0 || gameMs < o.untilGameTimeMs;
}

/** The computed weather bent to an override: its condition, temperature and wind win, the rest follows them. */
export function applyOverride(w: Weather, o: Override): Weather {
  const wet = ["WEATHER_CONDITION_RAIN", "WEATHER_CONDITION_STORM", "WEATHER_CONDITION_SNOW"].includes(o.condition);
  const precipitation = !wet
    ? 0
    : o.condition === "WEATHER_CONDITION_STORM"
      ? Math.max(8, w.precipitationMmPerHour)
      : Math.max(1.5, w.precipitationMmPerHour);
  return {
    condition: o.condition,
    temperatureC: o.temperatureC,
    humidity: wet || o.condition === "WEATHER_CONDITION_FOG" ? Math.max(0.9, w.humidity) : w.humidity,
    windSpeedMps: o.windSpeedMps,
    windDirectionDeg: w.windDirectionDeg,
    precipitationMmPerHour: round(precipitation, 1),
    visibilityM: VISIBILITY[o.condition],
  };
}
