import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Subscription } from "@nats-io/transport-node";
import { startHarness, type Harness } from "../test-support/harness.js";
import type { RunningService } from "../sdk/runtime.js";
import timeManager from "../time-manager/service.js";
import weatherManager from "../weather-manager/service.js";
import worldState from "../world-state/service.js";
import { compose, countByType, extrapolate, factsOf, languageOf, type Scene } from "./domain.js";
import service from "./service.js";

const scene: Scene = {
  regionId: "elder",
  world: { name: "Elderwood", biome: "forest", counts: { npc: 3, player: 1 } },
  weather: { condition: "rain", temperatureC: 8.5, windSpeedMps: 6, precipitationMmPerHour: 2, overridden: false },
  time: { day: 70, hour: 18, minute: 5, dayPhase: "evening", season: "autumn", estimated: false },
};

describe("composing descriptions", () => {
  it("describes place, time, sky, air and who is around in English", () => {
    expect(compose(scene, "en")).toBe(
      "In Elderwood, it is evening (18:05) in autumn. Tall trees crowd the paths. Rain is falling. " +
        "The air is cool at 8.5 °C, with a steady wind. Nearby: 3 characters and 1 other player.",
    );
  });

  it("uses each locale's plural rules, number format and list format", () => {
    const fr = compose(scene, "fr");
    expect(fr).toContain("À Elderwood, c'est le soir (18:05), en automne.");
    expect(fr).toContain("8,5 °C");
    expect(fr).toContain("3 personnages et 1 autre joueur");
    const es = compose({ ...scene, world: { ...scene.world!, counts: { item: 1, npc: 2 } } }, "es");
    expect(es).toContain("1 objeto y 2 personajes");
  });

  it("still describes a region with only some of its facts", () => {
    expect(compose({ regionId: "r1" }, "en")).toBe("You are in r1.");
    expect(compose({ regionId: "r1", world: { name: "Dunes", biome: "desert", counts: {} } }, "en")).toBe(
      "You are in Dunes. Sand stretches to the horizon. Nobody else is around.",
    );
  });

  it("lists the facts used with their sources", () => {
    const facts = factsOf(scene);
    expect(facts).toContainEqual({ source: "world-state", key: "entities.npc_count", value: "3" });
    expect(facts).toContainEqual({ source: "weather-manager", key: "weather.condition", value: "rain" });
    expect(facts).toContainEqual({ source: "time-manager", key: "time.day_phase", value: "evening" });
    expect(facts.some((f) => f.key === "time.estimated")).toBe(false);
  });

  it("falls back to English for locales without texts and rejects malformed tags", () => {
    expect(languageOf("fr-CA")).toBe("fr");
    expect(languageOf("")).toBe("en");
    expect(languageOf("de-DE")).toBe("en");
    expect(() => languageOf("not a locale")).toThrow(RangeError);
  });

  it("counts entities by type without the viewer and extrapolates a clock", () => {
    expect(
      countByType(
        [
          { entityId: "me", entityType: "player" },
          { entityId: "n", entityType: "npc" },
        ],
        "me",
      ),
    ).toEqual({ npc: 1 });
    expect(extrapolate({ gameTimeMs: 1000, scale: 60, paused: false, realMs: 0 }, 1000)).toBe(61_000);
    expect(extrapolate({ gameTimeMs: 1000, scale: 60, paused: true, realMs: 0 }, 1000)).toBe(1000);
  });
});

interface Described {
  text: string;
  locale: string;
  facts: { source: string; key: string; value: string }[];
  degraded: boolean;
  missingSources: string[];
  gameTimeMs: string;
}

