// Settings domain: the typed schema with defaults, and validation of values against it. No NATS here.

import type { ErrorDetail } from "../generated/gs/common/v1/common.js";

// proto messages as generated from proto/ (services/generated)
export type { ErrorDetail };

export type SettingType =
  "SETTING_TYPE_BOOL" | "SETTING_TYPE_INT" | "SETTING_TYPE_DOUBLE" | "SETTING_TYPE_STRING" | "SETTING_TYPE_ENUM";

/** proto SettingValue in JSON form: exactly one member set. */
export type SettingValue =
  { boolValue: boolean } | { intValue: number } | { doubleValue: number } | { stringValue: string };

export interface SettingDefinition {
  key: string;
  type: SettingType;
  defaultValue: SettingValue;
  min: number;
  max: number;
  allowedValues: string[];
  maxLength: number;
  description: string;
  category: string;
}

/** Bump when a definition is added, removed or changes its type, range or default. */
export const SCHEMA_VERSION = 1;
export const DEFAULT_STRING_MAX = 256;

const LANGUAGES = ["en", "de", "fr", "es", "it", "pt-BR", "pl", "ru", "ja", "ko", "zh-CN"];

function int(key: string, def: number, min: number, max: number, description: string): SettingDefinition {
  return {
    key,
    type: "SETTING_TYPE_INT",
    defaultValue: { intValue: def },
    min,
    max,
    allowedValues: [],
    maxLength: 0,
    description,
    category: key.split(".")[0]!,
  };
}
function dbl(key: string, def: number, min: number, max: number, description: string): SettingDefinition {
  return {
    key,
    type: "SETTING_TYPE_DOUBLE",
    defaultValue: { doubleValue: def },
    min,
    max,
    allowedValues: [],
    maxLength: 0,
    description,
    category: key.split(".")[0]!,
  };
}
function bool(key: string, def: boolean, description: string): SettingDefinition {
  return {
    key,
    type: "SETTING_TYPE_BOOL",
    defaultValue: { boolValue: def },
    min: 0,
    max: 0,
    allowedValues: [],
    maxLength: 0,
    description,
    category: key.split(".")[0]!,
  };
}
function oneOf(key: string, def: string, allowed: string[], description: string): SettingDefinition {
  return {
    key,
    type: "SETTING_TYPE_ENUM",
    defaultValue: { stringValue: def },
    min: 0,
    max: 0,
    allowedValues: allowed,
    maxLength: 0,
    description,
    category: key.split(".")[0]!,
  };
}
function str(key: string, def: string, maxLength: number, description: string): SettingDefinition {
  return {
    key,
    type: "SETTING_TYPE_STRING",
    defaultValue: { stringValue: def },
    min: 0,
    max: 0,
    allowedValues: [],
    maxLength,
    description,
    category: key.split(".")[0]!,
  };
}

export const SCHEMA: readonly SettingDefinition[] = [
  int("audio.master_volume", 80, 0, 100, "Overall volume, percent"),
  int("audio.music_volume", 70, 0, 100, "Music volume, percent of master"),
  int("audio.sfx_volume", 80, 0, 100, "Sound effects volume, percent of master"),
  int("audio.voice_volume", 100, 0, 100, "Dialogue volume, percent of master"),
  bool("audio.mute_when_unfocused", true, "Silence the game while its window is in the background"),
  oneOf("graphics.quality", "medium", ["low", "medium", "high", "ultra", "custom"], "Graphics quality preset"),
  int("graphics.fov", 90, 60, 120, "Horizontal field of view, degrees"),
  oneOf("graphics.window_mode", "borderless", ["fullscreen", "borderless", "windowed"], "Display mode"),
  bool("graphics.vsync", true, "Synchronise frames with the display refresh"),
  int("graphics.fps_limit", 0, 0, 360, "Frame rate cap; 0 = uncapped"),
  dbl("graphics.brightness", 1.0, 0.5, 1.5, "Brightness multiplier"),
  dbl("controls.mouse_sensitivity", 1.0, 0.1, 10, "Mouse look sensitivity multiplier"),
  bool("controls.invert_y", false, "Invert vertical look"),
  bool("controls.vibration", true, "Controller vibration"),
  oneOf("gameplay.difficulty", "normal", ["story", "normal", "hard", "nightmare"], "Combat difficulty"),
  bool("gameplay.show_tutorials", true, "Show tutorial hints"),
  oneOf("interface.language", "en", LANGUAGES, "Text and voice language"),
  bool("interface.subtitles", true, "Show subtitles for dialogue"),
  oneOf("interface.subtitle_size", "medium", ["small", "medium", "large"], "Subtitle text size"),
  dbl("interface.hud_scale", 1.0, 0.5, 2.0, "HUD size multiplier"),
  str("profile.status_message", "", 80, "Status line shown to friends"),
];

