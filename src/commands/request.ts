import { Flags } from "@oclif/core";
import { BaseCommand } from "../base-command.js";
import { messageArgs, natsFlags, payloadFlags, protoFlags, repeatFlags, targetFlags } from "../flags.js";
import { parseHeaders, parseJsonData, readData } from "../lib/messaging/data.js";
import { prepareRequest, request, type RequestResult } from "../lib/messaging/request.js";
import { formatBytes, formatDuration } from "../lib/output/format.js";
import { loadRegistryForSubject } from "../lib/proto/load.js";
import { openNats } from "../nats-session.js";

export type RequestJson = RequestResult;

export default class Request extends BaseCommand {
  static override summary =
    "Send a request to a service and print the reply (JSON in, protobuf on the wire, JSON out).";
  static override description =
    "DATA is JSON for the rpc's request type, encoded with the .proto files in proto/. The reply is decoded with the response type. " +
    "An error reply (Nats-Service-Error headers) prints its code and message and exits 1.";
  static override examples = [
    `<%= config.bin %> request auth.register '{"username":"ada","password":"correct-horse-battery"}'`,
    `<%= config.bin %> request payment.get-balance '{"playerId":"p1"}' --json`,
    `echo '{"regionId":"r1"}' | <%= config.bin %> request world-state.query-region --data-file -`,
    `<%= config.bin %> request some.subject 'hello' --raw`,
  ];
  static override args = messageArgs;
  static override flags = {
    ...natsFlags,
    ...targetFlags,
    ...protoFlags,
    ...payloadFlags,
    ...repeatFlags,
    replies: Flags.integer({
      description: "Gather up to N replies per request within the timeout.",
      default: 1,
      min: 1,
    }),
  };

  async run(): Promise<RequestJson> {
    const { args, flags } = await this.parse(Request);
    const bytes = readData({ arg: args.data, file: flags["data-file"] });
    const json = flags.raw
      ? undefined
      : parseJsonData(bytes, flags["data-file"] ? `--data-file ${flags["data-file"]}` : "DATA");
    const registry = loadRegistryForSubject({ cwd: process.cwd(), extra: flags.proto, subject: args.subject });
    const opts = {
      subject: args.subject,
      json,
      raw: flags.raw ? new Uint8Array(bytes) : undefined,
      headers: parseHeaders(flags.header),
      count: flags.count,
      replies: flags.replies,
      timeout: flags.timeout,
    };
    const prepared = prepareRequest(registry, opts);
    const { nc } = await openNats(flags);
    try {
      const result = await request(nc, registry, prepared, opts);
      if (!this.jsonEnabled()) {
        const pretty = this.mode === "tty";
        for (const r of result.replies) {
          this.note(this.color("dim", `← ${result.subject} ${formatDuration(r.rtt_ms)} ${formatBytes(r.bytes)}`));
          const body =
            "text" in r.reply && Object.keys(r.reply).length === 1
              ? String(r.reply.text)
              : JSON.stringify(r.reply, null, pretty ? 2 : undefined);
          this.out(body);
        }
      }
      return result;
    } finally {
      await nc.close();
    }
  }
}
