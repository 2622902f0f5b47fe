import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../test-support/harness.js";
import timeManager from "../time-manager/service.js";
import {
  applyOverride,
  classify,
  computeWeather,
  DAY_MS,
  diurnal,
  hash01,
  HOUR_MS,
  overrideActive,
  regionSeed,
  seasonal,
} from "./domain.js";
import service from "./service.js";

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe("weather function", () => {
  const seed = regionSeed("gs", "forest");

  it("derives a stable seed per region", () => {
    expect(regionSeed("gs", "forest")).toBe(seed);
    expect(regionSeed("gs", "desert")).not.toBe(seed);
    expect(regionSeed("other-world", "forest")).not.toBe(seed);
    expect(hash01(1, 2, 3)).toBe(hash01(1, 2, 3));
  });

  it("returns the same weather for the same region and game time", () => {
    for (const t of [0, 1, 12345678, 77 * DAY_MS + 5 * HOUR_MS])
      expect(computeWeather(seed, t)).toEqual(computeWeather(seed, t));
  });

  it("keeps every value within physical ranges over a year", () => {
    for (let h = 0; h < 120 * 24; h += 7) {
      const w = computeWeather(seed, h * HOUR_MS);
      expect(w.humidity).toBeGreaterThanOrEqual(0);
      expect(w.humidity).toBeLessThanOrEqual(1);
      expect(w.windSpeedMps).toBeGreaterThanOrEqual(0);
      expect(w.windDirectionDeg).toBeGreaterThanOrEqual(0);
      expect(w.windDirectionDeg).toBeLessThan(360);
      expect(w.precipitationMmPerHour).toBeGreaterThanOrEqual(0);
      expect(w.temperatureC).toBeGreaterThan(-60);
      expect(w.temperatureC).toBeLessThan(60);
    }
  });

  it("is warmer in summer than in winter and in the afternoon than before dawn", () => {
    expect(seasonal(45 * DAY_MS)).toBeCloseTo(1);
    expect(seasonal(105 * DAY_MS)).toBeCloseTo(-1);
    expect(diurnal(15 * HOUR_MS)).toBeCloseTo(1);
    const at = (day: number, hour: number) => computeWeather(seed, day * DAY_MS + hour * HOUR_MS).temperatureC;
    const days = Array.from({ length: 20 }, (_, i) => i);
    expect(mean(days.map((d) => at(35 + d, 12)))).toBeGreaterThan(mean(days.map((d) => at(95 + d, 12))) + 10);
    expect(mean(days.map((d) => at(d, 15)))).toBeGreaterThan(mean(days.map((d) => at(d, 3))) + 4);
  });

  it("changes smoothly from one game minute to the next", () => {
    const a = computeWeather(seed, 10 * DAY_MS);
    const b = computeWeather(seed, 10 * DAY_MS + 60_000);
    expect(Math.abs(a.temperatureC - b.temperatureC)).toBeLessThan(0.5);
  });

  it("classifies precipitation below freezing as snow and heavy precipitation as a storm", () => {
    const base = { temperatureC: 10, humidity: 0.9, windSpeedMps: 2, windDirectionDeg: 0, precipitationMmPerHour: 2 };
    expect(classify(base, 12)).toBe("WEATHER_CONDITION_RAIN");
    expect(classify({ ...base, temperatureC: -3 }, 12)).toBe("WEATHER_CONDITION_SNOW");
    expect(classify({ ...base, precipitationMmPerHour: 9 }, 12)).toBe("WEATHER_CONDITION_STORM");
    expect(classify({ ...base, precipitationMmPerHour: 0 }, 6)).toBe("WEATHER_CONDITION_FOG");
    expect(classify({ ...base, precipitationMmPerHour: 0, humidity: 0.3 }, 12)).toBe("WEATHER_CONDITION_CLEAR");
    expect(classify({ ...base, precipitationMmPerHour: 0, windSpeedMps: 20 }, 12)).toBe("WEATHER_CONDITION_WINDY");
  });

  it("lets an override win until its expiry", () => {
    const o = {
      condition: "WEATHER_CONDITION_STORM" as const,
      temperatureC: 3,
      windSpeedMps: 25,
      untilGameTimeMs: 1000,
    };
    expect(overrideActive(o, 999)).toBe(true);
    expect(overrideActive(o, 1000)).toBe(false);
    expect(overrideActive({ ...o, untilGameTimeMs: 0 }, 1e12)).toBe(true);
    const w = applyOverride(computeWeather(seed, 0), o);
    expect(w).toMatchObject({ condition: "WEATHER_CONDITION_STORM", temperatureC: 3, windSpeedMps: 25 });
    expect(w.precipitationMmPerHour).toBeGreaterThanOrEqual(8);
  });
});

interface Snapshot {
  regionId: string;
  gameTimeMs: string;
  condition: string;
  temperatureC: number;
  overridden: boolean;
  seed: number;
}

