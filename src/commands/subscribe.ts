import { Args, Flags } from "@oclif/core";
import { BaseCommand } from "../base-command.js";
import { natsFlags, payloadFlags, protoFlags, targetFlags } from "../flags.js";
import { subscribe, validateSubscribeSubject, type ReceivedMessage } from "../lib/messaging/subscribe.js";
import { formatBytes } from "../lib/output/format.js";
import { catchInterrupts } from "../lib/process/interrupt.js";
import { loadRegistry } from "../lib/proto/load.js";
import { openNats } from "../nats-session.js";

export type SubscribeJsonLine = ReceivedMessage;

export default class Subscribe extends BaseCommand {
  static override summary =
    "Print messages on a subject, decoded with their proto types (hex and base64 for unknown ones).";
  static override description =
    "With --json, prints one JSON object per message (NDJSON). Stops after --count messages, or on Ctrl-C.";
  static override examples = [
    `<%= config.bin %> subscribe 'events.>'`,
    `<%= config.bin %> subscribe events.payment.purchase-completed --count 1 --json`,
  ];
  static override args = {
    subject: Args.string({ description: "Subject; * and > wildcards allowed.", required: true }),
  };
  static override flags = {
    ...natsFlags,
    ...targetFlags,
    ...protoFlags,
    // not repeatFlags' --count: this one stops after N messages received
    count: Flags.integer({ char: "n", description: "Exit after N messages.", min: 1 }),
    queue: Flags.string({ description: "Join this queue group." }),
    raw: payloadFlags.raw,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Subscribe);
    validateSubscribeSubject(args.subject);
    const registry = loadRegistry({ cwd: process.cwd(), extra: flags.proto });
    const { nc } = await openNats(flags);
    const json = this.jsonEnabled();
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
    if (!json)
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
      await nc.close();
    }
  }
}
