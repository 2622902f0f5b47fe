// weather-manager: per-region weather computed from (world seed, region id, game time), so every
// instance answers the same for the same question; manual overrides (stored) win until they expire.
// State: `override.<regionId>` = WeatherOverride.
// Env: WEATHER_WORLD_SEED (default "gs"), WEATHER_MAX_FORECAST (snapshots per forecast, default 168),
// WEATHER_CLOCK_TIMEOUT_MS (time-manager call used to expire overrides in ListOverrides, default 500).
import { defineService, type CallContext, ServiceBase, type RpcHandlers } from "../sdk/runtime.js";
import { badRequest } from "../sdk/errors.js";
import { RevisionConflict } from "../sdk/state.js";
import { applyOverride, computeWeather, MINUTE_MS, overrideActive, regionSeed } from "./domain.js";
import type {
  ClearOverrideRequest,
  ClearOverrideResponse,
  GetForecastRequest,
  GetForecastResponse,
  GetWeatherRequest,
  GetWeatherResponse,
  ListOverridesRequest,
  ListOverridesResponse,
  SetOverrideRequest,
  SetOverrideResponse,
  WeatherManagerServiceRpcs,
  WeatherOverride,
  WeatherSnapshot,
} from "../generated/weather_manager/v1/weather_manager.js";

const overrideKey = (regionId: string) => `override.${regionId}`;
const MAX_STEP_MINUTES = 7 * 24 * 60;

function requireRegion(id: string): string {
  const v = id.trim();
  if (!v) throw badRequest("regionId is required");
  if (v.length > 128) throw badRequest("regionId is longer than 128 characters");
  return v;
}

function gameMs(value: string, field: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw badRequest(`${field} must be a non-negative game time in ms (got ${value})`);
  return n;
}

class WeatherManager extends ServiceBase implements RpcHandlers<WeatherManagerServiceRpcs> {
  private readonly worldSeed = this.ctx.env.WEATHER_WORLD_SEED ?? "gs";
  private readonly maxForecast = Number(this.ctx.env.WEATHER_MAX_FORECAST ?? 168);
  private readonly clockTimeout = Number(this.ctx.env.WEATHER_CLOCK_TIMEOUT_MS ?? 500);
  private readonly loadOverride = async (regionId: string) =>
    (await this.ctx.state.get<WeatherOverride>(overrideKey(regionId)))?.value;

  async GetWeather(req: GetWeatherRequest): Promise<GetWeatherResponse> {
    const regionId = requireRegion(req.regionId);
    const t = gameMs(req.gameTimeMs, "gameTimeMs");
    return { weather: this.snapshot(regionId, t, await this.loadOverride(regionId)) };
  }

  async GetForecast(req: GetForecastRequest): Promise<GetForecastResponse> {
    const regionId = requireRegion(req.regionId);
    const from = gameMs(req.fromGameTimeMs, "fromGameTimeMs");
    if (req.stepMinutes > MAX_STEP_MINUTES) throw badRequest(`stepMinutes must be <= ${MAX_STEP_MINUTES}`);
    const stepMs = (req.stepMinutes || 60) * MINUTE_MS;
    const count = Math.min(req.count || 24, this.maxForecast);
    const o = await this.loadOverride(regionId);
    return { snapshots: Array.from({ length: count }, (_, i) => this.snapshot(regionId, from + i * stepMs, o)) };
  }

