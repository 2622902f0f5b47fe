// event-bus: management of the EVENTS stream (`events.>`): publish, replay, consumer lag, stream info.
// Env: EVENT_BUS_LAG_THRESHOLD (default 1000): lag above which ConsumerLag publishes ConsumerLaggingEvent
//        when the request gives no threshold;
//      EVENT_BUS_REPLAY_DEFAULT (default 100) / EVENT_BUS_REPLAY_MAX (default 1000): messages per replay;
//      EVENT_BUS_MAX_PAYLOAD (default 524288): largest payload Publish accepts, in bytes.
// State: none (the stream is the state).
// Events: ConsumerLaggingEvent.
// Replays read through a short-lived pull consumer (one filter subject: nats-server 2.9 has no
// multi-filter consumers) named `event-bus-replay-*`, deleted after each replay and left out of ConsumerLag.
import { randomBytes } from "node:crypto";
import { headers as natsHeaders } from "@nats-io/transport-node";
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type ConsumerConfig,
  type JetStreamManager,
} from "@nats-io/jetstream";
import { badRequest, notFound } from "../sdk/errors.js";
import { EVENTS_STREAM } from "../sdk/events.js";
import { decodeToJson, SchemaError } from "../sdk/json-codec.js";
import { defineService, ServiceBase, type RpcHandlers, type ServiceContext } from "../sdk/runtime.js";
import {
  clampLimit,
  consumerState,
  lagging,
  nanosToTimestamp,
  publishSubjectProblem,
  replayFilter,
  replayStart,
  streamInfo,
  withinBudget,
  type ConsumerSnapshot,
  type StoredMessage,
  type StreamSnapshot,
} from "./domain.js";
import type {
  ConsumerLagRequest,
  ConsumerLagResponse,
  EventBusServiceRpcs,
  PublishRequest,
  PublishResponse,
  ReplayRequest,
  ReplayResponse,
  StreamInfoRequest,
  StreamInfoResponse,
} from "../generated/event_bus/v1/event_bus.js";

const REPLAY_PREFIX = "event-bus-replay-";
/** payload bytes (base64) per replay reply: NATS messages are limited to 1 MiB by default */
const REPLY_BUDGET = 768 * 1024;

const envInt = (v: string | undefined, def: number) =>
  v && Number.isInteger(Number(v)) && Number(v) > 0 ? Number(v) : def;

class EventBus extends ServiceBase implements RpcHandlers<EventBusServiceRpcs> {
  private readonly lagDefault = envInt(this.ctx.env.EVENT_BUS_LAG_THRESHOLD, 1000);
  private readonly replayDefault = envInt(this.ctx.env.EVENT_BUS_REPLAY_DEFAULT, 100);
  private readonly replayMax = envInt(this.ctx.env.EVENT_BUS_REPLAY_MAX, 1000);
  private readonly maxPayload = envInt(this.ctx.env.EVENT_BUS_MAX_PAYLOAD, 512 * 1024);
  private readonly js = jetstream(this.ctx.nc);

  constructor(
    ctx: ServiceContext,
    private readonly jsm: JetStreamManager,
  ) {
    super(ctx);
  }

  async Publish(req: PublishRequest): Promise<PublishResponse> {
    const problem = publishSubjectProblem(req.subject);
    if (problem) throw badRequest(problem);
    const payload = Buffer.from(req.payload, "base64");
    if (payload.length > this.maxPayload)
      throw badRequest(`payload is ${payload.length} bytes, more than ${this.maxPayload}`);
    if (req.msgId.length > 128) throw badRequest("msgId is longer than 128 characters");
    const known = this.ctx.registry.event(req.subject);
    if (known) {
      try {
        decodeToJson(known.type, payload);
      } catch (err) {
        if (err instanceof SchemaError)
          throw badRequest(`payload is not a ${known.type.fullName.slice(1)}: ${err.message}`);
        throw err;
      }
    }
    const h = natsHeaders();
    for (const [k, v] of Object.entries(req.headers)) {
      if (/^nats-/i.test(k)) throw badRequest(`header ${k} is reserved (use msgId for Nats-Msg-Id)`);
      try {
        h.set(k, v);
      } catch (err) {
        throw badRequest(`header ${k}: ${(err as Error).message}`);
      }
    }
    const ack = await this.js.publish(req.subject, payload, { headers: h, ...(req.msgId ? { msgID: req.msgId } : {}) });
    return { stream: ack.stream, seq: String(ack.seq), duplicate: ack.duplicate };
  }

