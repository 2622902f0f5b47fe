// What `gs events tail` and `gs events replay` share: the proto registry and the subject filter checked
// before connecting, one NATS connection, Ctrl-C as the lifecycle helper's, and how an event is printed.
import type { NatsConnection } from "@nats-io/transport-node";
import type { ProtoRegistry } from "@gs/fleet/sdk/registry";
import { BaseCommand } from "./base-command.js";
import { checkEventFilter } from "./lib/events/event-filter.js";
import { eventText } from "./lib/events/event-lines.js";
import type { StoredEvent } from "./lib/events/stored-event.js";
import { catchInterrupts } from "./lib/process/interrupt.js";
import { loadRegistry } from "./lib/proto/load.js";
import { openNats, type NatsFlagValues } from "./nats-session.js";

export interface EventReadContext {
  nc: NatsConnection;
  registry: ProtoRegistry;
  /** aborted by the first Ctrl-C or SIGTERM */
  signal: AbortSignal;
  /** prints one event: a line, or under --json one NDJSON object */
  print: (e: StoredEvent) => void;
}

export abstract class EventsCommand extends BaseCommand {
  /** Runs `read` with everything it needs; resolves with how many events it showed. */
  protected async readEvents(
    flags: NatsFlagValues & { proto?: string[]; subject: string },
    read: (ctx: EventReadContext) => Promise<{ shown: number }>,
  ): Promise<number> {
    const registry = loadRegistry({ cwd: process.cwd(), extra: flags.proto });
    checkEventFilter(registry, flags.subject);
    const { nc } = await openNats(flags);
    const interrupt = catchInterrupts();
    try {
      const { shown } = await read({ nc, registry, signal: interrupt.signal, print: (e) => this.printEvent(e) });
      return shown;
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
