import { Flags } from "@oclif/core";
import { BaseCommand } from "../../base-command.js";
import { eventFlags, natsFlags, protoFlags, targetFlags } from "../../flags.js";
import { checkEventFilter } from "../../lib/events/event-filter.js";
import { eventText } from "../../lib/events/event-lines.js";
import { DEFAULT_TAIL, tailEvents } from "../../lib/events/events-query.js";
import type { StoredEvent } from "../../lib/events/stored-event.js";
import { catchInterrupts } from "../../lib/process/interrupt.js";
import { loadRegistry } from "../../lib/proto/load.js";
import { openNats } from "../../nats-session.js";

/** One line of `gs events tail --json` (NDJSON: one event per line, as they are read). */
export type EventsTailJsonLine = StoredEvent;

export default class EventsTail extends BaseCommand {
  static override summary = "Print the latest domain events of the EVENTS stream, decoded with their proto types.";
  static override description = `The last ${DEFAULT_TAIL} events (-n to change it), or every event since --since, oldest first; --follow then waits for new ones until Ctrl-C. Each line: time, stream sequence, subject and the event as JSON (secret fields redacted). With --json, one JSON object per event (NDJSON). Read-only: an ephemeral ordered consumer, nothing acknowledged or removed.`;
  static override examples = [
    `<%= config.bin %> events tail`,
    `<%= config.bin %> events tail --subject 'events.payment.>' --since 10m`,
    `<%= config.bin %> events tail --subject events.auth.login-failed -n 50 --json`,
    `<%= config.bin %> events tail -f`,
  ];
  static override flags = {
    ...natsFlags,
    ...targetFlags,
    ...protoFlags,
    ...eventFlags,
    count: Flags.integer({
      char: "n",
      description: `Only the last N events (default ${DEFAULT_TAIL}, or all since --since).`,
      min: 1,
    }),
    follow: Flags.boolean({ char: "f", description: "Then keep printing new events until Ctrl-C." }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(EventsTail);
    const registry = loadRegistry({ cwd: process.cwd(), extra: flags.proto });
    checkEventFilter(registry, flags.subject);
    const { nc } = await openNats(flags);
    const interrupt = catchInterrupts();
    try {
      const { shown } = await tailEvents(
        nc,
        registry,
        {
          filter: flags.subject,
          since: flags.since,
          last: flags.count,
          follow: flags.follow,
          signal: interrupt.signal,
          timeout: flags.timeout,
        },
        (e) => this.printEvent(e),
      );
      if (!this.jsonEnabled() && shown === 0 && !flags.follow)
        this.note(this.color("dim", `no events on ${flags.subject}${flags.since ? " since then" : ""}`));
    } finally {
      interrupt.release();
      await nc.close();
    }
  }

  private printEvent(e: StoredEvent): void {
    if (this.jsonEnabled()) process.stdout.write(JSON.stringify(e) + "\n");
    else this.out(eventText(e, { pretty: this.mode === "tty", color: this.color }));
  }
}
