// environmental-narrative: describes a region from world-state (region + entities), time-manager (clock)
// and weather-manager (weather at that game time). Each call has a short timeout; a source that does not
// answer is listed in missing_sources and the description is built from the rest. When time-manager is
// silent, game time is extrapolated from the last clock seen by this instance (a cache, not state).
// Env: NARRATIVE_CALL_TIMEOUT_MS (per dependency call, default 800), NARRATIVE_MAX_ENTITIES (default 500).
import { defineService, type CallContext, ServiceBase, type RpcHandlers } from "../sdk/runtime.js";
import { badRequest, notFound, ServiceError } from "../sdk/errors.js";
import { calendar } from "../time-manager/domain.js";
import {
  compose,
  countByType,
  extrapolate,
  factsOf,
  languageOf,
  shortName,
  type LastClock,
  type Scene,
  type TimeFacts,
} from "./domain.js";
import type {
  DescribeRequest,
  DescribeResponse,
  EnvironmentalNarrativeServiceRpcs,
} from "../generated/environmental_narrative/v1/environmental_narrative.js";
// what the dependencies answer
import type { GetTimeResponse } from "../generated/time_manager/v1/time_manager.js";
import type { GetWeatherResponse } from "../generated/weather_manager/v1/weather_manager.js";
import type { QueryRegionResponse } from "../generated/world_state/v1/world_state.js";

class EnvironmentalNarrative extends ServiceBase implements RpcHandlers<EnvironmentalNarrativeServiceRpcs> {
  private readonly timeout = Number(this.ctx.env.NARRATIVE_CALL_TIMEOUT_MS ?? 800);
  private readonly maxEntities = Number(this.ctx.env.NARRATIVE_MAX_ENTITIES ?? 500);
  private lastClock: LastClock | undefined;

  async Describe(req: DescribeRequest, call: CallContext): Promise<DescribeResponse> {
    const regionId = req.regionId.trim();
    if (!regionId) throw badRequest("regionId is required");
    if (regionId.length > 128) throw badRequest("regionId is longer than 128 characters");
    let lang;
    try {
      lang = languageOf(req.locale);
    } catch {
      throw badRequest(`locale "${req.locale}" is not a valid BCP 47 tag`);
    }
    const missing = new Set<string>();
    // world and clock in parallel; the weather needs the clock's game time
    const [world, clock] = await Promise.all([
      this.ask<QueryRegionResponse>(
        "world-state",
        "world-state.query-region",
        { regionId, limit: this.maxEntities },
        missing,
        call,
      ),
      this.clockNow(missing, call),
    ]);
    const weather =
      clock &&
      (await this.ask<GetWeatherResponse>(
        "weather-manager",
        "weather-manager.get-weather",
        { regionId, gameTimeMs: String(clock.gameMs) },
        missing,
        call,
      ));
    const scene: Scene = { regionId };
    if (world?.region)
      scene.world = {
        name: world.region.name || regionId,
        biome: world.region.biome,
        counts: countByType(world.entities, req.playerId),
      };
    if (clock) scene.time = clock.time;
    if (weather && weather.weather) {
      const w = weather.weather;
      scene.weather = { ...w, condition: shortName(w.condition, "WEATHER_CONDITION_") };
    }
    const facts = factsOf(scene);
    const missingSources = [...missing].sort();
    const res: DescribeResponse = {
      regionId,
      locale: lang,
      text: compose(scene, lang),
      facts,
      degraded: missingSources.length > 0,
      missingSources,
      gameTimeMs: String(clock && !clock.time.estimated ? clock.gameMs : 0),
    };
    try {
      await this.ctx.events.publish(
        "RegionDescribedEvent",
        {
          regionId,
          locale: lang,
          factCount: facts.length,
          degraded: res.degraded,
          missingSources,
          at: new Date().toISOString(),
        },
        { trace: call.trace },
      );
    } catch (err) {
      this.ctx.log.warn("could not publish RegionDescribedEvent", { err: (err as Error).message });
    }
    return res;
  }

  /** The answer, or undefined when the source is down or slow (its name goes to `missing`). */
  private async ask<T>(
    source: string,
    subject: string,
    req: unknown,
    missing: Set<string>,
    call: CallContext,
  ): Promise<T | undefined> {
    try {
      return await this.ctx.client.call<T>(subject, req, { timeout: this.timeout, trace: call.trace });
    } catch (err) {
      if (err instanceof ServiceError && err.code === 404 && source === "world-state")
        throw notFound((err as Error).message);
      this.ctx.log.warn("source did not answer", { source, subject, err: (err as Error).message });
      missing.add(source);
      return undefined;
    }
  }

  private async clockNow(
    missing: Set<string>,
    call: CallContext,
  ): Promise<{ gameMs: number; time: TimeFacts } | undefined> {
    const r = await this.ask<GetTimeResponse>("time-manager", "time-manager.get-time", {}, missing, call);
    if (r?.clock) {
      const c = r.clock;
      const gameMs = Number(c.gameTimeMs);
      this.lastClock = { gameTimeMs: gameMs, scale: c.scale, paused: c.paused, realMs: Date.now() };
      const time = {
        day: c.day,
        hour: c.hour,
        minute: c.minute,
        dayPhase: shortName(c.dayPhase, "DAY_PHASE_"),
        season: shortName(c.season, "SEASON_"),
        estimated: false,
      };
      return { gameMs, time };
    }
    if (!this.lastClock) return undefined;
    const gameMs = extrapolate(this.lastClock, Date.now());
    const cal = calendar(gameMs);
    const time = {
      ...cal,
      dayPhase: shortName(cal.dayPhase, "DAY_PHASE_"),
      season: shortName(cal.season, "SEASON_"),
      estimated: true,
    };
    return { gameMs, time };
  }
}

export default defineService({
  name: "environmental-narrative",
  description: "Region descriptions from world, weather and time",
  start: (ctx) => new EnvironmentalNarrative(ctx),
});
