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

  /** The same problem, one level further out (paths are built only when something is wrong). */
  under(key: string | number): SchemaError {
    const path =
      typeof key === "number"
        ? `[${key}]${this.path.startsWith("[") || !this.path ? "" : "."}${this.path}`
        : this.path
          ? this.path.startsWith("[")
            ? `${key}${this.path}`
            : `${key}.${this.path}`
          : key;
    return new SchemaError(path, this.problem);
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

type Kind = "message" | "timestamp" | "duration" | "enum" | "scalar";

/** What the walkers need about a field, computed once per type (reflection getters are slow). */
interface FieldInfo {
  field: PbField;
  json: string;
  kind: Kind;
  message?: PbType;
  enumType?: protobuf.Enum;
  map: boolean;
  repeated: boolean;
  /** name of the real (multi-member) oneof it belongs to */
  oneof?: string;
  /** any oneof, proto3 `optional` included: present only when set */
  inOneof: boolean;
}

interface TypeInfo {
  name: string;
  list: FieldInfo[];
  byName: Map<string, FieldInfo>;
}

const typeCache = new WeakMap<PbType, TypeInfo>();

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

function typeInfo(type: PbType): TypeInfo {
  let cached = typeCache.get(type);
  if (!cached) {
    type.resolveAll();
    const list = type.fieldsArray.map((field): FieldInfo => {
      const rt = field.resolvedType;
      const rtName = rt ? fullName(rt) : "";
      const kind: Kind =
        rt instanceof Type
          ? rtName === TIMESTAMP
            ? "timestamp"
            : rtName === DURATION
              ? "duration"
              : "message"
          : rt instanceof Enum
            ? "enum"
            : "scalar";
      return {
        field,
        json: jsonName(field.name),
        kind,
        message: kind === "message" ? (rt as PbType) : undefined,
        enumType: rt instanceof Enum ? rt : undefined,
        map: field instanceof MapField,
        repeated: field.repeated,
        oneof: field.partOf && field.partOf.oneof.length > 1 ? field.partOf.name : undefined,
        inOneof: Boolean(field.partOf),
      };
    });
    const byName = new Map<string, FieldInfo>();
    for (const info of list) {
      byName.set(info.field.name, info);
      byName.set(info.json, info);
    }
    cached = { name: fullName(type), list, byName };
    typeCache.set(type, cached);
  }
  return cached;
}

function fullName(t: protobuf.ReflectionObject): string {
  return t.fullName.replace(/^\./, "");
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
export function fromJson(type: PbType, json: unknown): Record<string, unknown> {
  return messageFromJson(typeInfo(type), json);
}

function messageFromJson(t: TypeInfo, json: unknown): Record<string, unknown> {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new SchemaError("", `expected an object for ${t.name}, got ${describe(json)}`);
  }
  const out: Record<string, unknown> = {};
  let oneofSeen: Map<string, string> | undefined;
  const obj = json as Record<string, unknown>;
  for (const key in obj) {
    const info = t.byName.get(key);
    if (!info) {
      throw new SchemaError(
        key,
        `unknown field in ${t.name} (fields: ${t.list.map((f) => f.json).join(", ") || "none"})`,
      );
    }
    const value = obj[key];
    if (value === null || value === undefined) continue; // proto3 JSON: null means default
    if (info.oneof) {
      oneofSeen ??= new Map();
      const other = oneofSeen.get(info.oneof);
      if (other)
        throw new SchemaError(key, `only one of ${info.field.partOf!.oneof.join(", ")} may be set (also got ${other})`);
      oneofSeen.set(info.oneof, key);
    }
    try {
      out[info.field.name] = fieldFromJson(info, value);
    } catch (err) {
      throw err instanceof SchemaError ? err.under(info.json) : err;
    }
  }
  return out;
}

function fieldFromJson(info: FieldInfo, value: unknown): unknown {
  if (info.map) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      const f = info.field as unknown as protobuf.MapField;
      throw new SchemaError("", `expected an object (map<${f.keyType}, ${f.type}>), got ${describe(value)}`);
    }
    const out: Record<string, unknown> = {};
    const keyType = (info.field as unknown as protobuf.MapField).keyType;
    for (const k in value) {
      try {
        scalarFromJson(keyType, k, true);
        out[k] = singleFromJson(info, (value as Record<string, unknown>)[k]);
      } catch (err) {
        throw err instanceof SchemaError ? err.under(k) : err;
      }
    }
    return out;
  }
  if (info.repeated) {
    if (!Array.isArray(value)) throw new SchemaError("", `expected an array, got ${describe(value)}`);
    const out = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      try {
        out[i] = singleFromJson(info, value[i]);
      } catch (err) {
        throw err instanceof SchemaError ? err.under(i) : err;
      }
    }
    return out;
  }
  return singleFromJson(info, value);
}

