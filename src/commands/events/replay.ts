import { Flags } from "@oclif/core";
import { EventsCommand } from "../../events-command.js";
import { eventFlags, natsFlags, pointInTimeFlag, schemaFlags, targetFlags } from "../../flags.js";
import { replayEvents } from "../../lib/events/events-query.js";
import type { StoredEvent } from "../../lib/events/stored-event.js";
import { UsageError } from "../../lib/output/errors.js";

/** One line of `gs events replay --json` (NDJSON). */
export type EventsReplayJsonLine = StoredEvent;

export default class EventsReplay extends EventsCommand {
  static override summary =
    "Read a past range of the EVENTS stream in order, decoded; as fast as possible or at its pace.";
  static override description =
    "The range starts at --since (a time) or --from-seq (a stream sequence) and ends at --to, --to-seq, -n events, or the stream's end when the command started; replay never follows. --speed keeps the original gaps between events (1 = real time, 10 = ten times faster). Read-only: nothing is re-published; to send an event again, use `gs publish`. Output and types as `gs events tail`.";
  static override examples = [
    `<%= config.bin %> events replay --since 1h --to 30m`,
    `<%= config.bin %> events replay --subject 'events.quest-system.>' --from-seq 1200 --to-seq 1300 --json`,
    `<%= config.bin %> events replay --since 2025-01-31T12:00:00Z --speed 1`,
  ];
  static override flags = {
    ...natsFlags,
    ...targetFlags,
    ...schemaFlags,
    ...eventFlags,
    "from-seq": Flags.integer({ description: "Start at this stream sequence (instead of --since).", min: 1 }),
    to: pointInTimeFlag({ description: "Stop at this time: a duration ago (5m) or a date-time." }),
    "to-seq": Flags.integer({ description: "Stop after this stream sequence.", min: 1 }),
    count: Flags.integer({ char: "n", description: "Stop after N events.", min: 1 }),
    speed: Flags.custom<number>({
      parse: async (input) => {
        const x = Number(input);
        if (!Number.isFinite(x) || x <= 0)
          throw new UsageError(`bad speed "${input}": use a positive factor, e.g. 1 (original pace) or 10`);
        return x;
      },
    })({ description: "Keep the original gaps between events, divided by this factor (default: no waiting)." }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(EventsReplay);
    if ((flags.since === undefined) === (flags["from-seq"] === undefined))
      throw new UsageError("replay needs one start: --since TIME or --from-seq N", "e.g. --since 1h, or --from-seq 1");
    const shown = await this.readEvents(flags, ({ nc, registry, signal, print }) =>
      replayEvents(
        nc,
        registry,
        {
          filter: flags.subject,
          from: flags.since !== undefined ? { time: flags.since } : { seq: flags["from-seq"]! },
          until: flags.to,
          toSeq: flags["to-seq"],
          limit: flags.count,
          speed: flags.speed,
          signal,
          timeout: flags.timeout,
        },
        print,
      ),
    );
    if (!this.jsonEnabled() && shown === 0) this.note(this.color("dim", `no events on ${flags.subject} in that range`));
  }
}
