// performance-mode: recommends a quality preset from a hardware profile (the model is in domain.ts);
// players can pin a preset with an override.
// State: override.<playerId> = PerformanceOverride. Env: none.
import { badRequest } from "../sdk/errors.js";
import { defineService } from "../sdk/runtime.js";
import { RevisionConflict } from "../sdk/state.js";
import {
  PRESETS,
  PRESETS_ASC,
  fitPreset,
  hardwareProblems,
  label,
  recommend,
  type HardwareProfile,
  type Preset,
  type PresetSettings,
} from "./domain.js";

// ---- proto shapes (JSON form) ----
type QualityPreset = Preset | "QUALITY_PRESET_UNSPECIFIED";
interface PerformanceOverride {
  playerId: string;
  preset: Preset;
  reason: string;
  setAt: string;
}
interface RecommendRequest {
  hardware?: HardwareProfile;
  targetFps: number;
  playerId: string;
}
interface RecommendResponse {
  preset: Preset;
  settings: PresetSettings;
  estimatedFps: number;
  hardwareScore: number;
  overridden: boolean;
  recommendedPreset: Preset;
  reasons: string[];
}
interface SetOverrideRequest {
  playerId: string;
  preset: QualityPreset;
  reason: string;
}
interface PlayerRequest {
  playerId: string;
}

const overrideKey = (playerId: string) => `override.${playerId}`;

function requirePlayer(playerId: string): string {
  const id = playerId.trim();
  if (!id) throw badRequest("player_id is required");
  if (id.length > 128) throw badRequest("player_id must be at most 128 characters");
  return id;
}

export default defineService({
  name: "performance-mode",
  description: "Quality preset recommendations from hardware profiles, with player overrides",
  start({ state, events, log }) {
    const publish = (name: string, data: unknown) =>
      events
        .publish(name, data)
        .catch((err: Error) => log.warn("event not published", { event: name, err: err.message }));

    return {
      async Recommend(req: RecommendRequest): Promise<RecommendResponse> {
        const target = req.targetFps || 60;
        const problems = hardwareProblems(req.hardware, target);
        if (problems.length) throw badRequest(problems.join("; "));
        const hw = req.hardware!;
        const rec = recommend(hw, target);
        const playerId = req.playerId.trim();
        const pinned = playerId ? (await state.get<PerformanceOverride>(overrideKey(playerId)))?.value : undefined;
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
      },

      ListPresets() {
        return { presets: PRESETS_ASC.map((p) => PRESETS[p]) };
      },

      async SetOverride(req: SetOverrideRequest) {
        const playerId = requirePlayer(req.playerId);
        if (req.preset === "QUALITY_PRESET_UNSPECIFIED") throw badRequest("preset is required");
        if (req.reason.length > 200) throw badRequest("reason must be at most 200 characters");
        const override: PerformanceOverride = {
          playerId,
          preset: req.preset,
          reason: req.reason,
          setAt: new Date().toISOString(),
        };
        await state.put(overrideKey(playerId), override);
        await publish("PerformanceOverrideSetEvent", { override });
        return { override };
      },

      async GetOverride(req: PlayerRequest) {
        const playerId = requirePlayer(req.playerId);
        const found = (await state.get<PerformanceOverride>(overrideKey(playerId)))?.value;
        return found ? { found: true, override: found } : { found: false };
      },

      async ClearOverride(req: PlayerRequest) {
        const playerId = requirePlayer(req.playerId);
        const cur = await state.get<PerformanceOverride>(overrideKey(playerId));
        if (!cur) return { cleared: false };
        try {
          await state.delete(overrideKey(playerId), cur.revision);
        } catch (err) {
          if (err instanceof RevisionConflict) return { cleared: false }; // changed or cleared concurrently: this call did not clear it
          throw err;
        }
        await publish("PerformanceOverrideClearedEvent", { playerId, at: new Date().toISOString() });
        return { cleared: true };
      },
    };
  },
});
