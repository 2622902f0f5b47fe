// settings: per-player settings validated against a typed schema with defaults (domain.ts).
// State: player.<playerId> = { values: { <key>: { value, updatedAt } } } — one record per player, so a
// SetSettings of many keys is one conditional write: all or nothing, also across instances.
// Env: none.
import { badRequest } from "../sdk/errors.js";
import { defineService, ServiceBase, type RpcHandlers } from "../sdk/runtime.js";
import {
  SCHEMA,
  SCHEMA_VERSION,
  definition,
  effective,
  sameValue,
  schema,
  validate,
  type ErrorDetail,
  type SettingValue,
  type StoredValue,
} from "./domain.js";
import type {
  GetSchemaRequest,
  GetSchemaResponse,
  GetSettingsRequest,
  GetSettingsResponse,
  ResetSettingsRequest,
  ResetSettingsResponse,
  SetSettingsRequest,
  SetSettingsResponse,
  SettingChange,
  SettingsServiceRpcs,
} from "../generated/settings/v1/settings.js";

// ---- state ----
interface PlayerSettings {
  values: Record<string, StoredValue>;
}
const playerKey = (playerId: string) => `player.${playerId}`;

function requirePlayer(playerId: string): string {
  const id = playerId.trim();
  if (!id) throw badRequest("player_id is required");
  if (id.length > 128) throw badRequest("player_id must be at most 128 characters");
  return id;
}

/** Known keys only; an unknown key in a read or reset is the caller's mistake. */
function requireKeys(keys: string[]): string[] {
  const unknown = keys.filter((k) => !definition(k));
  if (unknown.length) throw badRequest(`unknown setting keys: ${unknown.join(", ")} (GetSchema lists them)`);
  return keys.length ? [...new Set(keys)] : SCHEMA.map((d) => d.key);
}

class Settings extends ServiceBase implements RpcHandlers<SettingsServiceRpcs> {
  private readonly publish = (name: string, data: unknown) =>
    this.ctx.events
      .publish(name, data)
      .catch((err: Error) => this.ctx.log.warn("event not published", { event: name, err: err.message }));
  private readonly load = async (playerId: string) =>
    (await this.ctx.state.get<PlayerSettings>(playerKey(playerId)))?.value.values ?? {};

  GetSchema(req: GetSchemaRequest): GetSchemaResponse {
    return { definitions: schema(req.category.trim()), schemaVersion: SCHEMA_VERSION };
  }

  async GetSettings(req: GetSettingsRequest): Promise<GetSettingsResponse> {
    const playerId = requirePlayer(req.playerId);
    const keys = requireKeys(req.keys);
    const stored = await this.load(playerId);
    return { playerId, settings: keys.map((k) => effective(k, stored)) };
  }

  async SetSettings(req: SetSettingsRequest): Promise<SetSettingsResponse> {
    const playerId = requirePlayer(req.playerId);
    const keys = Object.keys(req.values);
    if (!keys.length) throw badRequest("values is empty: give at least one key");
    const valid = new Map<string, SettingValue>();
    const errors: ErrorDetail[] = [];
    for (const key of keys) {
      const r = validate(key, { ...req.values[key] });
      if ("error" in r) errors.push(r.error);
      else valid.set(key, r.value);
    }
    if (errors.length) {
      const stored = await this.load(playerId);
      return {
        playerId,
        applied: false,
        settings: keys.filter((k) => definition(k)).map((k) => effective(k, stored)),
        errors,
      };
    }

    const now = new Date().toISOString();
    let changes: SettingChange[] = [];
    const saved = await this.ctx.state.update<PlayerSettings>(playerKey(playerId), (cur) => {
      const values = { ...(cur?.values ?? {}) };
      changes = []; // recomputed on each retry against the record actually written
      for (const [key, value] of valid) {
        const before = effective(key, values);
        if (!before.isDefault && sameValue(before.value, value)) continue; // unchanged: keep its updatedAt
        values[key] = { value, updatedAt: now };
        if (!sameValue(before.value, value)) changes.push({ key, oldValue: before.value, newValue: value });
      }
      return { values };
    });
    if (changes.length) await this.publish("SettingsChangedEvent", { playerId, changes, at: now });
    return { playerId, applied: true, settings: keys.map((k) => effective(k, saved.value.values)), errors: [] };
  }

  async ResetSettings(req: ResetSettingsRequest): Promise<ResetSettingsResponse> {
    const playerId = requirePlayer(req.playerId);
    const keys = requireKeys(req.keys);
    let removed = 0;
    const saved = await this.ctx.state.update<PlayerSettings>(playerKey(playerId), (cur) => {
      const values = { ...(cur?.values ?? {}) };
      removed = 0;
      for (const k of keys) if (k in values && delete values[k]) removed++;
      return { values };
    });
    if (removed)
      await this.publish("SettingsResetEvent", {
        playerId,
        keys: req.keys.length ? keys : [],
        at: new Date().toISOString(),
      });
    return { playerId, settings: keys.map((k) => effective(k, saved.value.values)) };
  }
}

export default defineService({
  name: "settings",
  description: "Per-player settings with a typed schema and defaults",
  start: (ctx) => new Settings(ctx),
});
