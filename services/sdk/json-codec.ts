// Proto3 JSON <-> protobuf, strict on input: the walker validates what protobufjs's fromObject
// would silently coerce (unknown fields, wrong types, out-of-range numbers, unknown enum names).
import protobuf from "protobufjs";

const { Type, Enum, MapField } = protobuf;
type PbType = protobuf.Type;
type PbField = protobuf.Field;

/** A value the user (or a handler) gave that does not fit the schema. `path` is `field.sub[2].x`. */
export class SchemaError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(path ? `${path}: ${problem}` : problem);
    this.name = "SchemaError";
  }
}

/** The JSON shape of a message: camelCase keys, int64 as strings, enums by name, bytes base64. */
export type JsonObject = { [key: string]: JsonValue };
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;

const INT32 = { min: -2147483648, max: 2147483647 };
const UINT32 = { min: 0, max: 4294967295 };
const INT64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n };
const UINT64 = { min: 0n, max: 2n ** 64n - 1n };

const TIMESTAMP = "google.protobuf.Timestamp";
const DURATION = "google.protobuf.Duration";

interface FieldInfo {
  field: PbField;
  json: string;
}

const fieldCache = new WeakMap<PbType, { list: FieldInfo[]; byName: Map<string, FieldInfo> }>();

/** The proto3 JSON name of a field, as protoc derives it: `input_cost_per_1k_tokens` -> `inputCostPer1kTokens`. */
export function jsonName(field: string): string {
  let out = "";
  let upper = false;
  for (const ch of field) {
    if (ch === "_") upper = true;
    else {
      out += upper ? ch.toUpperCase() : ch;
      upper = false;
    }
  }
  return out;
}

function fieldsOf(type: PbType): { list: FieldInfo[]; byName: Map<string, FieldInfo> } {
  let cached = fieldCache.get(type);
  if (!cached) {
    type.resolveAll();
    const list = type.fieldsArray.map((field) => ({ field, json: jsonName(field.name) }));
    const byName = new Map<string, FieldInfo>();
    for (const info of list) {
      byName.set(info.field.name, info);
      byName.set(info.json, info);
    }
    cached = { list, byName };
    fieldCache.set(type, cached);
  }
  return cached;
}

function fullName(t: protobuf.ReflectionObject): string {
  return t.fullName.replace(/^\./, "");
}

function join(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `"${value.length > 40 ? value.slice(0, 40) + "…" : value}"`;
  if (typeof value === "object") return "an object";
  return String(value);
}

// ---------- JSON -> protobuf ----------

/** Validate `json` against `type` and return the object protobufjs encodes. Throws SchemaError. */
export function fromJson(type: PbType, json: unknown, path = ""): Record<string, unknown> {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new SchemaError(path, `expected an object for ${fullName(type)}, got ${describe(json)}`);
  }
  const { byName, list } = fieldsOf(type);
  const out: Record<string, unknown> = {};
  const oneofSeen = new Map<string, string>();
  for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
    const info = byName.get(key);
    if (!info) {
      const known = list.map((f) => f.json).join(", ");
      throw new SchemaError(join(path, key), `unknown field in ${fullName(type)} (fields: ${known || "none"})`);
    }
    if (value === null || value === undefined) continue; // proto3 JSON: null means default
    const { field } = info;
    if (field.partOf && field.partOf.oneof.length > 1) {
      const other = oneofSeen.get(field.partOf.name);
      if (other) throw new SchemaError(join(path, key), `only one of ${field.partOf.oneof.join(", ")} may be set (also got ${other})`);
      oneofSeen.set(field.partOf.name, key);
    }
    out[field.name] = fieldFromJson(field, value, join(path, info.json));
  }
  return out;
}

function fieldFromJson(field: PbField, value: unknown, path: string): unknown {
  if (field instanceof MapField) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new SchemaError(path, `expected an object (map<${field.keyType}, ${field.type}>), got ${describe(value)}`);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      scalarFromJson(field.keyType, k, join(path, k), true);
      out[k] = singleFromJson(field, v, join(path, k));
    }
    return out;
  }
  if (field.repeated) {
    if (!Array.isArray(value)) throw new SchemaError(path, `expected an array, got ${describe(value)}`);
    return value.map((v, i) => singleFromJson(field, v, join(path, i)));
  }
  return singleFromJson(field, value, path);
}

function singleFromJson(field: PbField, value: unknown, path: string): unknown {
  const rt = field.resolvedType;
  if (rt instanceof Type) {
    const name = fullName(rt);
    if (name === TIMESTAMP) return timestampFromJson(value, path);
    if (name === DURATION) return durationFromJson(value, path);
    return fromJson(rt, value, path);
  }
  if (rt instanceof Enum) return enumFromJson(rt, value, path);
  return scalarFromJson(field.type, value, path, false);
}

