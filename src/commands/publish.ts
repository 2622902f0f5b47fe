import { BaseCommand } from "../base-command.js";
import { messageArgs, natsFlags, payloadFlags, repeatFlags, schemaFlags, targetFlags } from "../flags.js";
import { parseHeaders, parseJsonData, readData } from "../lib/messaging/data.js";
import { preparePublish, publish, type PublishResult } from "../lib/messaging/publish.js";
import { formatBytes } from "../lib/output/format.js";
import { schemaForSubject, schemaOptionsOf } from "../lib/proto/schema-source.js";
import { lazyNats } from "../nats-session.js";

export type PublishJson = PublishResult;

export default class Publish extends BaseCommand {
  static override summary = "Publish a message (an event or an rpc request) encoded with its proto type.";
  static override examples = [
    `<%= config.bin %> publish events.auth.player-registered '{"playerId":"p1","username":"ada"}'`,
    `<%= config.bin %> publish any.subject 'bytes' --raw --count 10`,
  ];
  static override args = messageArgs;
  static override flags = { ...natsFlags, ...targetFlags, ...schemaFlags, ...payloadFlags, ...repeatFlags };

  async run(): Promise<PublishJson> {
    const { args, flags } = await this.parse(Publish);
    const bytes = readData({ arg: args.data, file: flags["data-file"] });
    const json = flags.raw
      ? undefined
      : parseJsonData(bytes, flags["data-file"] ? `--data-file ${flags["data-file"]}` : "DATA");
    const nats = lazyNats(flags);
    try {
      const { registry } = await schemaForSubject(schemaOptionsOf(flags), args.subject, nats.connect, {
        typesOptional: flags.raw,
      });
      const opts = {
        subject: args.subject,
        json,
        raw: flags.raw ? new Uint8Array(bytes) : undefined,
        headers: parseHeaders(flags.header),
        count: flags.count,
      };
      const prepared = preparePublish(registry, opts);
      const result = await publish(await nats.connect(), prepared, opts);
      this.note(
        `published ${result.count} × ${formatBytes(result.bytes)} to ${result.subject}${result.type ? ` (${result.type})` : ""}`,
      );
      return result;
    } finally {
      await nats.close();
    }
  }
}
