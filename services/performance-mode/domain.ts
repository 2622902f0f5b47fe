// Performance-mode domain: a small, explainable frame-rate model. Pure functions, no NATS.
//
// fps is bounded by the GPU and by the CPU, whichever is lower:
//   gpu_fps = GPU_K * gpu_throughput(tier) / (gpu_cost(preset) * internal_megapixels)
//   cpu_fps = CPU_K * ghz * sqrt(min(cores, 16)) / cpu_cost(preset)
// (internal megapixels = width * height * render_scale^2 / 1e6). The constants are calibrated so a mid-range
// GPU at 1080p runs HIGH at ~75 fps and a 6-core 3.5 GHz CPU sustains ~140 fps. The recommendation is the
// highest preset whose estimate meets the target; above 1440p the render scale may drop first (down to a
// 1440p-equivalent internal resolution) before a lower preset is chosen. RAM caps the preset and VRAM caps
// texture quality.

// the proto messages as generated (services/generated); Preset and PresetSettings below are narrower
// on purpose: a preset the rules pick is never QUALITY_PRESET_UNSPECIFIED
import type { GpuTier, HardwareProfile } from "../generated/performance_mode/v1/performance_mode.js";
export type { GpuTier, HardwareProfile };

export type Preset =
  | "QUALITY_PRESET_POTATO"
  | "QUALITY_PRESET_LOW"
  | "QUALITY_PRESET_MEDIUM"
  | "QUALITY_PRESET_HIGH"
  | "QUALITY_PRESET_ULTRA";

/** Weakest first. */
export const PRESETS_ASC: readonly Preset[] = [
  "QUALITY_PRESET_POTATO",
  "QUALITY_PRESET_LOW",
  "QUALITY_PRESET_MEDIUM",
  "QUALITY_PRESET_HIGH",
  "QUALITY_PRESET_ULTRA",
];

export interface PresetSettings {
  preset: Preset;
  renderScale: number;
  shadowQuality: number;
  textureQuality: number;
  effectsQuality: number;
  antiAliasing: number;
  viewDistanceM: number;
  fpsCap: number;
}

const base = (preset: Preset, renderScale: number, q: number, viewDistanceM: number): PresetSettings => ({
  preset,
  renderScale,
  shadowQuality: q,
  textureQuality: q,
  effectsQuality: q,
  antiAliasing: q,
  viewDistanceM,
  fpsCap: 0,
});

export const PRESETS: Readonly<Record<Preset, PresetSettings>> = {
  QUALITY_PRESET_POTATO: base("QUALITY_PRESET_POTATO", 0.67, 0, 300),
  QUALITY_PRESET_LOW: base("QUALITY_PRESET_LOW", 0.85, 1, 600),
  QUALITY_PRESET_MEDIUM: base("QUALITY_PRESET_MEDIUM", 1, 2, 1000),
  QUALITY_PRESET_HIGH: base("QUALITY_PRESET_HIGH", 1, 3, 1600),
  QUALITY_PRESET_ULTRA: base("QUALITY_PRESET_ULTRA", 1, 4, 2500),
};

const GPU_K = 45;
const CPU_K = 16.7;
const GPU_THROUGHPUT: Record<Exclude<GpuTier, "GPU_TIER_UNSPECIFIED">, number> = {
  GPU_TIER_INTEGRATED: 1,
  GPU_TIER_LOW: 2.2,
  GPU_TIER_MID: 4,
  GPU_TIER_HIGH: 6.5,
  GPU_TIER_ENTHUSIAST: 10,
};
const GPU_COST: Record<Preset, number> = {
  QUALITY_PRESET_POTATO: 0.35,
  QUALITY_PRESET_LOW: 0.55,
  QUALITY_PRESET_MEDIUM: 0.8,
  QUALITY_PRESET_HIGH: 1.15,
  QUALITY_PRESET_ULTRA: 1.7,
};
const CPU_COST: Record<Preset, number> = {
  QUALITY_PRESET_POTATO: 0.75,
  QUALITY_PRESET_LOW: 0.82,
  QUALITY_PRESET_MEDIUM: 0.9,
  QUALITY_PRESET_HIGH: 1,
  QUALITY_PRESET_ULTRA: 1.15,
};
/** VRAM (MB) that texture quality 0..4 needs */
const TEXTURE_VRAM_MB = [768, 1536, 2560, 4096, 6144];
/** below this much RAM (MB), the preset is capped at the one given */
const RAM_CAPS: [number, Preset][] = [
  [4096, "QUALITY_PRESET_POTATO"],
  [6144, "QUALITY_PRESET_LOW"],
  [8192, "QUALITY_PRESET_MEDIUM"],
  [12288, "QUALITY_PRESET_HIGH"],
];
/** internal resolution the render scale may fall to on high-resolution displays (2560x1440) */
const UPSCALE_FLOOR_MP = 3.6864;
const DEFAULT_GHZ = 3;
/** platforms on battery: cap the frame rate at the target to save power */
const BATTERY_PLATFORMS = new Set(["steamdeck", "switch", "laptop-battery"]);

