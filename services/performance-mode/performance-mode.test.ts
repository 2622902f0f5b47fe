import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../test-support/harness.js";
import { PRESETS_ASC, estimate, recommend, type HardwareProfile } from "./domain.js";
import service from "./service.js";

const hw = (o: Partial<HardwareProfile> = {}): HardwareProfile => ({
  cpuCores: 6,
  cpuGhz: 3.5,
  gpuTier: "GPU_TIER_MID",
  gpuMemoryMb: 0,
  memoryMb: 16384,
  resolutionWidth: 1920,
  resolutionHeight: 1080,
  refreshRateHz: 0,
  platform: "windows",
  ...o,
});

describe("performance-mode model", () => {
  it("recommends HIGH for a mid-range GPU at 1080p and 60 fps, explaining why not ULTRA", () => {
    const r = recommend(hw(), 60);
    expect(r.preset).toBe("QUALITY_PRESET_HIGH");
    expect(r.estimatedFps).toBeGreaterThanOrEqual(60);
    expect(r.reasons.some((s) => /ULTRA: .* below the 60 fps target \(GPU-bound\)/.test(s))).toBe(true);
  });

  it("never recommends a stronger preset for a higher target fps or weaker hardware", () => {
    const rank = (p: string) => PRESETS_ASC.indexOf(p as (typeof PRESETS_ASC)[number]);
    const byTarget = [30, 60, 90, 144, 240].map((t) => rank(recommend(hw(), t).preset));
    expect(byTarget).toEqual([...byTarget].sort((a, b) => b - a));
    const tiers = [
      "GPU_TIER_INTEGRATED",
      "GPU_TIER_LOW",
      "GPU_TIER_MID",
      "GPU_TIER_HIGH",
      "GPU_TIER_ENTHUSIAST",
    ] as const;
    const byTier = tiers.map((t) => rank(recommend(hw({ gpuTier: t }), 60).preset));
    expect(byTier).toEqual([...byTier].sort((a, b) => a - b));
  });

  it("lowers the render scale at 4K before dropping a preset", () => {
    const r = recommend(
      hw({ gpuTier: "GPU_TIER_ENTHUSIAST", cpuCores: 16, cpuGhz: 4.5, resolutionWidth: 3840, resolutionHeight: 2160 }),
      60,
    );
    expect(r.preset).toBe("QUALITY_PRESET_ULTRA");
    expect(r.settings.renderScale).toBeLessThan(1);
    expect(r.reasons).toContain(`4K resolution lowers render_scale to ${r.settings.renderScale}`);
  });

  it("drops the preset when the CPU is the bottleneck, since render scale cannot help", () => {
    const e = estimate({ gpu: 10, cpu: 1.6 * Math.SQRT2, megapixels: 2.07 }, "QUALITY_PRESET_HIGH", 1);
    expect(e.bound).toBe("CPU");
    const r = recommend(hw({ gpuTier: "GPU_TIER_ENTHUSIAST", cpuCores: 2, cpuGhz: 1.6 }), 60);
    expect(r.reasons.some((s) => s.includes("CPU-bound"))).toBe(true);
  });

  it("caps the preset by RAM and textures by video memory", () => {
    const r = recommend(hw({ gpuTier: "GPU_TIER_ENTHUSIAST", memoryMb: 6144, gpuMemoryMb: 2048 }), 30);
    expect(r.preset).toBe("QUALITY_PRESET_MEDIUM");
    expect(r.settings.textureQuality).toBe(1);
    expect(r.reasons.join("\n")).toMatch(
      /RAM caps the preset at MEDIUM[\s\S]*video memory lowers texture_quality to 1/,
    );
  });

  it("caps the frame rate at the target on a battery device and at the refresh rate elsewhere", () => {
    expect(
      recommend(
        hw({ platform: "steamdeck", gpuTier: "GPU_TIER_INTEGRATED", resolutionWidth: 1280, resolutionHeight: 800 }),
        40,
      ).settings.fpsCap,
    ).toBe(40);
    const r = recommend(hw({ refreshRateHz: 75 }), 30);
    expect(r.settings.fpsCap).toBe(75);
    expect(r.estimatedFps).toBeLessThanOrEqual(75);
  });
});

describe("performance-mode service", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    await h.start(service);
  });
  afterAll(async () => h?.stop());

  it("recommends from hardware alone, defaulting the target to 60 fps", async () => {
    const r = await h.call<{
      preset: string;
      overridden: boolean;
      recommendedPreset: string;
      hardwareScore: number;
      reasons: string[];
    }>("performance-mode.recommend", { hardware: hw() });
    expect(r).toMatchObject({
      preset: "QUALITY_PRESET_HIGH",
      overridden: false,
      recommendedPreset: "QUALITY_PRESET_HIGH",
    });
    expect(r.hardwareScore).toBeGreaterThan(0);
    expect(r.reasons.length).toBeGreaterThan(1);
  });

  it("lists the five presets weakest first", async () => {
    const r = await h.call<{ presets: { preset: string }[] }>("performance-mode.list-presets");
    expect(r.presets.map((p) => p.preset)).toEqual([...PRESETS_ASC]);
  });

  it("lets a player's override win, and reports what the hardware alone would get", async () => {
    const set = await h.call<{ override: { preset: string; setAt: string } }>("performance-mode.set-override", {
      playerId: "p1",
      preset: "QUALITY_PRESET_ULTRA",
      reason: "screenshots",
    });
    expect(set.override.preset).toBe("QUALITY_PRESET_ULTRA");
    expect(await h.call("performance-mode.get-override", { playerId: "p1" })).toMatchObject({
      found: true,
      override: { preset: "QUALITY_PRESET_ULTRA", reason: "screenshots" },
    });
    const r = await h.call<{
      preset: string;
      overridden: boolean;
      recommendedPreset: string;
      estimatedFps: number;
      reasons: string[];
    }>("performance-mode.recommend", {
      hardware: hw(),
      playerId: "p1",
    });
    expect(r).toMatchObject({
      preset: "QUALITY_PRESET_ULTRA",
      overridden: true,
      recommendedPreset: "QUALITY_PRESET_HIGH",
    });
    expect(r.estimatedFps).toBeLessThan(60);
    expect(r.reasons[0]).toMatch(/player override: ULTRA \(screenshots\)/);
  });

  it("clears an override once", async () => {
    expect(await h.call("performance-mode.clear-override", { playerId: "p1" })).toEqual({ cleared: true });
    expect(await h.call("performance-mode.clear-override", { playerId: "p1" })).toEqual({ cleared: false });
    expect(await h.call("performance-mode.get-override", { playerId: "p1" })).toEqual({ found: false });
  });

  it("rejects a missing hardware profile, zero cores and an unspecified override preset with 400", async () => {
    expect((await h.fail("performance-mode.recommend", {})).code).toBe(400);
    expect((await h.fail("performance-mode.recommend", { hardware: hw({ cpuCores: 0 }) })).code).toBe(400);
    expect((await h.fail("performance-mode.set-override", { playerId: "p1" })).code).toBe(400);
  });
});