describe("weather-manager over NATS", () => {
  let h: Harness;
  const cleared: string[] = [];
  beforeAll(async () => {
    h = await startHarness();
    await h.start(service);
    await h.start(service);
    await h.start(timeManager, { env: { TIME_DEFAULT_SCALE: "1" } });
    h.nc.subscribe("events.weather-manager.weather-override-cleared", {
      callback: (_e, m) => void cleared.push(m.subject),
    });
  });
  afterAll(async () => h?.stop());

  it("answers the same snapshot from either instance, equal to the weather function", async () => {
    const t = String(33 * DAY_MS + 7 * HOUR_MS);
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        h.call<{ weather: Snapshot }>("weather-manager.get-weather", { regionId: "coast", gameTimeMs: t }),
      ),
    );
    for (const a of answers) expect(a.weather).toEqual(answers[0]!.weather);
    const local = computeWeather(regionSeed("gs", "coast"), Number(t));
    expect(answers[0]!.weather).toMatchObject({
      ...local,
      regionId: "coast",
      overridden: false,
      seed: regionSeed("gs", "coast"),
    });
  });

  it("forecasts count snapshots at the given step, capped by the service", async () => {
    const f = await h.call<{ snapshots: Snapshot[] }>("weather-manager.get-forecast", {
      regionId: "coast",
      fromGameTimeMs: "0",
      stepMinutes: 30,
      count: 4,
    });
    expect(f.snapshots.map((s) => s.gameTimeMs)).toEqual(["0", "1800000", "3600000", "5400000"]);
    const d = await h.call<{ snapshots: Snapshot[] }>("weather-manager.get-forecast", {
      regionId: "coast",
      fromGameTimeMs: "0",
    });
    expect(d.snapshots).toHaveLength(24);
    const capped = await h.call<{ snapshots: Snapshot[] }>("weather-manager.get-forecast", {
      regionId: "coast",
      fromGameTimeMs: "0",
      count: 100000,
    });
    expect(capped.snapshots).toHaveLength(168);
  });

  it("refuses bad requests with a 400", async () => {
    expect((await h.fail("weather-manager.get-weather", { regionId: "" })).code).toBe(400);
    expect((await h.fail("weather-manager.get-weather", { regionId: "a", gameTimeMs: "-5" })).code).toBe(400);
    expect((await h.fail("weather-manager.set-override", { override: { regionId: "a" } })).code).toBe(400);
    expect(
      (
        await h.fail("weather-manager.set-override", {
          override: { regionId: "a", condition: "WEATHER_CONDITION_RAIN", windSpeedMps: -1 },
        })
      ).code,
    ).toBe(400);
  });

  it("applies an override until its game-time expiry and reports the one it replaced", async () => {
    const set = {
      regionId: "forest",
      condition: "WEATHER_CONDITION_SNOW",
      temperatureC: -4,
      windSpeedMps: 6,
      untilGameTimeMs: String(10 * DAY_MS),
      reason: "event",
      setBy: "gm",
    };
    const first = await h.call<{ previous?: unknown }>("weather-manager.set-override", { override: set });
    expect(first.previous).toBeUndefined();
    const second = await h.call<{ previous?: { temperatureC: number } }>("weather-manager.set-override", {
      override: { ...set, temperatureC: -6 },
    });
    expect(second.previous?.temperatureC).toBe(-4);
    const during = await h.call<{ weather: Snapshot }>("weather-manager.get-weather", {
      regionId: "forest",
      gameTimeMs: String(DAY_MS),
    });
    expect(during.weather).toMatchObject({ condition: "WEATHER_CONDITION_SNOW", temperatureC: -6, overridden: true });
    const after = await h.call<{ weather: Snapshot }>("weather-manager.get-weather", {
      regionId: "forest",
      gameTimeMs: String(10 * DAY_MS),
    });
    expect(after.weather.overridden).toBe(false);
    expect(after.weather.temperatureC).toBe(computeWeather(regionSeed("gs", "forest"), 10 * DAY_MS).temperatureC);
  });

  it("lists active overrides and expires the ones the game clock has passed", async () => {
    await h.call("weather-manager.set-override", {
      override: { regionId: "short", condition: "WEATHER_CONDITION_FOG", untilGameTimeMs: String(HOUR_MS) },
    });
    await h.call("time-manager.set-time", { gameTimeMs: String(2 * HOUR_MS) });
    const list = await h.call<{ overrides: { regionId: string }[] }>("weather-manager.list-overrides");
    expect(list.overrides.map((o) => o.regionId)).toEqual(["forest"]);
    await h.nc.flush();
    expect(cleared).toHaveLength(1);
  });

  it("clears an override once", async () => {
    expect((await h.call<{ cleared: boolean }>("weather-manager.clear-override", { regionId: "forest" })).cleared).toBe(
      true,
    );
    expect((await h.call<{ cleared: boolean }>("weather-manager.clear-override", { regionId: "forest" })).cleared).toBe(
      false,
    );
    expect((await h.call<{ overrides: unknown[] }>("weather-manager.list-overrides")).overrides).toEqual([]);
  });
});
