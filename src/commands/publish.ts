import { Args, Flags } from "@oclif/core";
import { BaseCommand } from "../base-command.js";
import { natsFlags, protoFlags, targetFlags } from "../flags.js";
import { parseHeaders, parseJsonData, readData } from "../lib/messaging/data.js";
import { preparePublish, publish, type PublishResult } from "../lib/messaging/publish.js";
import { formatBytes } from "../lib/output/format.js";
import { loadRegistryForSubject } from "../lib/proto/load.js";
import { openNats } from "../nats-session.js";

export type PublishJson = PublishResult;

export default class Publish extends BaseCommand {
  static override summary = "Publish a message (an event or an rpc request) encoded with its proto type.";
  static override examples = [
    `<%= config.bin %> publish events.auth.player-registered '{"playerId":"p1","username":"ada"}'`,
    `<%= config.bin %> publish any.subject 'bytes' --raw --count 10`,
  ];
  static override args = {
    subject: Args.string({ description: "Subject to publish to.", required: true }),
    data: Args.string({ description: "Message as JSON (default {}).", ignoreStdin: true }),
  };
  static override flags = {
    ...natsFlags,
    ...targetFlags,
    ...protoFlags,
    "data-file": Flags.string({ char: "f", description: "Read DATA from a file (`-` for stdin)." }),
    raw: Flags.boolean({ description: "Send DATA as bytes (no protobuf)." }),
    header: Flags.string({ char: "H", description: "Header KEY=VALUE (repeatable).", multiple: true }),
    count: Flags.integer({ description: "Publish N times.", default: 1, min: 1 }),
  };

  async run(): Promise<PublishJson> {
    const { args, flags } = await this.parse(Publish);
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
    };
    const prepared = preparePublish(registry, opts);
    const { nc } = await openNats(flags);
    try {
      const result = await publish(nc, prepared, opts);
      this.note(
        `published ${result.count} × ${formatBytes(result.bytes)} to ${result.subject}${result.type ? ` (${result.type})` : ""}`,
      );
      return result;
    } finally {
      await nc.close();
    }
  }
}
