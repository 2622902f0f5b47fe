import { Args } from "@oclif/core";
import { BaseCommand } from "../base-command.js";
import { natsFlags, schemaFlags, targetFlags } from "../flags.js";
import type { JsonObject } from "@gs/fleet/sdk/json-codec";
import type { RpcDef } from "@gs/fleet/sdk/registry";
import { examplesOfComment } from "../lib/contracts/examples.js";
import { describe } from "../lib/proto/describe.js";
import { schemaForFleet, type SchemaOrigin, schemaOptionsOf } from "../lib/proto/schema-source.js";
import { lazyNats } from "../nats-session.js";

export interface DescribeJson {
  kind: "rpc" | "event" | "message" | "enum";
  /** fully qualified: `auth.v1.AuthService.Login`, `auth.v1.LoginRequest` */
  name: string;
  subject?: string;
  service?: string;
  /** where the types came from; from the fleet, the digest and versions of the service's descriptor set */
  schema: SchemaOrigin;
  /** the definition as .proto source with its comments (an rpc's request and response messages follow it) */
  proto: string;
  /** google.protobuf.MethodDescriptorProto, DescriptorProto or EnumDescriptorProto as JSON */
  descriptor: Record<string, unknown>;
  request?: { name: string; descriptor: Record<string, unknown> };
  response?: { name: string; descriptor: Record<string, unknown> };
  /** a request (rpc) or message (event, message) to start from */
  example?: JsonObject;
}

export default class Describe extends BaseCommand {
  static override summary = "Show an rpc, event or message as proto source with its comments, and an example.";
  static override description =
    "SUBJECT is an rpc or event subject (`gs subjects`), TYPE a message or enum (auth.v1.LoginRequest, or LoginRequest when the name is unique). " +
    "An rpc is shown with its request and response messages. Types come from proto/, or from the descriptors the running fleet serves when there is no proto/ folder (--schema). " +
    "--json gives the google.protobuf descriptors as JSON.";
  static override examples = [
    `<%= config.bin %> describe auth.login`,
    `<%= config.bin %> describe auth.v1.Session`,
    `<%= config.bin %> describe events.auth.player-registered --json`,
    `<%= config.bin %> describe payment.purchase --server nats://10.0.0.5:4222 --schema fleet`,
  ];
  static override args = {
    name: Args.string({ description: "An rpc or event subject, or a message or enum name.", required: true }),
  };
  static override flags = { ...natsFlags, ...targetFlags, ...schemaFlags };

  async run(): Promise<DescribeJson> {
    const { args, flags } = await this.parse(Describe);
    const cwd = process.cwd();
    const nats = lazyNats(flags);
    const { registry, ...origin } = await schemaForFleet(
      schemaOptionsOf(flags, { cwd, comments: true }),
      nats.connect,
    ).finally(() => nats.close());
    const d = describe(registry, args.name, curatedExample);
    const schema: SchemaOrigin = {
      source: origin.source,
      ...(origin.services && { services: origin.services.filter((s) => !d.service || s.service === d.service) }),
    };
    if (!this.jsonEnabled()) {
      const from = schema.services?.[0];
      if (from)
        this.note(
          this.color(
            "dim",
            `from the fleet: ${from.service} ${from.versions.join(", ")} (schema ${from.digest.slice(0, 12)})`,
          ),
        );
      const use =
        d.kind === "rpc"
          ? `gs request ${d.subject} '${JSON.stringify(d.example)}'`
          : d.kind === "event"
            ? `gs publish ${d.subject} '${JSON.stringify(d.example)}'`
            : d.example && JSON.stringify(d.example);
      this.out(use ? `${d.proto}\n\n// example\n${use}` : d.proto);
    }
    // the descriptor conversion is loaded only for --json
    const { descriptorJson } = await import("../lib/proto/descriptor-json.js");
    return {
      kind: d.kind,
      name: d.name,
      ...(d.subject && { subject: d.subject }),
      ...(d.service && { service: d.service }),
      schema,
      proto: d.proto,
      descriptor: descriptorJson(d.definition),
      ...(d.request && { request: { name: d.request.fullName.slice(1), descriptor: descriptorJson(d.request) } }),
      ...(d.response && { response: { name: d.response.fullName.slice(1), descriptor: descriptorJson(d.response) } }),
      ...(d.example && { example: d.example }),
    };
  }
}

/** The rpc's first curated example, from its comment (docs/contracts.md): the same from proto/ and from the fleet. */
function curatedExample(rpc: RpcDef, comment: string): JsonObject | undefined {
  try {
    const rpcName = `${rpc.protoService}.${rpc.method}`;
    return examplesOfComment(comment, { subject: rpc.subject, service: rpc.service, rpc: rpcName, source: rpcName })
      .examples[0]?.request;
  } catch {
    return undefined; // a malformed example is `gs subjects --examples`'s to report; describe still shows the rpc
  }
}
