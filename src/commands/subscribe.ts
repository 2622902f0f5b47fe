import { Args, Flags } from "@oclif/core";
import { BaseCommand } from "../base-command.js";
import { natsFlags, schemaFlags, targetFlags } from "../flags.js";
import { subscribe, validateSubscribeSubject, type ReceivedMessage } from "../lib/messaging/subscribe.js";
import { formatBytes } from "../lib/output/format.js";
import { catchInterrupts } from "../lib/process/interrupt.js";
import { schemaForFleet, schemaOptionsOf } from "../lib/proto/schema-source.js";
import { lazyNats } from "../nats-session.js";

export type SubscribeJsonLine = ReceivedMessage;

export default class Subscribe extends BaseCommand {
  static override summary =
    "Print messages on a subject, decoded with their proto types (hex and base64 for unknown ones).";
  static override description =
    "With --json, prints one JSON object per message (NDJSON). Stops after --count messages, or on Ctrl-C. " +
    "Types come from proto/, or from the descriptors the running fleet serves when there is no proto/ folder (--schema). " +
    "--raw leaves payloads undecoded; when stdout is not a terminal it prints NDJSON too, each payload as hex and base64 (`data.base64`), since raw messages written back to back could not be told apart.";
  static override examples = [
    `<%= config.bin %> subscribe 'events.>'`,
    `<%= config.bin %> subscribe events.payment.purchase-completed --count 1 --json`,
    `<%= config.bin %> subscribe 'auth.>' --raw | jq -r .data.base64`,
  ];
  static override args = {
    subject: Args.string({ description: "Subject; * and > wildcards allowed.", required: true }),
  };
  static override flags = {
    ...natsFlags,
    ...targetFlags,
    ...schemaFlags,
    // not repeatFlags' --count: this one stops after N messages received
    count: Flags.integer({ char: "n", description: "Exit after N messages.", min: 1 }),
    queue: Flags.string({ description: "Join this queue group." }),
    raw: Flags.boolean({
      description:
        "No protobuf: print each message's payload undecoded (text, or hex and base64); not on a terminal, one JSON object per line with `base64`.",
      helpGroup: "PAYLOAD",
    }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Subscribe);
    validateSubscribeSubject(args.subject);
    const nats = lazyNats(flags);
    let registry;
    try {
      ({ registry } = await schemaForFleet(schemaOptionsOf(flags), nats.connect, { typesOptional: flags.raw }));
    } catch (err) {
      await nats.close();
      throw err;
    }
    const nc = await nats.connect();
    // raw payloads cannot be told apart in one byte stream: off a terminal they go out as NDJSON (base64)
    const json = this.jsonEnabled() || (flags.raw && !process.stdout.isTTY);
    const pretty = this.mode === "tty";
    const s = subscribe(
      nc,
      registry,
      { subject: args.subject, count: flags.count, queue: flags.queue, raw: flags.raw },
      (m) => {
        if (json) {
          process.stdout.write(JSON.stringify(m) + "\n");
          return;
        }
        const head = `[${m.received.slice(11, 23)}] ${m.subject}${m.type ? ` ${m.type}` : ""} ${formatBytes(m.bytes)}`;
        if (pretty) this.out(`${this.color("cyan", head)}\n${JSON.stringify(m.data, null, 2)}`);
        else this.out(`${head} ${JSON.stringify(m.data)}`);
      },
    );
    await nc.flush();
    // stderr: also when raw payloads go out as NDJSON, which is only stdout's format
    if (!this.jsonEnabled())
      this.note(
        this.color(
          "dim",
          `listening on ${args.subject}${flags.count ? ` for ${flags.count} message(s)` : " (Ctrl-C to stop)"}`,
        ),
      );
    const interrupt = catchInterrupts();
    interrupt.onStop(() => void s.stop());
    try {
      await s.done;
    } finally {
      interrupt.release();
      await nats.close();
    }
  }
}