function enumFromJson(en: protobuf.Enum, value: unknown, path: string): number {
  if (typeof value === "string") {
    const n = en.values[value];
    if (n === undefined) {
      throw new SchemaError(path, `unknown ${fullName(en)} value ${describe(value)} (one of: ${Object.keys(en.values).join(", ")})`);
    }
    return n;
  }
  if (typeof value === "number" && Number.isInteger(value) && value >= INT32.min && value <= INT32.max) return value;
  throw new SchemaError(path, `expected a ${fullName(en)} name, got ${describe(value)}`);
}

function scalarFromJson(type: string, value: unknown, path: string, isMapKey: boolean): unknown {
  switch (type) {
    case "string":
      if (typeof value !== "string") throw new SchemaError(path, `expected a string, got ${describe(value)}`);
      return value;
    case "bool":
      if (typeof value === "boolean") return value;
      if (isMapKey && (value === "true" || value === "false")) return value === "true";
      throw new SchemaError(path, `expected true or false, got ${describe(value)}`);
    case "bytes": {
      if (typeof value !== "string" || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) {
        throw new SchemaError(path, `expected base64 bytes, got ${describe(value)}`);
      }
      return Buffer.from(value, value.includes("-") || value.includes("_") ? "base64url" : "base64");
    }
    case "double":
    case "float": {
      if (typeof value === "number") return value;
      if (value === "NaN") return NaN;
      if (value === "Infinity") return Infinity;
      if (value === "-Infinity") return -Infinity;
      if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
      throw new SchemaError(path, `expected a number, got ${describe(value)}`);
    }
    case "int32":
    case "sint32":
    case "sfixed32":
      return int32FromJson(value, path, INT32, type);
    case "uint32":
    case "fixed32":
      return int32FromJson(value, path, UINT32, type);
    case "int64":
    case "sint64":
    case "sfixed64":
      return int64FromJson(value, path, INT64, type);
    case "uint64":
    case "fixed64":
      return int64FromJson(value, path, UINT64, type);
    default:
      throw new SchemaError(path, `unsupported type ${type}`);
  }
}

function int32FromJson(value: unknown, path: string, range: { min: number; max: number }, type: string): number {
  const n = typeof value === "string" && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n)) throw new SchemaError(path, `expected an integer (${type}), got ${describe(value)}`);
  if (n < range.min || n > range.max) throw new SchemaError(path, `${n} is out of range for ${type} (${range.min}..${range.max})`);
  return n;
}

function int64FromJson(value: unknown, path: string, range: { min: bigint; max: bigint }, type: string): string {
  let n: bigint;
  if (typeof value === "number" && Number.isInteger(value)) n = BigInt(value);
  else if (typeof value === "string" && /^-?\d+$/.test(value.trim())) n = BigInt(value.trim());
  else throw new SchemaError(path, `expected an integer (${type}) as a number or decimal string, got ${describe(value)}`);
  if (n < range.min || n > range.max) throw new SchemaError(path, `${n} is out of range for ${type}`);
  return n.toString(); // protobufjs's fromObject parses decimal strings into Longs
}

function timestampFromJson(value: unknown, path: string): { seconds: string; nanos: number } {
  if (typeof value !== "string") throw new SchemaError(path, `expected an RFC 3339 timestamp string, got ${describe(value)}`);
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(value);
  const ms = m ? Date.parse(`${m[1]}${m[3]}`) : NaN;
  if (!m || Number.isNaN(ms)) throw new SchemaError(path, `expected an RFC 3339 timestamp like 2025-11-13T10:00:00Z, got ${describe(value)}`);
  return { seconds: String(Math.floor(ms / 1000)), nanos: Number((m[2] ?? "").padEnd(9, "0")) };
}

function durationFromJson(value: unknown, path: string): { seconds: string; nanos: number } {
  const m = typeof value === "string" ? /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(value) : null;
  if (!m) throw new SchemaError(path, `expected a duration like "1.5s", got ${describe(value)}`);
  const sign = m[1] ? -1 : 1;
  return { seconds: String(sign * Number(m[2])), nanos: sign * Number((m[3] ?? "").padEnd(9, "0")) };
}

// ---------- protobuf -> JSON ----------

export interface ToJsonOptions {
  /** Emit scalar fields at their default value (proto3 JSON omits them). Default true: handlers and people see the full shape. */
  defaults?: boolean;
}

