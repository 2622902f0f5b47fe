import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../test-support/harness.js";
import { effective, validate } from "./domain.js";
import service from "./service.js";

interface Entry {
  key: string;
  value: Record<string, unknown>;
  isDefault: boolean;
  updatedAt?: string;
}

describe("settings domain", () => {
  it("accepts in-range values and rejects out-of-range, wrong-typed and unknown ones", () => {
    expect(validate("audio.master_volume", { intValue: 100 })).toEqual({ value: { intValue: 100 } });
    expect(validate("audio.master_volume", { intValue: 101 })).toMatchObject({
      error: { code: "OUT_OF_RANGE", field: "audio.master_volume" },
    });
    expect(validate("graphics.fov", { intValue: 59 })).toMatchObject({ error: { code: "OUT_OF_RANGE" } });
    expect(validate("graphics.fov", { stringValue: "90" })).toMatchObject({ error: { code: "WRONG_TYPE" } });
    expect(validate("graphics.quality", { stringValue: "insane" })).toMatchObject({ error: { code: "NOT_ALLOWED" } });
    expect(validate("nope.key", { boolValue: true })).toMatchObject({ error: { code: "UNKNOWN_KEY" } });
    expect(validate("profile.status_message", { stringValue: "x".repeat(81) })).toMatchObject({
      error: { code: "TOO_LONG" },
    });
  });

  it("widens an int to a double setting", () => {
    expect(validate("controls.mouse_sensitivity", { intValue: 2 })).toEqual({ value: { doubleValue: 2 } });
  });

  it("falls back to the default when a stored value no longer fits the schema", () => {
    const e = effective("graphics.fov", {
      "graphics.fov": { value: { intValue: 200 }, updatedAt: "2025-01-01T00:00:00Z" },
    });
    expect(e).toEqual({ key: "graphics.fov", value: { intValue: 90 }, isDefault: true });
  });
});

describe("settings service", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    await h.start(service);
    await h.start(service);
  });
  afterAll(async () => h?.stop());

  it("lists the schema with types, defaults and ranges, filtered by category", async () => {
    const all = await h.call<{
      definitions: { key: string; type: string; min: number; max: number; defaultValue: unknown }[];
      schemaVersion: number;
    }>("settings.get-schema");
    expect(all.schemaVersion).toBeGreaterThan(0);
    expect(all.definitions.find((d) => d.key === "graphics.fov")).toMatchObject({
      type: "SETTING_TYPE_INT",
      min: 60,
      max: 120,
      defaultValue: { intValue: 90 },
    });
    const audio = await h.call<{ definitions: { category: string }[] }>("settings.get-schema", { category: "audio" });
    expect(audio.definitions.length).toBeGreaterThan(3);
    expect(audio.definitions.every((d) => d.category === "audio")).toBe(true);
  });

  it("returns defaults for a new player", async () => {
    const r = await h.call<{ settings: Entry[] }>("settings.get-settings", {
      playerId: "p1",
      keys: ["interface.subtitles", "graphics.quality"],
    });
    expect(r.settings).toEqual([
      { key: "interface.subtitles", value: { boolValue: true }, isDefault: true },
      { key: "graphics.quality", value: { stringValue: "medium" }, isDefault: true },
    ]);
  });

  it("stores valid values, including false and 0", async () => {
    const r = await h.call<{ applied: boolean; settings: Entry[] }>("settings.set-settings", {
      playerId: "p1",
      values: {
        "interface.subtitles": { boolValue: false },
        "audio.music_volume": { intValue: 0 },
        "interface.language": { stringValue: "de" },
      },
    });
    expect(r.applied).toBe(true);
    const got = await h.call<{ settings: Entry[] }>("settings.get-settings", {
      playerId: "p1",
      keys: ["interface.subtitles", "audio.music_volume", "interface.language"],
    });
    expect(got.settings.map((s) => [s.value, s.isDefault])).toEqual([
      [{ boolValue: false }, false],
      [{ intValue: 0 }, false],
      [{ stringValue: "de" }, false],
    ]);
    expect(got.settings[0]!.updatedAt).toMatch(/Z$/);
  });

  it("applies nothing when one value is invalid", async () => {
    const r = await h.call<{ applied: boolean; errors: { code: string; field: string }[]; settings: Entry[] }>(
      "settings.set-settings",
      {
        playerId: "p1",
        values: {
          "graphics.fov": { intValue: 100 },
          "audio.master_volume": { intValue: 150 },
          "bogus.key": { boolValue: true },
          "graphics.vsync": {},
        },
      },
    );
    expect(r.applied).toBe(false);
    expect(r.errors.map((e) => [e.field, e.code]).sort()).toEqual([
      ["audio.master_volume", "OUT_OF_RANGE"],
      ["bogus.key", "UNKNOWN_KEY"],
      ["graphics.vsync", "MISSING_VALUE"],
    ]);
    const fov = await h.call<{ settings: Entry[] }>("settings.get-settings", {
      playerId: "p1",
      keys: ["graphics.fov"],
    });
    expect(fov.settings[0]).toMatchObject({ value: { intValue: 90 }, isDefault: true });
  });

  it("publishes the changes of a SetSettings", async () => {
    const sub = h.nc.subscribe("events.settings.settings-changed", { max: 1 });
    await h.call("settings.set-settings", { playerId: "p2", values: { "graphics.fov": { intValue: 110 } } });
    for await (const m of sub) expect(m.data.length).toBeGreaterThan(0);
  });

  it("keeps both of two concurrent updates from different instances", async () => {
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        h.call("settings.set-settings", {
          playerId: "p3",
          values: { [i % 2 ? "graphics.fov" : "audio.sfx_volume"]: { intValue: 60 + i } },
        }),
      ),
    );
    const r = await h.call<{ settings: Entry[] }>("settings.get-settings", {
      playerId: "p3",
      keys: ["graphics.fov", "audio.sfx_volume"],
    });
    expect(r.settings.every((s) => !s.isDefault)).toBe(true);
  });

  it("resets chosen keys, then all keys, to defaults", async () => {
    const one = await h.call<{ settings: Entry[] }>("settings.reset-settings", {
      playerId: "p1",
      keys: ["interface.language"],
    });
    expect(one.settings).toEqual([{ key: "interface.language", value: { stringValue: "en" }, isDefault: true }]);
    const sub = await h.call<{ settings: Entry[] }>("settings.get-settings", {
      playerId: "p1",
      keys: ["interface.subtitles"],
    });
    expect(sub.settings[0]!.isDefault).toBe(false);
    const all = await h.call<{ settings: Entry[] }>("settings.reset-settings", { playerId: "p1" });
    expect(all.settings.every((s) => s.isDefault)).toBe(true);
  });

  it("rejects a missing player id and unknown keys with 400", async () => {
    expect((await h.fail("settings.get-settings", { playerId: "" })).code).toBe(400);
    expect((await h.fail("settings.reset-settings", { playerId: "p1", keys: ["no.such"] })).code).toBe(400);
    expect((await h.fail("settings.set-settings", { playerId: "p1", values: {} })).code).toBe(400);
  });
});