function singleFromJson(info: FieldInfo, value: unknown): unknown {
  switch (info.kind) {
    case "message":
      return messageFromJson(typeInfo(info.message!), value);
    case "timestamp":
      return timestampFromJson(value);
    case "duration":
      return durationFromJson(value);
    case "enum":
      return enumFromJson(info.enumType!, value);
    default:
      return scalarFromJson(info.field.type, value, false);
  }
}

function enumFromJson(en: protobuf.Enum, value: unknown): number {
  if (typeof value === "string") {
    const n = en.values[value];
    if (n === undefined) {
      throw new SchemaError(
        "",
        `unknown ${fullName(en)} value ${describe(value)} (one of: ${Object.keys(en.values).join(", ")})`,
      );
    }
    return n;
  }
  if (typeof value === "number" && Number.isInteger(value) && value >= INT32.min && value <= INT32.max) return value;
  throw new SchemaError("", `expected a ${fullName(en)} name, got ${describe(value)}`);
}

function scalarFromJson(type: string, value: unknown, isMapKey: boolean): unknown {
  switch (type) {
    case "string":
      if (typeof value !== "string") throw new SchemaError("", `expected a string, got ${describe(value)}`);
      return value;
    case "bool":
      if (typeof value === "boolean") return value;
      if (isMapKey && (value === "true" || value === "false")) return value === "true";
      throw new SchemaError("", `expected true or false, got ${describe(value)}`);
    case "bytes": {
      if (typeof value !== "string" || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) {
        throw new SchemaError("", `expected base64 bytes, got ${describe(value)}`);
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
      throw new SchemaError("", `expected a number, got ${describe(value)}`);
    }
    case "int32":
    case "sint32":
    case "sfixed32":
      return int32FromJson(value, INT32, type);
    case "uint32":
    case "fixed32":
      return int32FromJson(value, UINT32, type);
    case "int64":
    case "sint64":
    case "sfixed64":
      return int64FromJson(value, INT64, type);
    case "uint64":
    case "fixed64":
      return int64FromJson(value, UINT64, type);
    default:
      throw new SchemaError("", `unsupported type ${type}`);
  }
}

function int32FromJson(value: unknown, range: { min: number; max: number }, type: string): number {
  const n = typeof value === "string" && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n))
    throw new SchemaError("", `expected an integer (${type}), got ${describe(value)}`);
  if (n < range.min || n > range.max)
    throw new SchemaError("", `${n} is out of range for ${type} (${range.min}..${range.max})`);
  return n;
}

function int64FromJson(value: unknown, range: { min: bigint; max: bigint }, type: string): string {
  let n: bigint;
  if (typeof value === "number" && Number.isInteger(value)) n = BigInt(value);
  else if (typeof value === "string" && /^-?\d+$/.test(value.trim())) n = BigInt(value.trim());
  else throw new SchemaError("", `expected an integer (${type}) as a number or decimal string, got ${describe(value)}`);
  if (n < range.min || n > range.max) throw new SchemaError("", `${n} is out of range for ${type}`);
  return n.toString(); // protobufjs's fromObject parses decimal strings into Longs
}

