// `gs describe SUBJECT|TYPE`: an rpc (by subject), an event (by subject) or a message or enum (by name),
// as proto source with its comments, the rpc's request and response messages expanded, and an example.
import protobuf from "protobufjs";
import { closestNames } from "@gs/fleet/sdk/closest-names";
import type { JsonObject } from "@gs/fleet/sdk/json-codec";
import { serviceNameOfPackage, type ProtoRegistry, type RpcDef } from "@gs/fleet/sdk/registry";
import { UsageError } from "../output/errors.js";
import { exampleJson } from "./example.js";
import { enumSource, messageSource, packageOf, rpcSource } from "./proto-source.js";

export type DescribedKind = "rpc" | "event" | "message" | "enum";

export interface Described {
  kind: DescribedKind;
  /** fully qualified: `auth.v1.AuthService.Login`, `auth.v1.LoginRequest` */
  name: string;
  /** for rpcs and events */
  subject?: string;
  service?: string;
  /** the definition as .proto source, comments included; for an rpc, its request and response messages follow */
  proto: string;
  /** the reflection object itself, for descriptor JSON */
  definition: protobuf.Method | protobuf.Type | protobuf.Enum;
  request?: protobuf.Type;
  response?: protobuf.Type;
  /** a request (rpc) or message (event, message) that `gs request` / `gs publish` accepts */
  example?: JsonObject;
}

function lookup(registry: ProtoRegistry, name: string): protobuf.Type | protobuf.Enum | undefined {
  try {
    const obj = registry.root.lookup(name.replace(/^\./, ""));
    return obj instanceof protobuf.Type || obj instanceof protobuf.Enum ? obj : undefined;
  } catch {
    return undefined;
  }
}

/** Every message and enum of the registry by full name (for suggestions and short names). */
function allTypes(
  ns: protobuf.NamespaceBase,
  out: (protobuf.Type | protobuf.Enum)[] = [],
): (protobuf.Type | protobuf.Enum)[] {
  for (const obj of ns.nestedArray) {
    if (obj instanceof protobuf.Type || obj instanceof protobuf.Enum) out.push(obj);
    if (obj instanceof protobuf.Namespace) allTypes(obj, out);
  }
  return out;
}

function section(title: string, lines: string[]): string {
  return [`// ${title}`, ...lines].join("\n");
}

/**
 * What `target` names: an rpc or event subject, a fully qualified message or enum, or a message's
 * short name when only one has it. Unknown: a UsageError (exit 2) with the closest names.
 */
export function describe(
  registry: ProtoRegistry,
  target: string,
  /** the rpc's curated example, from its comment (docs/contracts.md) */
  examples: (rpc: RpcDef, comment: string) => JsonObject | undefined = () => undefined,
): Described {
  const rpc = registry.rpc(target);
  if (rpc) {
    const method = registry.root.lookupService(rpc.protoService).methods[rpc.method]!;
    const proto = [
      section(`${rpc.subject}: rpc ${rpc.method} of ${rpc.protoService}`, rpcSource(method)),
      section(`request ${rpc.request.fullName.slice(1)}`, messageSource(rpc.request)),
      section(`response ${rpc.response.fullName.slice(1)}`, messageSource(rpc.response)),
    ].join("\n\n");
    return {
      kind: "rpc",
      name: `${rpc.protoService}.${rpc.method}`,
      subject: rpc.subject,
      service: rpc.service,
      proto,
      definition: method,
      request: rpc.request,
      response: rpc.response,
      example: examples(rpc, method.comment ?? "") ?? exampleJson(rpc.request),
    };
  }
  const event = registry.event(target);
  if (event) {
    return {
      kind: "event",
      name: event.type.fullName.slice(1),
      subject: event.subject,
      service: event.service,
      proto: section(`${event.subject}: event ${event.type.fullName.slice(1)}`, messageSource(event.type)),
      definition: event.type,
      example: exampleJson(event.type),
    };
  }
  const types = allTypes(registry.root);
  const found =
    lookup(registry, target) ??
    (() => {
      const short = types.filter((t) => t.name === target);
      return short.length === 1 ? short[0] : undefined;
    })();
  if (found) {
    const name = found.fullName.slice(1);
    const pkg = packageOf(found);
    const where = `package ${pkg || "(none)"}`;
    // the service whose package declares it, if one does
    const service = pkg && registry.service(serviceNameOfPackage(pkg)) ? serviceNameOfPackage(pkg) : undefined;
    if (found instanceof protobuf.Enum)
      return {
        kind: "enum",
        name,
        service,
        proto: section(`${name} (${where})`, enumSource(found)),
        definition: found,
      };
    return {
      kind: "message",
      name,
      service,
      proto: section(`${name} (${where})`, messageSource(found)),
      definition: found,
      example: exampleJson(found),
    };
  }
  const known = [
    ...registry.rpcs.map((r) => r.subject),
    ...registry.events.map((e) => e.subject),
    ...types.map((t) => t.fullName.slice(1)),
    ...types.map((t) => t.name),
  ];
  const close = closestNames(target, [...new Set(known)], 3);
  throw new UsageError(
    `no rpc, event or type named ${target}${close.length ? ` (did you mean ${close.join(", ")}?)` : ""}`,
    "`gs subjects` lists the subjects; name a type as package.Message, e.g. auth.v1.LoginRequest",
    "unknown_name",
  );
}
