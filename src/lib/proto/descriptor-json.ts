// google.protobuf descriptors <-> protobufjs reflection: a FileDescriptorSet the fleet serves becomes
// the JSON form ProtoRegistry loads, with the comments of its source info kept (protobufjs's own
// conversion drops them); and reflection objects become descriptor JSON for `gs describe --json`.
// Loaded lazily: the descriptor extension costs start-up time a warm cache never needs.
import protobuf from "protobufjs";
import descriptor from "protobufjs/ext/descriptor.js";

// field numbers of descriptor.proto, the steps of a SourceCodeInfo.Location path
const FILE_MESSAGE = 4;
const FILE_ENUM = 5;
const FILE_SERVICE = 6;
const MESSAGE_FIELD = 2;
const MESSAGE_NESTED = 3;
const MESSAGE_ENUM = 4;
const MESSAGE_ONEOF = 8;
const ENUM_VALUE = 2;
const SERVICE_METHOD = 2;

/** SourceCodeInfo.Location, as the decoder gives it (protobufjs declares no interface for it) */
interface SourceLocation {
  path?: number[];
  leadingComments?: string;
  trailingComments?: string;
}
type FileProto = descriptor.IFileDescriptorProto & { sourceCodeInfo?: { location?: SourceLocation[] } };
type MessageProto = descriptor.IDescriptorProto;

/** A FileDescriptorSet's bytes as protobufjs JSON (field names as declared), comments included. */
export function namespaceOfDescriptorSet(bytes: Uint8Array): protobuf.INamespace {
  const set = descriptor.FileDescriptorSet.decode(bytes) as unknown as descriptor.IFileDescriptorSet;
  const root = protobuf.Root.fromDescriptor(set, { keepCase: true });
  for (const file of (set.file ?? []) as FileProto[]) attachComments(root, file);
  return root.toJSON({ keepComments: true }) as protobuf.INamespace;
}

function commentOf(loc: SourceLocation): string | null {
  const text = loc.leadingComments || loc.trailingComments;
  if (!text) return null;
  // `// text` keeps the space after the slashes: drop one per line, as protobufjs's parser does
  return text
    .replace(/\n$/, "")
    .split("\n")
    .map((l) => l.replace(/^ /, ""))
    .join("\n");
}

/** The comments of one file's source info, set on the reflection objects they belong to. */
function attachComments(root: protobuf.Root, file: FileProto): void {
  const pkg = file.package ? `${file.package}.` : "";
  const byPath = new Map<string, string>();
  for (const loc of file.sourceCodeInfo?.location ?? []) {
    const c = commentOf(loc);
    if (c) byPath.set((loc.path ?? []).join("."), c);
  }
  if (byPath.size === 0) return;
  const at = (p: number[]) => byPath.get(p.join("."));
  const lookup = (name: string) => {
    try {
      return root.lookup(name);
    } catch {
      return null;
    }
  };
  const visitMessage = (m: MessageProto, fullName: string, p: number[]) => {
    const type = lookup(fullName);
    if (!(type instanceof protobuf.Type)) return; // a map entry: protobufjs has a MapField instead
    type.comment = at(p) ?? null;
    (m.field ?? []).forEach((f, i) => {
      const field = f.name ? type.fields[f.name] : undefined;
      if (field) field.comment = at([...p, MESSAGE_FIELD, i]) ?? null;
    });
    (m.oneofDecl ?? []).forEach((o, i) => {
      const oneof = o.name ? type.oneofs?.[o.name] : undefined;
      if (oneof) oneof.comment = at([...p, MESSAGE_ONEOF, i]) ?? null;
    });
    (m.nestedType ?? []).forEach((n, i) => visitMessage(n, `${fullName}.${n.name}`, [...p, MESSAGE_NESTED, i]));
    (m.enumType ?? []).forEach((e, i) => visitEnum(e, `${fullName}.${e.name}`, [...p, MESSAGE_ENUM, i]));
  };
  const visitEnum = (e: descriptor.IEnumDescriptorProto, fullName: string, p: number[]) => {
    const en = lookup(fullName);
    if (!(en instanceof protobuf.Enum)) return;
    en.comment = at(p) ?? null;
    (e.value ?? []).forEach((v, i) => {
      const c = at([...p, ENUM_VALUE, i]);
      if (v.name && c) en.comments[v.name] = c;
    });
  };
  (file.messageType ?? []).forEach((m, i) => visitMessage(m, `${pkg}${m.name}`, [FILE_MESSAGE, i]));
  (file.enumType ?? []).forEach((e, i) => visitEnum(e, `${pkg}${e.name}`, [FILE_ENUM, i]));
  (file.service ?? []).forEach((s, i) => {
    const svc = lookup(`${pkg}${s.name}`);
    if (!(svc instanceof protobuf.Service)) return;
    svc.comment = at([FILE_SERVICE, i]) ?? null;
    (s.method ?? []).forEach((m, j) => {
      const method = m.name ? svc.methods[m.name] : undefined;
      if (method) method.comment = at([FILE_SERVICE, i, SERVICE_METHOD, j]) ?? null;
    });
  });
}

const TO_OBJECT: protobuf.IConversionOptions = { enums: String, longs: String, defaults: false, arrays: false };

/** A message, enum or rpc as its google.protobuf descriptor in JSON (DescriptorProto, EnumDescriptorProto, MethodDescriptorProto). */
export function descriptorJson(obj: protobuf.Type | protobuf.Enum | protobuf.Method): Record<string, unknown> {
  if (obj instanceof protobuf.Type)
    return qualifyTypeNames(
      obj,
      descriptor.DescriptorProto.toObject(obj.toDescriptor("proto3") as protobuf.Message, TO_OBJECT),
    );
  if (obj instanceof protobuf.Enum)
    return descriptor.EnumDescriptorProto.toObject(obj.toDescriptor() as protobuf.Message, TO_OBJECT);
  return descriptor.MethodDescriptorProto.toObject(obj.toDescriptor() as protobuf.Message, TO_OBJECT);
}

interface MessageJson {
  field?: { name?: string; typeName?: string }[];
  nestedType?: MessageJson[];
  name?: string;
}

/** Field types fully qualified, as protoc writes them (`.google.protobuf.Duration`), whatever the source said. */
function qualifyTypeNames(type: protobuf.Type, json: Record<string, unknown>): Record<string, unknown> {
  const m = json as MessageJson;
  for (const f of m.field ?? []) {
    const field = f.name ? type.fields[f.name] : undefined;
    field?.resolve();
    if (field?.resolvedType && f.typeName) f.typeName = field.resolvedType.fullName;
  }
  for (const n of m.nestedType ?? []) {
    const nested = n.name ? type.nested?.[n.name] : undefined;
    if (nested instanceof protobuf.Type) qualifyTypeNames(nested, n as Record<string, unknown>);
  }
  return json;
}
