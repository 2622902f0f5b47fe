// An example JSON request for a message type, generated from its schema (for `gs subjects`).
import protobuf from "protobufjs";
import { jsonName, type JsonObject, type JsonValue } from "@gs/fleet/sdk/json-codec";

const SAMPLE_TIME = "2025-11-13T10:00:00Z";

export function exampleJson(type: protobuf.Type, depth = 0): JsonObject {
  const out: JsonObject = {};
  const seenOneofs = new Set<string>();
  for (const field of type.fieldsArray) {
    field.resolve();
    if (field.partOf && field.partOf.oneof.length > 1) {
      if (seenOneofs.has(field.partOf.name)) continue;
      seenOneofs.add(field.partOf.name);
    }
    const key = jsonName(field.name);
    if (field instanceof protobuf.MapField) {
      out[key] = { [field.keyType === "string" ? "key" : "1"]: sample(field, depth) };
    } else if (field.repeated) {
      if (field.resolvedType instanceof protobuf.Type && depth >= 2) continue;
      out[key] = [sample(field, depth)];
    } else {
      if (field.resolvedType instanceof protobuf.Type && depth >= 3) continue;
      out[key] = sample(field, depth);
    }
  }
  return out;
}

function sample(field: protobuf.Field, depth: number): JsonValue {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) {
    const name = rt.fullName.slice(1);
    if (name === "google.protobuf.Timestamp") return SAMPLE_TIME;
    if (name === "google.protobuf.Duration") return "30s";
    return exampleJson(rt, depth + 1);
  }
  if (rt instanceof protobuf.Enum) {
    const names = Object.keys(rt.values);
    return names.find((n) => !n.endsWith("_UNSPECIFIED")) ?? names[0] ?? 0;
  }
  const name = field.name.toLowerCase();
  switch (field.type) {
    case "string":
      if (name.endsWith("_id") || name === "id") return `${name.replace(/_id$/, "") || "id"}-1`;
      if (name.includes("locale")) return "en-US";
      if (name.includes("currency")) return "EUR";
      if (name.includes("email")) return "player@example.com";
      if (name.includes("password")) return "correct-horse-battery";
      return name.replace(/_/g, "-");
    case "bool":
      return true;
    case "bytes":
      return Buffer.from("hello").toString("base64");
    case "int64":
    case "uint64":
    case "sint64":
    case "fixed64":
    case "sfixed64":
      return "100";
    case "double":
    case "float":
      return 1.5;
    default:
      return 1;
  }
}
