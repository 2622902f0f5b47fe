// Domain events on JetStream: stream EVENTS over `events.>`, one subject per event type,
// payloads protobuf-encoded with the event message type from the registry.
import { headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient } from "@nats-io/jetstream";
import { decodeToJson, encodeJson, type JsonObject } from "./json-codec.js";
import { isLeaderlessOrTimeout, retryWhile, SETUP_RETRY_MS } from "./jetstream-retry.js";
import { eventSubject, type ProtoRegistry } from "./registry.js";
import { outgoingTrace, spanError, TRACEPARENT_HEADER, type Hop } from "./trace.js";

export const EVENTS_STREAM = "EVENTS";

export interface DomainEvent {
  subject: string;
  /** fully qualified message type */
  type: string;
  data: JsonObject;
  seq: number;
  time: Date;
}

/** Create the EVENTS stream if it does not exist (idempotent; safe from every instance at once). */
export async function ensureEventsStream(nc: NatsConnection, replicas = 1): Promise<void> {
  // an instance starting while a node that died leaves the stream (or the JetStream API) leaderless waits it out
  await retryWhile(() => createEventsStream(nc, replicas), isLeaderlessOrTimeout, SETUP_RETRY_MS);
}

async function createEventsStream(nc: NatsConnection, replicas: number): Promise<void> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.streams.info(EVENTS_STREAM);
  } catch {
    try {
      await jsm.streams.add({
        name: EVENTS_STREAM,
        subjects: ["events.>"],
        num_replicas: replicas,
        max_age: 7 * 24 * 3600 * 1e9,
      });
    } catch (err) {
      if (!/already in use|already exists/i.test((err as Error).message)) throw err;
    }
  }
}

export class Events {
  private readonly js: JetStreamClient;

  constructor(
    private readonly nc: NatsConnection,
    private readonly registry: ProtoRegistry,
    private readonly service: string,
  ) {
    this.js = jetstream(nc);
  }

  /**
   * Publish `name` (message name like `QuestCompletedEvent`) of this service; resolves once JetStream stored
   * it. `trace`: the handler's `call.trace`, so the event carries the request's trace (sampled requests'
   * events carry it without). `id`: the event's identity (Nats-Msg-Id): JetStream stores one event per id
   * within the stream's duplicate window (2 min), so a step that runs again (a retry that took over an
   * unfinished request, a publish retried after a lost ack) does not publish the event twice.
   */
  async publish(
    name: string,
    data: unknown,
    within: { trace?: Hop; id?: string } = {},
  ): Promise<{ seq: number; subject: string }> {
    const subject = eventSubject(this.service, name);
    const def = this.registry.event(subject);
    if (!def) throw new Error(`${this.service} has no event message ${name} in its proto package`);
    const bytes = encodeJson(def.type, data);
    // the event carries the trace of the request it was published for, so a reader can follow where it came from
    const trace = outgoingTrace(subject, "producer", within.trace);
    let opts: { headers?: ReturnType<typeof natsHeaders>; msgID?: string } | undefined;
    if (trace) {
      opts = { headers: natsHeaders() };
      opts.headers!.set(TRACEPARENT_HEADER, trace.traceparent);
    }
    if (within.id) opts = { ...opts, msgID: within.id };
    let ack;
    try {
      ack = await retryWhile(() => this.js.publish(subject, bytes, opts));
    } catch (err) {
      trace?.end(spanError(err));
      throw err;
    }
    trace?.end();
    return { seq: ack.seq, subject };
  }

  /** A durable consumer over `subject` (wildcards allowed); handler errors redeliver the event. Returns a stop function. */
  async consume(
    durable: string,
    subject: string,
    handler: (ev: DomainEvent) => Promise<void>,
  ): Promise<() => Promise<void>> {
    const jsm = await jetstreamManager(this.nc);
    const name = `${this.service}-${durable}`.replace(/[^-_a-zA-Z0-9]/g, "_");
    try {
      await jsm.consumers.info(EVENTS_STREAM, name);
    } catch {
      await jsm.consumers.add(EVENTS_STREAM, {
        durable_name: name,
        filter_subject: subject,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.New,
        ack_wait: 30e9,
      });
    }
    const consumer = await this.js.consumers.get(EVENTS_STREAM, name);
    const messages = await consumer.consume();
    const loop = (async () => {
      for await (const m of messages) {
        const def = this.registry.event(m.subject);
        try {
          const data = def ? decodeToJson(def.type, m.data) : {};
          await handler({
            subject: m.subject,
            type: def?.type.fullName.slice(1) ?? "",
            data,
            seq: m.seq,
            time: m.time,
          });
          m.ack();
        } catch {
          m.nak(1000);
        }
      }
    })();
    return async () => {
      await messages.close();
      await loop;
    };
  }
}