  async SetOverride(req: SetOverrideRequest): Promise<SetOverrideResponse> {
    const o = req.override;
    if (!o) throw badRequest("override is required");
    const regionId = requireRegion(o.regionId);
    if (o.condition === "WEATHER_CONDITION_UNSPECIFIED") throw badRequest("override.condition is required");
    if (!Number.isFinite(o.temperatureC) || o.temperatureC < -90 || o.temperatureC > 60)
      throw badRequest("override.temperatureC must be within -90..60");
    if (!Number.isFinite(o.windSpeedMps) || o.windSpeedMps < 0 || o.windSpeedMps > 120)
      throw badRequest("override.windSpeedMps must be within 0..120");
    gameMs(o.untilGameTimeMs, "override.untilGameTimeMs");
    if (o.reason.length > 200 || o.setBy.length > 100)
      throw badRequest("override.reason (200) or override.setBy (100) is too long");
    const next: WeatherOverride = { ...o, regionId, createdAt: new Date().toISOString() };
    let previous: WeatherOverride | undefined;
    await this.ctx.state.update<WeatherOverride>(overrideKey(regionId), (cur) => {
      previous = cur;
      return next;
    });
    await this.ctx.events.publish("WeatherOverrideSetEvent", { override: next });
    return previous ? { override: next, previous } : { override: next };
  }

  async ClearOverride(req: ClearOverrideRequest): Promise<ClearOverrideResponse> {
    const regionId = requireRegion(req.regionId);
    const cur = await this.ctx.state.get<WeatherOverride>(overrideKey(regionId));
    if (!cur) return { cleared: false };
    try {
      await this.ctx.state.delete(overrideKey(regionId), cur.revision);
    } catch (err) {
      if (err instanceof RevisionConflict) return { cleared: false }; // replaced or cleared meanwhile
      throw err;
    }
    await this.publishCleared(regionId, "manual");
    return { cleared: true };
  }

  async ListOverrides(_req: ListOverridesRequest, call: CallContext): Promise<ListOverridesResponse> {
    const loaded = await Promise.all(
      (await this.ctx.state.keys("override")).map((k) => this.ctx.state.get<WeatherOverride>(k)),
    );
    // the clock decides which overrides have run out; without it, list them all
    let now: number | undefined;
    try {
      const r = await this.ctx.client.call<{ clock?: { gameTimeMs: string } }>(
        "time-manager.get-time",
        {},
        { timeout: this.clockTimeout, trace: call.trace },
      );
      now = Number(r.clock?.gameTimeMs ?? 0);
    } catch (err) {
      this.ctx.log.warn("time-manager unavailable; overrides not expired", { err: (err as Error).message });
    }
    const overrides: WeatherOverride[] = [];
    for (const entry of loaded) {
      if (!entry) continue;
      const o = entry.value;
      const until = Number(o.untilGameTimeMs);
      if (now !== undefined && until > 0 && until <= now) {
        try {
          await this.ctx.state.delete(overrideKey(o.regionId), entry.revision);
          await this.publishCleared(o.regionId, "expired");
        } catch (err) {
          if (!(err instanceof RevisionConflict)) throw err;
          const replaced = await this.ctx.state.get<WeatherOverride>(overrideKey(o.regionId)); // set again meanwhile
          if (replaced) overrides.push(replaced.value);
        }
        continue;
      }
      overrides.push(o);
    }
    return { overrides: overrides.sort((a, b) => a.regionId.localeCompare(b.regionId)) };
  }

  private snapshot(regionId: string, t: number, o: WeatherOverride | undefined): WeatherSnapshot {
    const seed = regionSeed(this.worldSeed, regionId);
    const computed = computeWeather(seed, t);
    const ov =
      o && o.condition !== "WEATHER_CONDITION_UNSPECIFIED"
        ? { ...o, condition: o.condition, untilGameTimeMs: Number(o.untilGameTimeMs) }
        : undefined;
    const active = ov && overrideActive(ov, t);
    return {
      regionId,
      gameTimeMs: String(t),
      ...(active ? applyOverride(computed, ov) : computed),
      overridden: !!active,
      seed,
    };
  }

  private async publishCleared(regionId: string, reason: "manual" | "expired"): Promise<void> {
    await this.ctx.events.publish("WeatherOverrideClearedEvent", { regionId, reason, at: new Date().toISOString() });
  }
}

export default defineService({
  name: "weather-manager",
  description: "Deterministic per-region weather with overrides",
  start: (ctx) => new WeatherManager(ctx),
});
