// Reflection objects back as .proto source, comments included (`gs describe`): the same text whether
// the types came from proto/ or from the descriptors the fleet serves.
import protobuf from "protobufjs";

const INDENT = "  ";

function commentLines(comment: string | null | undefined, indent: string): string[] {
  if (!comment) return [];
  return comment.split("\n").map((l) => `${indent}//${l ? ` ${l}` : ""}`);
}

/** `.auth.v1.Session` seen from package `auth.v1` is `Session`; from elsewhere `auth.v1.Session`. */
function typeName(field: protobuf.Field, scope: string): string {
  const rt = field.resolvedType;
  if (!rt) return field.type;
  const full = rt.fullName.slice(1);
  return scope && full.startsWith(`${scope}.`) ? full.slice(scope.length + 1) : full;
}

/** The package a definition is declared in: its nearest ancestor that is a plain namespace. */
export function packageOf(obj: protobuf.ReflectionObject): string {
  let p = obj.parent;
  while (p && (p instanceof protobuf.Type || p instanceof protobuf.Service)) p = p.parent;
  return p?.fullName.slice(1) ?? "";
}

function isProto3Optional(field: protobuf.Field): boolean {
  return field.options?.proto3_optional === true || (field.partOf?.name.startsWith("_") ?? false);
}

function fieldLine(field: protobuf.Field, scope: string, indent: string): string[] {
  field.resolve();
  let decl: string;
  if (field instanceof protobuf.MapField) {
    const value = field.resolvedType ? typeName(field, scope) : field.type;
    decl = `map<${field.keyType}, ${value}> ${field.name} = ${field.id};`;
  } else {
    const label = field.repeated ? "repeated " : isProto3Optional(field) ? "optional " : "";
    decl = `${label}${typeName(field, scope)} ${field.name} = ${field.id};`;
  }
  return [...commentLines(field.comment, indent), `${indent}${decl}`];
}

function reservedLines(type: protobuf.Type | protobuf.Enum, indent: string): string[] {
  const reserved = type.reserved ?? [];
  if (reserved.length === 0) return [];
  const ranges = reserved.filter((r): r is number[] => Array.isArray(r));
  const names = reserved.filter((r): r is string => typeof r === "string");
  const out: string[] = [];
  if (ranges.length)
    out.push(`${indent}reserved ${ranges.map(([a, b]) => (a === b ? `${a}` : `${a} to ${b}`)).join(", ")};`);
  if (names.length) out.push(`${indent}reserved ${names.map((n) => `"${n}"`).join(", ")};`);
  return out;
}

/** `message X { ... }` with its fields, oneofs, nested types and comments. */
export function messageSource(type: protobuf.Type, indent = ""): string[] {
  const scope = packageOf(type);
  const inner = indent + INDENT;
  const out = [...commentLines(type.comment, indent), `${indent}message ${type.name} {`];
  out.push(...reservedLines(type, inner));
  const inOneof = new Set<protobuf.Field>();
  for (const oneof of type.oneofsArray) {
    if (oneof.name.startsWith("_")) continue; // proto3 `optional`: shown on its field
    out.push(...commentLines(oneof.comment, inner), `${inner}oneof ${oneof.name} {`);
    for (const f of oneof.fieldsArray) {
      inOneof.add(f);
      out.push(...fieldLine(f, scope, inner + INDENT));
    }
    out.push(`${inner}}`);
  }
  for (const f of type.fieldsArray) if (!inOneof.has(f)) out.push(...fieldLine(f, scope, inner));
  for (const nested of type.nestedArray) {
    if (nested instanceof protobuf.Type) out.push(...messageSource(nested, inner));
    else if (nested instanceof protobuf.Enum) out.push(...enumSource(nested, inner));
  }
  out.push(`${indent}}`);
  return out;
}

/** `enum X { ... }` with its values and their comments. */
export function enumSource(en: protobuf.Enum, indent = ""): string[] {
  const inner = indent + INDENT;
  const out = [...commentLines(en.comment, indent), `${indent}enum ${en.name} {`];
  out.push(...reservedLines(en, inner));
  for (const [name, id] of Object.entries(en.values)) {
    out.push(...commentLines(en.comments[name], inner), `${inner}${name} = ${id};`);
  }
  out.push(`${indent}}`);
  return out;
}

/** `rpc X(Req) returns (Res);` inside its service, comments of both. */
export function rpcSource(method: protobuf.Method): string[] {
  method.resolve();
  const svc = method.parent as protobuf.Service;
  const scope = packageOf(svc);
  const name = (t: protobuf.Type | null) => {
    const full = t?.fullName.slice(1) ?? "";
    return scope && full.startsWith(`${scope}.`) ? full.slice(scope.length + 1) : full;
  };
  return [
    ...commentLines(svc.comment, ""),
    `service ${svc.name} {`,
    ...commentLines(method.comment, INDENT),
    `${INDENT}rpc ${method.name}(${name(method.resolvedRequestType)}) returns (${name(method.resolvedResponseType)});`,
    "}",
  ];
}
