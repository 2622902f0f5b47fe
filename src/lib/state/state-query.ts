// What `gs kv ls|get|history` answer, as data (each command's --json contract): keys, the current
// value of a key, and the revisions a store kept. An unknown or deleted key is bad input (exit 2).
import { closestNames } from "@gs/fleet/sdk/closest-names";
import type { JsonValue } from "@gs/fleet/sdk/json-codec";
import { encodeKey } from "@gs/fleet/sdk/state";
import { UsageError } from "../output/errors.js";
import type { StateEntry, StateReader } from "./state-reader.js";
import { describeStateSource, type StateBackend } from "./state-source.js";

export interface KvStoreJson {
  service: string;
  backend: StateBackend;
  /** e.g. "JetStream KV bucket gs_payment" (never a Redis password) */
  store: string;
}

export interface KvEntryJson {
  revision: number;
  /** ISO 8601; absent on Redis, which does not record it */
  time?: string;
  operation: "PUT" | "DEL" | "PURGE";
  /** the stored JSON, secrets redacted (PUT only) */
  value?: JsonValue;
  /** the fields replaced by "[redacted]", as paths (`password`, `items[0].token`) */
  redacted?: string[];
  /** a value that is not JSON (not written through the SDK), undecoded */
  bytes?: { hex: string; base64: string; error: string };
}

export interface KvLsResult extends KvStoreJson {
  prefix?: string;
  keys: string[];
}

export interface KvGetResult extends KvStoreJson, KvEntryJson {
  key: string;
}

export interface KvHistoryResult extends KvStoreJson {
  key: string;
  /** false on Redis: `entries` then holds only the current revision */
  historyKept: boolean;
  /** oldest first */
  entries: KvEntryJson[];
}

function storeJson(reader: StateReader): KvStoreJson {
  return { service: reader.source.service, backend: reader.source.backend, store: describeStateSource(reader.source) };
}

/** A key (or prefix) the SDK could never have written is refused before anything is read. */
export function checkKey(key: string, what = "key"): void {
  try {
    encodeKey(key);
  } catch (err) {
    throw new UsageError(`bad ${what} "${key.slice(0, 80)}": ${(err as Error).message}`, undefined, "bad_key");
  }
}

export async function listKeys(reader: StateReader, prefix?: string): Promise<KvLsResult> {
  if (prefix !== undefined) checkKey(prefix, "prefix");
  const keys = await reader.keys(prefix);
  return { ...storeJson(reader), ...(prefix !== undefined ? { prefix } : {}), keys };
}

export async function getKey(reader: StateReader, key: string): Promise<KvGetResult> {
  checkKey(key);
  const e = await reader.latest(key);
  if (!e) throw await unknownKey(reader, key);
  if (e.operation !== "PUT")
    throw new UsageError(
      `${reader.source.service} key "${key}" was ${e.operation === "DEL" ? "deleted" : "purged"} at revision ${e.revision}${e.time ? ` (${e.time})` : ""}`,
      `\`gs kv history ${reader.source.service} ${key}\` shows the revisions kept before`,
      "deleted_key",
    );
  return { ...storeJson(reader), key, ...entryJson(e) };
}

export async function keyHistory(reader: StateReader, key: string): Promise<KvHistoryResult> {
  checkKey(key);
  const entries = await reader.history(key);
  if (entries.length === 0) throw await unknownKey(reader, key);
  return { ...storeJson(reader), key, historyKept: reader.keepsHistory, entries: entries.map(entryJson) };
}

export function entryJson(e: StateEntry): KvEntryJson {
  const out: KvEntryJson = { revision: e.revision, ...(e.time ? { time: e.time } : {}), operation: e.operation };
  if (e.value && "json" in e.value) {
    out.value = e.value.json;
    if (e.value.redacted.length) out.redacted = e.value.redacted;
  } else if (e.value) out.bytes = e.value;
  return out;
}

/** `payment has no key "wallet.p9" (did you mean wallet.p1?)`: suggestions from the keys beside it. */
async function unknownKey(reader: StateReader, key: string): Promise<UsageError> {
  const service = reader.source.service;
  const first = key.split(".")[0]!;
  // keys under the same first token: a store may hold many keys, its one group of them fewer
  const near = key.includes(".") ? await reader.keys(first) : await reader.keys();
  const close = closestNames(key, near);
  return new UsageError(
    `${service} has no key "${key.slice(0, 200)}"${close.length ? ` (did you mean ${close.join(", ")}?)` : ""}`,
    `\`gs kv ls ${service}${key.includes(".") ? ` --prefix ${first}` : ""}\` lists its keys`,
    "unknown_key",
  );
}