  async Replay(req: ReplayRequest): Promise<ReplayResponse> {
    const f = replayFilter(req.subjectFilter);
    if ("problem" in f) throw badRequest(f.problem);
    if (req.limit > this.replayMax) throw badRequest(`limit must be <= ${this.replayMax}`);
    const limit = clampLimit(req.limit, this.replayDefault, this.replayMax);
    const start = replayStart(req.fromTime, req.fromSeq);
    const name = `${REPLAY_PREFIX}${randomBytes(6).toString("hex")}`;
    const config: Partial<ConsumerConfig> = {
      name,
      ack_policy: AckPolicy.None,
      filter_subject: f.filter,
      inactive_threshold: 30e9,
      mem_storage: true,
      num_replicas: 1,
      ...start,
      deliver_policy: start.deliver_policy as DeliverPolicy,
    };
    const ci = await this.jsm.consumers.add(EVENTS_STREAM, config);
    try {
      const want = Math.min(limit, ci.num_pending);
      const read: StoredMessage[] = [];
      if (want > 0) {
        const consumer = this.js.consumers.getConsumerFromInfo(ci);
        const iter = await consumer.fetch({ max_messages: want, expires: 5000 });
        for await (const m of iter) {
          const headers: Record<string, string> = {};
          for (const [k, vs] of m.headers ?? []) headers[k] = vs.join(",");
          read.push({
            seq: String(m.seq),
            subject: m.subject,
            time: nanosToTimestamp(m.timestampNanos),
            payload: Buffer.from(m.data).toString("base64"),
            headers,
          });
          if (read.length >= want) break;
        }
      }
      const messages = withinBudget(read, REPLY_BUDGET);
      const last = messages.at(-1);
      return {
        messages,
        nextSeq: last ? String(Number(last.seq) + 1) : "0",
        hasMore: ci.num_pending > messages.length,
      };
    } finally {
      await this.jsm.consumers.delete(EVENTS_STREAM, name).catch(() => undefined);
    }
  }

  async ConsumerLag(req: ConsumerLagRequest): Promise<ConsumerLagResponse> {
    const asked = Number(req.lagThreshold);
    if (asked < 0) throw badRequest("lagThreshold must be >= 0");
    const threshold = asked > 0 ? asked : this.lagDefault;
    const infos = (await this.jsm.consumers.list(EVENTS_STREAM).next()) as unknown as ConsumerSnapshot[];
    const consumers = infos
      .filter((ci) => !ci.name.startsWith(REPLAY_PREFIX))
      .filter((ci) => !req.consumer || ci.name === req.consumer)
      .map(consumerState)
      .sort((a, b) => a.name.localeCompare(b.name));
    if (req.consumer && consumers.length === 0) throw notFound(`no consumer ${req.consumer} on ${EVENTS_STREAM}`);
    const at = new Date().toISOString();
    for (const c of lagging(consumers, threshold)) {
      await this.ctx.events.publish("ConsumerLaggingEvent", {
        stream: EVENTS_STREAM,
        consumer: c.name,
        lag: c.lag,
        threshold: String(threshold),
        at,
      });
      this.ctx.log.warn("consumer lagging", { consumer: c.name, lag: c.lag, threshold });
    }
    const si = await this.streamSnapshot();
    return { stream: EVENTS_STREAM, consumers, lastSeq: String(si.state.last_seq) };
  }

  async StreamInfo(_req: StreamInfoRequest): Promise<StreamInfoResponse> {
    return streamInfo(await this.streamSnapshot());
  }

  private async streamSnapshot(): Promise<StreamSnapshot> {
    try {
      return (await this.jsm.streams.info(EVENTS_STREAM)) as unknown as StreamSnapshot;
    } catch (err) {
      if (/not found/i.test((err as Error).message)) throw notFound(`stream ${EVENTS_STREAM} does not exist`);
      throw err;
    }
  }
}

export default defineService({
  name: "event-bus",
  description: "Publish, replay, consumer lag and stream information for the events stream",
  start: async (ctx) => new EventBus(ctx, await jetstreamManager(ctx.nc)),
});