/** Convert a decoded message into its proto3 JSON form. */
export function toJson(type: PbType, message: Record<string, unknown>, opts: ToJsonOptions = {}): JsonObject {
  const defaults = opts.defaults ?? true;
  const out: JsonObject = {};
  for (const { field, json } of fieldsOf(type).list) {
    const value = message[field.name];
    // oneof members (proto3 `optional` fields too) exist only when set: decode makes them own
    // properties, while unset ones would show the prototype's default
    if (field.partOf && (!Object.prototype.hasOwnProperty.call(message, field.name) || value === undefined || value === null)) continue;
    if (field instanceof MapField) {
      const obj: JsonObject = {};
      for (const [k, v] of Object.entries((value as Record<string, unknown>) ?? {})) obj[k] = singleToJson(field, v, opts);
      if (defaults || Object.keys(obj).length) out[json] = obj;
    } else if (field.repeated) {
      const arr = ((value as unknown[]) ?? []).map((v) => singleToJson(field, v, opts));
      if (defaults || arr.length) out[json] = arr;
    } else if (value === undefined || value === null) {
      if (field.resolvedType instanceof Type) continue; // unset message: absent
      if (defaults) out[json] = defaultJson(field);
    } else {
      const v = singleToJson(field, value, opts);
      if (defaults || !isDefaultJson(field, v)) out[json] = v;
    }
  }
  return out;
}

function defaultJson(field: PbField): JsonValue {
  const rt = field.resolvedType;
  if (rt instanceof Enum) return rt.valuesById[0] ?? 0;
  switch (field.type) {
    case "string":
    case "bytes":
      return "";
    case "bool":
      return false;
    case "int64":
    case "uint64":
    case "sint64":
    case "fixed64":
    case "sfixed64":
      return "0";
    default:
      return 0;
  }
}

function isDefaultJson(field: PbField, v: JsonValue): boolean {
  return !(field.resolvedType instanceof Type) && v === defaultJson(field);
}

function singleToJson(field: PbField, value: unknown, opts: ToJsonOptions): JsonValue {
  const rt = field.resolvedType;
  if (rt instanceof Type) {
    const name = fullName(rt);
    const m = value as { seconds?: unknown; nanos?: number };
    if (name === TIMESTAMP) return timestampToJson(m);
    if (name === DURATION) return durationToJson(m);
    return toJson(rt, value as Record<string, unknown>, opts);
  }
  if (rt instanceof Enum) return rt.valuesById[value as number] ?? (value as number);
  switch (field.type) {
    case "bytes":
      return Buffer.from(value as Uint8Array).toString("base64");
    case "int64":
    case "uint64":
    case "sint64":
    case "fixed64":
    case "sfixed64":
      return longToString(value, field.type.startsWith("u") || field.type === "fixed64");
    case "double":
    case "float": {
      const n = value as number;
      if (Number.isNaN(n)) return "NaN";
      if (!Number.isFinite(n)) return n > 0 ? "Infinity" : "-Infinity";
      return n;
    }
    default:
      return value as JsonValue;
  }
}

function longToString(value: unknown, unsigned: boolean): string {
  if (typeof value === "number") return String(value);
  if (typeof value === "string") return value;
  const l = value as { low: number; high: number };
  const big = (BigInt(l.high >>> 0) << 32n) | BigInt(l.low >>> 0);
  return (unsigned ? big : BigInt.asIntN(64, big)).toString();
}

function timestampToJson(m: { seconds?: unknown; nanos?: number }): string {
  const seconds = Number(longToString(m.seconds ?? 0, false));
  const iso = new Date(seconds * 1000).toISOString().replace(".000Z", "");
  const nanos = m.nanos ?? 0;
  if (!nanos) return iso.endsWith("Z") ? iso : `${iso}Z`;
  const frac = String(nanos).padStart(9, "0").replace(/(\d{3})(0{3}){1,2}$|0+$/, (all, keep) => keep ?? "");
  return `${iso.replace(/Z$/, "")}.${frac}Z`;
}

function durationToJson(m: { seconds?: unknown; nanos?: number }): string {
  const seconds = BigInt(longToString(m.seconds ?? 0, false));
  const nanos = m.nanos ?? 0;
  const neg = seconds < 0n || nanos < 0;
  const abs = (seconds < 0n ? -seconds : seconds).toString();
  const frac = nanos ? "." + String(Math.abs(nanos)).padStart(9, "0").replace(/0+$/, "") : "";
  return `${neg ? "-" : ""}${abs}${frac}s`;
}

// ---------- bytes ----------

/** JSON -> wire bytes, validating first. */
export function encodeJson(type: PbType, json: unknown): Uint8Array {
  const plain = fromJson(type, json);
  return type.encode(type.fromObject(plain)).finish();
}

/** Wire bytes -> JSON. Throws SchemaError for bytes that are not a valid message of `type`. */
export function decodeToJson(type: PbType, bytes: Uint8Array, opts?: ToJsonOptions): JsonObject {
  let message: protobuf.Message;
  try {
    message = type.decode(bytes);
  } catch (err) {
    throw new SchemaError("", `not a valid ${fullName(type)} message: ${(err as Error).message}`);
  }
  return toJson(type, message as unknown as Record<string, unknown>, opts);
}
