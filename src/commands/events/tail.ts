import { Flags } from "@oclif/core";
import { EventsCommand } from "../../events-command.js";
import { eventFlags, natsFlags, schemaFlags, targetFlags } from "../../flags.js";
import { DEFAULT_TAIL, tailEvents } from "../../lib/events/events-query.js";
import type { StoredEvent } from "../../lib/events/stored-event.js";

/** One line of `gs events tail --json` (NDJSON: one event per line, as they are read). */
export type EventsTailJsonLine = StoredEvent;

export default class EventsTail extends EventsCommand {
  static override summary = "Print the latest domain events of the EVENTS stream, decoded with their proto types.";
  static override description = `The last ${DEFAULT_TAIL} events (-n to change it), or every event since --since, oldest first; --follow then waits for new ones until Ctrl-C. Each line: time, stream sequence, subject and the event as JSON (secret fields redacted); the types come from proto/, or from the descriptors the fleet serves when there is no proto/ folder (--schema). With --json, one JSON object per event (NDJSON). Read-only: an ephemeral ordered consumer, nothing acknowledged or removed.`;
  static override examples = [
    `<%= config.bin %> events tail`,
    `<%= config.bin %> events tail --subject 'events.payment.>' --since 10m`,
    `<%= config.bin %> events tail --subject events.auth.login-failed -n 50 --json`,
    `<%= config.bin %> events tail -f`,
  ];
  static override flags = {
    ...natsFlags,
    ...targetFlags,
    ...schemaFlags,
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
    const shown = await this.readEvents(flags, ({ nc, registry, signal, print }) =>
      tailEvents(
        nc,
        registry,
        {
          filter: flags.subject,
          since: flags.since,
          last: flags.count,
          follow: flags.follow,
          signal,
          timeout: flags.timeout,
        },
        print,
      ),
    );
    if (!this.jsonEnabled() && shown === 0 && !flags.follow)
      this.note(this.color("dim", `no events on ${flags.subject}${flags.since ? " since then" : ""}`));
  }
}