export const label = (p: Preset): string => p.replace("QUALITY_PRESET_", "");
const round1 = (n: number) => Math.round(n * 10) / 10;
const rank = (p: Preset) => PRESETS_ASC.indexOf(p);

interface Machine {
  gpu: number;
  cpu: number;
  megapixels: number;
  notes: string[];
}

function machine(hw: HardwareProfile): Machine {
  const notes: string[] = [];
  let tier = hw.gpuTier;
  if (tier === "GPU_TIER_UNSPECIFIED") {
    tier = "GPU_TIER_LOW";
    notes.push("unknown GPU tier: assuming LOW");
  }
  let ghz = hw.cpuGhz;
  if (!ghz) {
    ghz = DEFAULT_GHZ;
    notes.push(`unknown CPU clock: assuming ${DEFAULT_GHZ} GHz`);
  }
  const gpu = GPU_THROUGHPUT[tier];
  const cpu = ghz * Math.sqrt(Math.min(hw.cpuCores, 16));
  notes.push(`${tier.replace("GPU_TIER_", "")} GPU (throughput ${gpu}), ${hw.cpuCores} CPU cores at ${ghz} GHz`);
  return { gpu, cpu, megapixels: (hw.resolutionWidth * hw.resolutionHeight) / 1e6, notes };
}

export interface Estimate {
  fps: number;
  gpuFps: number;
  cpuFps: number;
  bound: "GPU" | "CPU";
}

export function estimate(
  m: Pick<Machine, "gpu" | "cpu" | "megapixels">,
  preset: Preset,
  renderScale: number,
): Estimate {
  const gpuFps = (GPU_K * m.gpu) / (GPU_COST[preset] * m.megapixels * renderScale * renderScale);
  const cpuFps = (CPU_K * m.cpu) / CPU_COST[preset];
  return { fps: Math.min(gpuFps, cpuFps), gpuFps, cpuFps, bound: gpuFps <= cpuFps ? "GPU" : "CPU" };
}

/** 0..100: GPU weighs 70%, CPU 30%; an ENTHUSIAST GPU with 16 cores at 5 GHz scores 100. */
export function hardwareScore(hw: HardwareProfile): number {
  const m = machine(hw);
  return round1(100 * (0.7 * Math.min(1, m.gpu / 10) + 0.3 * Math.min(1, m.cpu / 20)));
}

export interface Fit {
  settings: PresetSettings;
  estimate: Estimate;
  meets: boolean;
  reasons: string[];
}

