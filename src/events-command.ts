// What `gs events tail` and `gs events replay` share: the event types (proto/, or the descriptors the
// fleet serves: --schema) and the subject filter checked against them, one NATS connection, Ctrl-C as
// the lifecycle helper's, and how an event is printed.
import type { NatsConnection } from "@nats-io/transport-node";
import type { ProtoRegistry } from "@gs/fleet/sdk/registry";
import { BaseCommand } from "./base-command.js";
import { checkEventFilter } from "./lib/events/event-filter.js";
import { eventText } from "./lib/events/event-lines.js";
import type { StoredEvent } from "./lib/events/stored-event.js";
import { catchInterrupts } from "./lib/process/interrupt.js";
import { schemaForFleet, schemaOptionsOf } from "./lib/proto/schema-source.js";
import type { SchemaMode } from "./lib/proto/schema-mode.js";
import { lazyNats, type NatsFlagValues } from "./nats-session.js";

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
    flags: NatsFlagValues & { proto?: string[]; schema: SchemaMode; subject: string },
    read: (ctx: EventReadContext) => Promise<{ shown: number }>,
  ): Promise<number> {
    const nats = lazyNats(flags);
    let nc;
    let registry;
    try {
      ({ registry } = await schemaForFleet(schemaOptionsOf(flags), nats.connect));
      checkEventFilter(registry, flags.subject);
      nc = await nats.connect();
    } catch (err) {
      await nats.close();
      throw err;
    }
    const interrupt = catchInterrupts();
    try {
      const { shown } = await read({ nc, registry, signal: interrupt.signal, print: (e) => this.printEvent(e) });
      return shown;
    } finally {
      interrupt.release();
      await nats.close();
    }
  }

  private printEvent(e: StoredEvent): void {
    if (this.jsonEnabled()) process.stdout.write(JSON.stringify(e) + "\n");
    else this.out(eventText(e, { pretty: this.mode === "tty", color: this.color }));
  }
}
