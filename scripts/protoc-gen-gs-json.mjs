#!/usr/bin/env node
// A protoc/buf plugin (built on @bufbuild/protoplugin) that writes the TypeScript types of the proto3
// JSON form the service SDK hands handlers (services/sdk/json-codec.ts, decodeToJson with defaults):
// scalars, repeated and map fields always present; message fields, oneof members and proto3
// `optional` fields present only when set; int64 and bytes (base64) as strings; enums by name;
// Timestamp and Duration as their RFC 3339 / "1.5s" strings. Why not protoc-gen-es or ts-proto:
// docs/generated-types.md.
import { ScalarType } from "@bufbuild/protobuf";
import { createEcmaScriptPlugin, getComments, runNodeJs } from "@bufbuild/protoplugin";

// the only well-known types the SDK codec gives a JSON form of their own (json-codec.ts); every other
// message, google.protobuf ones included, is an object of its fields
const AS_STRING = new Set(["google.protobuf.Timestamp", "google.protobuf.Duration"]);

const plugin = createEcmaScriptPlugin({
  name: "protoc-gen-gs-json",
  version: "v1",
  generateTs(schema) {
    for (const file of schema.files) {
      const f = schema.generateFile(`${file.name}.ts`);
      f.preamble(file);
      f.print("// The proto3 JSON form of each message as handlers receive it (scripts/protoc-gen-gs-json.mjs).");
      f.print("// Do not edit: `npm run build` regenerates this file from proto/.");
      for (const en of file.enums) printEnum(f, en);
      for (const msg of file.messages) printMessage(f, msg);
      for (const svc of file.services) printService(f, svc);
    }
  },
});

function comment(f, desc, indent = "") {
  const text = getComments(desc).leading?.trim();
  if (!text) return;
  const lines = text
    .replace(/\*\//g, "*\\/")
    .split("\n")
    .map((l) => l.trim());
  f.print(indent, "/** ", lines.join(`\n${indent} * `), " */");
}

/** `Outer.Inner` -> `Outer_Inner`, the name a nested type gets at the top level of the file. */
function localName(desc) {
  return desc.typeName.slice(desc.file.proto.package ? desc.file.proto.package.length + 1 : 0).replace(/\./g, "_");
}

/** A reference to an enum or message type: local, or imported from the file generated for its .proto. */
function ref(f, from, desc) {
  if (desc.file === from.file) return localName(desc);
  if (desc.typeName.startsWith("google.protobuf."))
    throw new Error(`${from.typeName}: ${desc.typeName} has no JSON form in the SDK codec (json-codec.ts)`);
  return f.import(localName(desc), `./${desc.file.name}.js`, true);
}

function printEnum(f, en) {
  f.print();
  comment(f, en);
  f.print(f.export("type", localName(en)), " =");
  en.values.forEach((v, i) => f.print(`  | "${v.name}"`, i === en.values.length - 1 ? ";" : ""));
}

function printMessage(f, msg) {
  if (msg.proto.options?.mapEntry) return;
  for (const en of msg.nestedEnums) printEnum(f, en);
  for (const nested of msg.nestedMessages) printMessage(f, nested);
  f.print();
  comment(f, msg);
  f.print(f.export("interface", localName(msg)), " {");
  for (const field of msg.fields) {
    comment(f, field, "  ");
    // an unset message (Timestamp and Duration too) is absent, not a default object
    const optional = field.oneof !== undefined || field.proto.proto3Optional || field.fieldKind === "message";
    f.print("  ", field.jsonName, optional ? "?: " : ": ", ...fieldType(f, msg, field), ";");
  }
  f.print("}");
}

function fieldType(f, msg, field) {
  switch (field.fieldKind) {
    case "scalar":
      return [scalarType(field.scalar)];
    case "enum":
      return [ref(f, msg, field.enum)];
    case "message":
      return [singleType(f, msg, field.message)];
    case "list":
      return [...listItem(f, msg, field), "[]"];
    case "map":
      return ["{ [key: string]: ", ...mapValue(f, msg, field), " }"];
  }
  throw new Error(`${msg.typeName}.${field.name}: unsupported field kind ${field.fieldKind}`);
}

function listItem(f, msg, field) {
  if (field.listKind === "scalar") return [scalarType(field.scalar)];
  if (field.listKind === "enum") return [ref(f, msg, field.enum)];
  return [singleType(f, msg, field.message)];
}

function mapValue(f, msg, field) {
  if (field.mapKind === "scalar") return [scalarType(field.scalar)];
  if (field.mapKind === "enum") return [ref(f, msg, field.enum)];
  return [singleType(f, msg, field.message)];
}

function singleType(f, msg, message) {
  return AS_STRING.has(message.typeName) ? "string" : ref(f, msg, message);
}

function scalarType(scalar) {
  switch (scalar) {
    case ScalarType.STRING:
    case ScalarType.BYTES: // base64
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return "string";
    case ScalarType.BOOL:
      return "boolean";
    default:
      return "number";
  }
}

function printService(f, svc) {
  f.print();
  comment(f, svc);
  f.print(f.export("interface", `${svc.name}Rpcs`), " {");
  for (const m of svc.methods) {
    comment(f, m, "  ");
    f.print("  ", m.name, ": { request: ", ref(f, svc, m.input), "; response: ", ref(f, svc, m.output), " };");
  }
  f.print("}");
}

runNodeJs(plugin);