function timestampFromJson(value: unknown): { seconds: string; nanos: number } {
  if (typeof value !== "string")
    throw new SchemaError("", `expected an RFC 3339 timestamp string, got ${describe(value)}`);
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(value);
  const ms = m ? Date.parse(`${m[1]}${m[3]}`) : NaN;
  if (!m || Number.isNaN(ms))
    throw new SchemaError("", `expected an RFC 3339 timestamp like 2025-11-13T10:00:00Z, got ${describe(value)}`);
  return { seconds: String(Math.floor(ms / 1000)), nanos: Number((m[2] ?? "").padEnd(9, "0")) };
}

function durationFromJson(value: unknown): { seconds: string; nanos: number } {
  const m = typeof value === "string" ? /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(value) : null;
  if (!m) throw new SchemaError("", `expected a duration like "1.5s", got ${describe(value)}`);
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
  return messageToJson(typeInfo(type), message, opts.defaults ?? true);
}

function messageToJson(t: TypeInfo, message: Record<string, unknown>, defaults: boolean): JsonObject {
  const out: JsonObject = {};
  for (const info of t.list) {
    const name = info.field.name;
    const value = message[name];
    const json = info.json;
    // oneof members (proto3 `optional` fields too) exist only when set: decode makes them own
    // properties, while unset ones would show the prototype's default
    if (info.inOneof && (value === undefined || value === null || !Object.prototype.hasOwnProperty.call(message, name)))
      continue;
    if (info.map) {
      const obj: JsonObject = {};
      const m = (value as Record<string, unknown>) ?? {};
      for (const k in m) obj[k] = singleToJson(info, m[k], defaults);
      if (defaults || Object.keys(obj).length) out[json] = obj;
    } else if (info.repeated) {
      const src = (value as unknown[]) ?? [];
      const arr = new Array<JsonValue>(src.length);
      for (let i = 0; i < src.length; i++) arr[i] = singleToJson(info, src[i], defaults);
      if (defaults || arr.length) out[json] = arr;
    } else if (value === undefined || value === null) {
      if (info.kind === "message" || info.kind === "timestamp" || info.kind === "duration") continue; // unset message: absent
      if (defaults) out[json] = defaultJson(info.field);
    } else {
      const v = singleToJson(info, value, defaults);
      // a set oneof member (or proto3 `optional` field) is printed even at its default: being set is the information
      if (defaults || info.inOneof || !isDefaultJson(info.field, v)) out[json] = v;
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

function singleToJson(info: FieldInfo, value: unknown, defaults: boolean): JsonValue {
  const field = info.field;
  switch (info.kind) {
    case "message":
      return messageToJson(typeInfo(info.message!), value as Record<string, unknown>, defaults);
    case "timestamp":
      return timestampToJson(value as { seconds?: unknown; nanos?: number });
    case "duration":
      return durationToJson(value as { seconds?: unknown; nanos?: number });
    case "enum":
      return info.enumType!.valuesById[value as number] ?? (value as number);
  }
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
  const frac = String(nanos)
    .padStart(9, "0")
    .replace(/(\d{3})(0{3}){1,2}$|0+$/, (all, keep) => keep ?? "");
  return `${iso.replace(/Z$/, "")}.${frac}Z`;
}

function durationToJson(m: { seconds?: unknown; nanos?: number }): string {
  const seconds = BigInt(longToString(m.seconds ?? 0, false));
  const nanos = m.nanos ?? 0;
  const neg = seconds < 0n || nanos < 0;
  const abs = (seconds < 0n ? -seconds : seconds).toString();
  // 0, 3, 6 or 9 fractional digits, as the proto3 JSON mapping prints them
  const frac = nanos
    ? "." +
      String(Math.abs(nanos))
        .padStart(9, "0")
        .replace(/(\d{3})(0{3}){1,2}$/, "$1")
    : "";
  return `${neg ? "-" : ""}${abs}${frac}s`;
}

// ---------- bytes ----------

/** JSON -> wire bytes, validating first. */
export function encodeJson(type: PbType, json: unknown): Uint8Array {
  // fromJson's output is what encode takes (numbers, Buffers, int64 as decimal strings): no fromObject pass
  return type.encode(fromJson(type, json)).finish();
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