/** The settings of `preset` adapted to the hardware (render scale, textures, fps cap), and how fast they run. */
export function fitPreset(hw: HardwareProfile, preset: Preset, targetFps: number, m: Machine = machine(hw)): Fit {
  const reasons: string[] = [];
  const s = { ...PRESETS[preset] };
  let e = estimate(m, preset, s.renderScale);
  const floor =
    m.megapixels > UPSCALE_FLOOR_MP ? Math.max(0.5, Math.sqrt(UPSCALE_FLOOR_MP / m.megapixels)) : s.renderScale;
  if (e.fps < targetFps && floor < s.renderScale && e.cpuFps >= targetFps) {
    // the render scale at which the GPU reaches the target, in steps of 0.05, not below the floor
    const needed = Math.sqrt((GPU_K * m.gpu) / (GPU_COST[preset] * m.megapixels * targetFps));
    const scale = Math.max(Math.floor(needed * 20) / 20, Math.ceil(floor * 100) / 100);
    if (scale < s.renderScale) {
      s.renderScale = scale;
      e = estimate(m, preset, scale);
      const name = hw.resolutionWidth >= 3840 ? "4K" : `${hw.resolutionWidth}x${hw.resolutionHeight}`;
      reasons.push(`${name} resolution lowers render_scale to ${scale}`);
    }
  }
  if (hw.gpuMemoryMb > 0) {
    const fits = TEXTURE_VRAM_MB.findLastIndex((need) => need <= hw.gpuMemoryMb);
    const q = Math.max(0, fits);
    if (q < s.textureQuality) {
      s.textureQuality = q;
      reasons.push(`${hw.gpuMemoryMb} MB of video memory lowers texture_quality to ${q}`);
    }
  }
  if (BATTERY_PLATFORMS.has(hw.platform.toLowerCase())) {
    s.fpsCap = targetFps;
    reasons.push(`${hw.platform} runs on battery: fps capped at the ${targetFps} fps target`);
  } else if (hw.refreshRateHz > 0) {
    s.fpsCap = hw.refreshRateHz; // frames beyond the display's refresh are never shown
  }
  const fps = s.fpsCap ? Math.min(e.fps, s.fpsCap) : e.fps;
  return { settings: s, estimate: { ...e, fps }, meets: e.fps >= targetFps, reasons };
}

export interface Recommendation {
  preset: Preset;
  settings: PresetSettings;
  estimatedFps: number;
  hardwareScore: number;
  reasons: string[];
}

/** The highest preset that reaches `targetFps` on `hw` (POTATO when none does), with the reasons. */
export function recommend(hw: HardwareProfile, targetFps: number): Recommendation {
  const m = machine(hw);
  const reasons = [...m.notes];
  const ramCap = hw.memoryMb > 0 ? RAM_CAPS.find(([below]) => hw.memoryMb < below)?.[1] : undefined;
  if (ramCap) reasons.push(`${Math.round(hw.memoryMb / 1024)} GB of RAM caps the preset at ${label(ramCap)}`);
  const candidates = PRESETS_ASC.filter((p) => !ramCap || rank(p) <= rank(ramCap)).reverse();
  let chosen: Fit | undefined;
  for (const p of candidates) {
    const fit = fitPreset(hw, p, targetFps, m);
    if (fit.meets) {
      chosen = fit;
      reasons.push(`${label(p)}: ~${round1(fit.estimate.fps)} fps meets the ${targetFps} fps target`);
      break;
    }
    reasons.push(
      `${label(p)}: ~${round1(fit.estimate.fps)} fps is below the ${targetFps} fps target (${fit.estimate.bound}-bound)`,
    );
  }
  if (!chosen) {
    chosen = fitPreset(hw, "QUALITY_PRESET_POTATO", targetFps, m);
    reasons.push(`no preset reaches ${targetFps} fps: POTATO is the fastest`);
  }
  return {
    preset: chosen.settings.preset,
    settings: chosen.settings,
    estimatedFps: round1(chosen.estimate.fps),
    hardwareScore: hardwareScore(hw),
    reasons: [...reasons, ...chosen.reasons],
  };
}

/** Problems with a hardware profile from a request; empty when it is usable. */
export function hardwareProblems(hw: HardwareProfile | undefined, targetFps: number): string[] {
  if (!hw) return ["hardware is required"];
  const p: string[] = [];
  if (hw.cpuCores < 1 || hw.cpuCores > 512) p.push("hardware.cpu_cores must be 1..512");
  if (!Number.isFinite(hw.cpuGhz) || hw.cpuGhz < 0 || hw.cpuGhz > 10)
    p.push("hardware.cpu_ghz must be 0 (unknown) or up to 10");
  if (
    hw.resolutionWidth < 320 ||
    hw.resolutionWidth > 16384 ||
    hw.resolutionHeight < 200 ||
    hw.resolutionHeight > 16384
  ) {
    p.push("hardware.resolution_width/height must be a real display size (320x200 .. 16384x16384)");
  }
  if (hw.refreshRateHz > 1000) p.push("hardware.refresh_rate_hz must be at most 1000");
  if (hw.platform.length > 32) p.push("hardware.platform must be at most 32 characters");
  if (targetFps < 1 || targetFps > 1000) p.push("target_fps must be 1..1000 (0 = 60)");
  return p;
}