const BY_KEY = new Map(SCHEMA.map((d) => [d.key, d]));

export function definition(key: string): SettingDefinition | undefined {
  return BY_KEY.get(key);
}

export function schema(category = ""): SettingDefinition[] {
  return SCHEMA.filter((d) => !category || d.category === category);
}

const MEMBERS = ["boolValue", "intValue", "doubleValue", "stringValue"] as const;

/**
 * Check `raw` against the definition of `key`; returns the value to store, or the problem.
 * An int is accepted for a DOUBLE setting (lossless widening); every other type mismatch is rejected.
 */
export function validate(
  key: string,
  raw: Record<string, unknown> | undefined,
): { value: SettingValue } | { error: ErrorDetail } {
  const def = BY_KEY.get(key);
  const fail = (code: string, message: string) => ({ error: { code, message, field: key } });
  if (!def) return fail("UNKNOWN_KEY", `${key} is not a setting`);
  // the codec fills every oneof member of an empty SettingValue with its default: "exactly one" is the only trustworthy shape
  const set = MEMBERS.filter((m) => raw?.[m] !== undefined && raw?.[m] !== null);
  if (set.length !== 1)
    return fail("MISSING_VALUE", `${key} needs exactly one of bool_value, int_value, double_value, string_value`);
  const member = set[0]!;
  const v = raw![member];
  switch (def.type) {
    case "SETTING_TYPE_BOOL":
      return member === "boolValue" ? { value: { boolValue: v as boolean } } : fail("WRONG_TYPE", `${key} is a bool`);
    case "SETTING_TYPE_INT": {
      if (member !== "intValue") return fail("WRONG_TYPE", `${key} is an int`);
      const n = v as number;
      return n < def.min || n > def.max
        ? fail("OUT_OF_RANGE", `${key} must be between ${def.min} and ${def.max}, got ${n}`)
        : { value: { intValue: n } };
    }
    case "SETTING_TYPE_DOUBLE": {
      if (member !== "doubleValue" && member !== "intValue") return fail("WRONG_TYPE", `${key} is a double`);
      const n = v as number;
      if (!Number.isFinite(n)) return fail("OUT_OF_RANGE", `${key} must be a finite number`);
      return n < def.min || n > def.max
        ? fail("OUT_OF_RANGE", `${key} must be between ${def.min} and ${def.max}, got ${n}`)
        : { value: { doubleValue: n } };
    }
    case "SETTING_TYPE_ENUM": {
      if (member !== "stringValue") return fail("WRONG_TYPE", `${key} is one of ${def.allowedValues.join(", ")}`);
      const s = v as string;
      return def.allowedValues.includes(s)
        ? { value: { stringValue: s } }
        : fail("NOT_ALLOWED", `${key} must be one of ${def.allowedValues.join(", ")}, got "${s}"`);
    }
    case "SETTING_TYPE_STRING": {
      if (member !== "stringValue") return fail("WRONG_TYPE", `${key} is a string`);
      const s = v as string;
      const max = def.maxLength || DEFAULT_STRING_MAX;
      if ([...s].length > max) return fail("TOO_LONG", `${key} must be at most ${max} characters`);
      if (def.allowedValues.length && !def.allowedValues.includes(s))
        return fail("NOT_ALLOWED", `${key} must be one of ${def.allowedValues.join(", ")}`);
      return { value: { stringValue: s } };
    }
  }
}

export interface StoredValue {
  value: SettingValue;
  updatedAt: string;
}

export interface SettingEntry {
  key: string;
  value: SettingValue;
  isDefault: boolean;
  updatedAt?: string;
}

/**
 * The effective entry for `key`: the stored value if it still passes the current schema
 * (a narrowed range or removed enum value falls back to the default), else the default.
 */
export function effective(key: string, stored: Record<string, StoredValue>): SettingEntry {
  const def = BY_KEY.get(key)!;
  const s = stored[key];
  if (s) {
    const checked = validate(key, s.value as Record<string, unknown>);
    if ("value" in checked) return { key, value: checked.value, isDefault: false, updatedAt: s.updatedAt };
  }
  return { key, value: def.defaultValue, isDefault: true };
}

export function sameValue(a: SettingValue, b: SettingValue): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
