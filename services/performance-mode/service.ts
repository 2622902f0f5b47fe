// performance-mode: recommends a quality preset from a hardware profile (the model is in domain.ts);
// players can pin a preset with an override.
// State: override.<playerId> = PerformanceOverride. Env: none.
import { badRequest } from "../sdk/errors.js";
import { defineService, ServiceBase, type RpcHandlers } from "../sdk/runtime.js";
import { RevisionConflict } from "../sdk/state.js";
import { PRESETS, PRESETS_ASC, fitPreset, hardwareProblems, label, recommend, type Preset } from "./domain.js";
import type {
  ClearOverrideRequest,
  ClearOverrideResponse,
  GetOverrideRequest,
  GetOverrideResponse,
  ListPresetsRequest,
  ListPresetsResponse,
  PerformanceModeServiceRpcs,
  PerformanceOverride,
  RecommendRequest,
  RecommendResponse,
  SetOverrideRequest,
  SetOverrideResponse,
} from "../generated/performance_mode/v1/performance_mode.js";

const overrideKey = (playerId: string) => `override.${playerId}`;

function requirePlayer(playerId: string): string {
  const id = playerId.trim();
  if (!id) throw badRequest("player_id is required");
  if (id.length > 128) throw badRequest("player_id must be at most 128 characters");
  return id;
}

/** An override as stored: always a real preset. */
type StoredOverride = PerformanceOverride & { preset: Preset };

class PerformanceMode extends ServiceBase implements RpcHandlers<PerformanceModeServiceRpcs> {
  private readonly publish = (name: string, data: unknown) =>
    this.ctx.events
      .publish(name, data)
      .catch((err: Error) => this.ctx.log.warn("event not published", { event: name, err: err.message }));

  async Recommend(req: RecommendRequest): Promise<RecommendResponse> {
    const target = req.targetFps || 60;
    const problems = hardwareProblems(req.hardware, target);
    if (problems.length) throw badRequest(problems.join("; "));
    const hw = req.hardware!;
    const rec = recommend(hw, target);
    const playerId = req.playerId.trim();
    const pinned = playerId ? (await this.ctx.state.get<StoredOverride>(overrideKey(playerId)))?.value : undefined;
    if (!pinned || pinned.preset === rec.preset) {
      return { ...rec, overridden: Boolean(pinned), recommendedPreset: rec.preset };
    }
    const fit = fitPreset(hw, pinned.preset, target);
    return {
      preset: pinned.preset,
      settings: fit.settings,
      estimatedFps: Math.round(fit.estimate.fps * 10) / 10,
      hardwareScore: rec.hardwareScore,
      overridden: true,
      recommendedPreset: rec.preset,
      reasons: [
        `player override: ${label(pinned.preset)}${pinned.reason ? ` (${pinned.reason})` : ""} instead of the recommended ${label(rec.preset)}`,
        ...(fit.meets
          ? []
          : [
              `${label(pinned.preset)} is estimated at ~${Math.round(fit.estimate.fps)} fps, below the ${target} fps target`,
            ]),
        ...fit.reasons,
      ],
    };
  }

  ListPresets(_req: ListPresetsRequest): ListPresetsResponse {
    return { presets: PRESETS_ASC.map((p) => PRESETS[p]) };
  }

  async SetOverride(req: SetOverrideRequest): Promise<SetOverrideResponse> {
    const playerId = requirePlayer(req.playerId);
    if (req.preset === "QUALITY_PRESET_UNSPECIFIED") throw badRequest("preset is required");
    if (req.reason.length > 200) throw badRequest("reason must be at most 200 characters");
    const override: StoredOverride = {
      playerId,
      preset: req.preset,
      reason: req.reason,
      setAt: new Date().toISOString(),
    };
    await this.ctx.state.put(overrideKey(playerId), override);
    await this.publish("PerformanceOverrideSetEvent", { override });
    return { override };
  }

  async GetOverride(req: GetOverrideRequest): Promise<GetOverrideResponse> {
    const playerId = requirePlayer(req.playerId);
    const found = (await this.ctx.state.get<StoredOverride>(overrideKey(playerId)))?.value;
    return found ? { found: true, override: found } : { found: false };
  }

  async ClearOverride(req: ClearOverrideRequest): Promise<ClearOverrideResponse> {
    const playerId = requirePlayer(req.playerId);
    const cur = await this.ctx.state.get<StoredOverride>(overrideKey(playerId));
    if (!cur) return { cleared: false };
    try {
      await this.ctx.state.delete(overrideKey(playerId), cur.revision);
    } catch (err) {
      if (err instanceof RevisionConflict) return { cleared: false }; // changed or cleared concurrently: this call did not clear it
      throw err;
    }
    await this.publish("PerformanceOverrideClearedEvent", { playerId, at: new Date().toISOString() });
    return { cleared: true };
  }
}

export default defineService({
  name: "performance-mode",
  description: "Quality preset recommendations from hardware profiles, with player overrides",
  start: (ctx) => new PerformanceMode(ctx),
});