describe("environmental-narrative with its real dependencies", () => {
  let h: Harness;
  let world: RunningService;
  let weather: RunningService;
  let time: RunningService;
  let hang: Subscription | undefined;
  const v = (x: number) => ({ x, y: 0, z: 0 });
  beforeAll(async () => {
    h = await startHarness();
    world = await h.start(worldState);
    weather = await h.start(weatherManager);
    time = await h.start(timeManager);
    await h.start(service, { env: { NARRATIVE_CALL_TIMEOUT_MS: "300" } });
    await h.call("world-state.define-region", {
      region: { regionId: "elder", name: "Elderwood", biome: "forest", min: v(0), max: v(100) },
    });
    for (const [id, type] of [
      ["me", "player"],
      ["n1", "npc"],
      ["n2", "npc"],
      ["sword", "item"],
    ]) {
      await h.call("world-state.spawn-entity", { entityId: id, entityType: type, regionId: "elder", position: v(1) });
    }
    await h.call("time-manager.pause");
    await h.call("time-manager.set-time", { gameTimeMs: String(18 * 3_600_000) });
  });
  afterAll(async () => {
    hang?.unsubscribe();
    await h?.stop();
  });

  it("combines region, entities, weather and clock into one description", async () => {
    const d = await h.call<Described>("environmental-narrative.describe", { regionId: "elder", playerId: "me" });
    expect(d.degraded).toBe(false);
    expect(d.missingSources).toEqual([]);
    expect(d.locale).toBe("en");
    expect(d.gameTimeMs).toBe(String(18 * 3_600_000));
    expect(d.text).toMatch(/^In Elderwood, it is evening \(18:00\) in spring\. Tall trees crowd the paths\./);
    expect(d.text).toContain("Nearby: 1 item and 2 characters.");
    const keys = d.facts.map((f) => `${f.source}:${f.key}`);
    expect(keys).toEqual(
      expect.arrayContaining([
        "world-state:region.biome",
        "weather-manager:weather.condition",
        "time-manager:time.season",
      ]),
    );
    const temp = d.facts.find((f) => f.key === "weather.temperature_c")!.value;
    const w = await h.call<{ weather: { temperatureC: number } }>("weather-manager.get-weather", {
      regionId: "elder",
      gameTimeMs: d.gameTimeMs,
    });
    expect(Number(temp)).toBe(w.weather.temperatureC);
  });

  it("writes in the requested locale", async () => {
    const d = await h.call<Described>("environmental-narrative.describe", {
      regionId: "elder",
      locale: "fr-FR",
      playerId: "me",
    });
    expect(d.locale).toBe("fr");
    expect(d.text).toMatch(/^À Elderwood, c'est le soir \(18:00\), au printemps\./);
  });

  it("answers 404 for an unknown region and 400 for a bad request", async () => {
    expect((await h.fail("environmental-narrative.describe", { regionId: "atlantis" })).code).toBe(404);
    expect((await h.fail("environmental-narrative.describe", { regionId: "" })).code).toBe(400);
    expect((await h.fail("environmental-narrative.describe", { regionId: "elder", locale: "??" })).code).toBe(400);
  });

  it("degrades when weather-manager is stopped, and within the timeout when it hangs", async () => {
    await weather.stop(1000);
    const d = await h.call<Described>("environmental-narrative.describe", { regionId: "elder" });
    expect(d.degraded).toBe(true);
    expect(d.missingSources).toEqual(["weather-manager"]);
    expect(d.facts.some((f) => f.source === "weather-manager")).toBe(false);
    expect(d.text).toContain("Elderwood");
    hang = h.nc.subscribe("weather-manager.get-weather", { callback: () => undefined }); // never answers
    const started = Date.now();
    const slow = await h.call<Described>("environmental-narrative.describe", { regionId: "elder" });
    expect(slow.missingSources).toEqual(["weather-manager"]);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it("estimates the clock from the last answer when time-manager is stopped", async () => {
    await time.stop(1000);
    const d = await h.call<Described>("environmental-narrative.describe", { regionId: "elder" });
    expect(d.missingSources).toEqual(["time-manager", "weather-manager"]);
    expect(d.gameTimeMs).toBe("0");
    expect(d.facts).toContainEqual({ source: "time-manager", key: "time.estimated", value: "true" });
    expect(d.text).toMatch(/^In Elderwood, it is evening/);
  });

  it("describes from the clock alone when world-state is stopped", async () => {
    await world.stop(1000);
    const d = await h.call<Described>("environmental-narrative.describe", { regionId: "elder" });
    expect(d.missingSources).toEqual(["time-manager", "weather-manager", "world-state"]);
    expect(d.text).toMatch(/^In elder, it is evening/);
  });
});
