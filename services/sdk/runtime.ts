// The service runtime: one @nats-io/services micro service per process, one endpoint per rpc of the
// service's proto definition, on the subject the registry derives, in a queue group so instances share load.
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { errors, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import { Svcm, type Service, type ServiceMsg } from "@nats-io/services";
import { FleetClient, DEADLINE_HEADER } from "./client.js";
import { connectWith, settingsFromEnv } from "./connection.js";
import { ServiceError } from "./errors.js";
import { Events, ensureEventsStream } from "./events.js";
import { isLeaderless } from "./jetstream-retry.js";
import { decodeToJson, encodeJson, SchemaError } from "./json-codec.js";
import { latencyHistogramsEnabled, LatencyTracker, type EndpointLatency } from "./latency.js";
import { createLogger, type Logger } from "./log.js";
import { tracingEnabled, Tracer, type Hop } from "./trace.js";
import { ProtoRegistry, findProtoDir, type RpcDef } from "./registry.js";
import { schemaDigest, schemaMetadata, serveSchema } from "./schema.js";
import { openStore, type KvStore } from "./state.js";

export const QUEUE_GROUP = "gs";

export interface ServiceContext {
  name: string;
  instanceId: string;
  version: string;
  nc: NatsConnection;
  log: Logger;
  /** this service's own key-value state */
  state: KvStore;
  events: Events;
  /** calls to other services of the fleet */
  client: FleetClient;
  registry: ProtoRegistry;
  env: NodeJS.ProcessEnv;
  /** aborted when the instance starts shutting down */
  signal: AbortSignal;
}

export interface CallContext {
  subject: string;
  headers?: MsgHdrs;
  /** unix ms after which the caller has given up */
  deadline: number;
  log: Logger;
  /** this request's trace: pass it on as `{ trace: call.trace }` to ctx.client.call and ctx.events.publish (undefined with GS_TRACING=0) */
  trace?: Hop;
}

// Handlers see requests and return responses in proto3 JSON form (camelCase, int64 as strings,
// enums by name), typed by the interfaces generated from proto/ into services/generated/.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Handler = (request: any, call: CallContext) => unknown;

/** The handler of one rpc: its request and response in their proto3 JSON form. */
export type RpcHandler<Req, Res> = (request: Req, call: CallContext) => Res | Promise<Res>;

/**
 * One handler per rpc, named after it, from a service's generated `<Service>Rpcs` interface:
 * `class Payment implements RpcHandlers<PaymentServiceRpcs> { async Deposit(req, call) { ... } }`.
 */
export type RpcHandlers<Rpcs> = {
  [M in keyof Rpcs]: Rpcs[M] extends { request: infer Req; response: infer Res } ? RpcHandler<Req, Res> : never;
};

/**
 * What `start` returns: an object whose methods named after the rpcs (PascalCase, as in the proto)
 * are the handlers, usually an instance of the service's class; its `stop()`, if any, is called
 * when the instance stops.
 */
export type Handlers = object & { stop?(): Promise<void> | void };

export interface ServiceModule {
  /** fleet name, e.g. `quest-system`: its proto package is `quest_system.v1` */
  name: string;
  description: string;
  /** Build the handlers, one per rpc of the proto service (checked at start). */
  start(ctx: ServiceContext): Promise<Handlers> | Handlers;
  /** Release what `start` acquired (timers, consumers). Called after in-flight requests finished. */
  stop?(): Promise<void> | void;
}

/**
 * A base for a service's class: `ctx` is set before the subclass's fields are initialised, so the
 * state a service declares as fields can be built from it (`private readonly leaseMs = Number(this.ctx.env.X)`).
 */
export abstract class ServiceBase {
  constructor(protected readonly ctx: ServiceContext) {}
}

/** The rpc-named (PascalCase) methods of `handlers`, own or inherited from its class. */
function handlerMethods(handlers: object): Map<string, Handler> {
  const out = new Map<string, Handler>();
  for (let o: object | null = handlers; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const key of Object.getOwnPropertyNames(o)) {
      const value = (handlers as Record<string, unknown>)[key];
      if (/^[A-Z]/.test(key) && typeof value === "function" && !out.has(key))
        out.set(key, (value as Handler).bind(handlers));
    }
  }
  return out;
}

export function defineService(mod: ServiceModule): ServiceModule {
  return mod;
}

export interface StartOptions {
  nc: NatsConnection;
  registry?: ProtoRegistry;
  env?: NodeJS.ProcessEnv;
  version?: string;
  log?: Logger;
  /** state store; default from env (GS_STATE_BACKEND, GS_REDIS_URL) */
  state?: KvStore;
  /** the latency histograms' clock (monotonic ms); tests move it on instead of waiting for the window */
  latencyClock?: () => number;
  /** the FileDescriptorSet the service was built with, served over NATS (schema.ts); none: no reflection */
  schema?: Uint8Array;
}

export interface RunningService {
  id: string;
  name: string;
  version: string;
  ctx: ServiceContext;
  /** stop taking requests, wait for in-flight ones (up to `timeoutMs`), then release resources; true when all finished */
  stop(timeoutMs?: number): Promise<boolean>;
  inFlight(): number;
}

interface EndpointStats {
  processing_time: number;
  average_processing_time: number;
  num_requests: number;
  countError(err: Error): void;
}

let sharedRegistry: ProtoRegistry | undefined;
/** The registry from proto/ (GS_PROTO_DIR or the nearest proto/ folder), loaded once per process. */
export function defaultRegistry(): ProtoRegistry {
  if (!sharedRegistry) {
    const dir = findProtoDir();
    if (!dir) throw new Error("cannot find the proto/ folder: set GS_PROTO_DIR");
    sharedRegistry = ProtoRegistry.load([dir]);
  }
  return sharedRegistry;
}

/** Start `mod` on an existing connection. Used by the process entry point and by tests. */
export async function startService(mod: ServiceModule, opts: StartOptions): Promise<RunningService> {
  const env = opts.env ?? process.env;
  const registry = opts.registry ?? defaultRegistry();
  const def = registry.service(mod.name);
  if (!def) throw new Error(`no proto service for "${mod.name}" (expected package ${mod.name.replace(/-/g, "_")}.v1)`);
  const version = opts.version ?? env.GS_SERVICE_VERSION ?? "0.1.0";
  const deadlineMs = Number(env.GS_REQUEST_DEADLINE_MS ?? 5000);
  const nc = opts.nc;

  // per-endpoint latency histograms, reported as each endpoint's `data` in $SRV.STATS (see latency.ts)
  const latency = latencyHistogramsEnabled(env) ? new LatencyTracker(opts.latencyClock) : undefined;
  const svcm = new Svcm(nc);
  const schemaDigestHex = opts.schema && schemaDigest(opts.schema);
  // served before $SRV.INFO advertises it: the server takes this connection's subscriptions in order, so
  // a client that read the digest from INFO always finds the set
  const schemaSub = opts.schema && serveSchema(nc, mod.name, opts.schema);
  const srv: Service = await svcm.add({
    name: mod.name,
    version,
    description: mod.description,
    queue: QUEUE_GROUP,
    metadata: schemaDigestHex ? schemaMetadata(mod.name, schemaDigestHex) : undefined,
    statsHandler: latency && (async (endpoint) => latency.data(endpoint.subject)),
  });
  const instanceId = srv.info().id;
  // W3C traceparent on every call and publish a handler makes, spans for sampled requests (see trace.ts)
  const tracer = tracingEnabled(env) ? new Tracer(nc, mod.name, instanceId, version) : undefined;
  const log = (opts.log ?? createLogger({ service: mod.name })).child({ instance: instanceId, version });
  const abort = new AbortController();

  let state: KvStore;
  try {
    await ensureEventsStream(nc, Number(env.GS_JS_REPLICAS ?? 1));
    state =
      opts.state ??
      (await openStore(nc, mod.name, {
        backend: env.GS_STATE_BACKEND,
        redisUrl: env.GS_REDIS_URL,
        replicas: Number(env.GS_JS_REPLICAS ?? 1),
      }));
  } catch (err) {
    schemaSub?.unsubscribe();
    await srv.stop();
    throw err;
  }
  const ctx: ServiceContext = {
    name: mod.name,
    instanceId,
    version,
    nc,
    log,
    state,
    events: new Events(nc, registry, mod.name),
    client: new FleetClient(nc, registry),
    registry,
    env,
    signal: abort.signal,
  };

  let handlers: Handlers;
  let methods: Map<string, Handler>;
  try {
    handlers = await mod.start(ctx);
    methods = handlerMethods(handlers);
    const missing = def.rpcs.filter((r) => !methods.has(r.method)).map((r) => r.method);
    const extra = [...methods.keys()].filter((m) => !def.rpcs.some((r) => r.method === m));
    if (missing.length || extra.length) {
      throw new Error(
        `${mod.name}: handlers do not match ${def.protoService}` +
          (missing.length ? `; missing: ${missing.join(", ")}` : "") +
          (extra.length ? `; not in the proto: ${extra.join(", ")}` : ""),
      );
    }
  } catch (err) {
    schemaSub?.unsubscribe();
    await srv.stop();
    await state.close();
    throw err;
  }

  let inFlight = 0;
  let idle: (() => void) | undefined;
  const internals = (srv as unknown as { handlers: { name: string; stats: EndpointStats }[] }).handlers;

  // One sweeper for every request's deadline, instead of a timer per request (a hot-path cost). It runs
  // only while a request is in progress: a 10 ms timer costs an idle process ~2% of a core, and a local
  // fleet is 44 such processes on one machine.
  const deadlines = new Set<{ deadline: number; expire: () => void }>();
  let sweeper: NodeJS.Timeout | undefined;
  const sweep = () => {
    const now = Date.now();
    for (const d of deadlines) if (d.deadline <= now) d.expire();
    if (deadlines.size === 0) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  };
  const watchDeadline = (entry: { deadline: number; expire: () => void }) => {
    deadlines.add(entry);
    if (sweeper) return;
    sweeper = setInterval(sweep, 10);
    sweeper.unref();
  };

  latency?.start();
  for (const rpc of def.rpcs) {
    const handler = methods.get(rpc.method)!;
    let stats: EndpointStats | undefined;
    const histograms: EndpointLatency | undefined = latency?.endpoint(rpc.subject);
    // times in ms from performance.now(): a double, where process.hrtime.bigint() allocates two BigInts per request
    const finish = (started: number, failure: ErrorReply | undefined, hop: Hop | undefined) => {
      const ns = Math.round((performance.now() - started) * 1e6);
      // micro times handlers synchronously (ms resolution); add the async part and count error replies
      stats ??= internals?.find((h) => h.name === rpc.method)?.stats;
      if (stats) {
        stats.processing_time += ns;
        stats.average_processing_time = Math.round(stats.processing_time / Math.max(1, stats.num_requests));
        if (failure) stats.countError(failure);
      }
      histograms?.record(ns, failure !== undefined);
      if (hop !== undefined && hop.sampled) hop.end(failure && { code: failure.code, message: failure.reason });
      if (--inFlight === 0 && idle) idle();
    };
    srv.addEndpoint(rpc.method, {
      subject: rpc.subject,
      metadata: { request: rpc.request.fullName.slice(1), response: rpc.response.fullName.slice(1) },
      handler: (err, msg) => {
        if (err) return;
        inFlight++;
        const started = performance.now();
        const hop = tracer?.hop(msg.headers, rpc.subject, started);
        // only sampled hops run in a tracked async context: it costs every promise of the process (trace.ts)
        const outcome = hop?.sampled
          ? tracer!.runSampled(hop, serve, rpc, handler, msg, hop)
          : serve(rpc, handler, msg, hop);
        if (outcome instanceof Promise) void outcome.then((failure) => finish(started, failure, hop));
        else finish(started, outcome, hop);
      },
    });
  }

  /** Answer one request; synchronous when the handler is. Returns the error replied, if any. */
  function serve(
    rpc: RpcDef,
    handler: Handler,
    msg: ServiceMsg,
    hop: Hop | undefined,
  ): ErrorReply | undefined | Promise<ErrorReply | undefined> {
    const now = Date.now();
    const asked = msg.headers ? Number(msg.headers.get(DEADLINE_HEADER)) : 0;
    const deadline = asked > 0 ? Math.min(asked, now + deadlineMs) : now + deadlineMs;
    const fail = (code: number, message: string): ErrorReply => {
      msg.respondError(code, message);
      if (hop !== undefined && hop.sampled) hop.replied();
      return new ErrorReply(code, message);
    };
    const failWith = (err: unknown): ErrorReply => {
      if (err instanceof ServiceError) return fail(err.code, err.message);
      if (err instanceof SchemaError) return fail(400, err.message);
      // NATS or JetStream briefly unavailable (a node lost, a leader being elected): a 503 the caller
      // may retry, not a 500 that reads like a bug
      if (isInfrastructureUnavailable(err)) {
        log.warn("dependency unavailable", { subject: rpc.subject, err: (err as Error).message });
        return fail(503, `temporarily unavailable: ${(err as Error).message}`);
      }
      log.error("handler failed", { subject: rpc.subject, err });
      return fail(500, "internal error");
    };
    const reply = (result: unknown): ErrorReply | undefined => {
      let bytes: Uint8Array;
      try {
        bytes = encodeJson(rpc.response, result ?? {});
      } catch (err) {
        log.error("handler returned an invalid response", { subject: rpc.subject, err: (err as Error).message });
        return fail(500, `internal error: invalid ${rpc.response.name}`);
      }
      msg.respond(bytes);
      if (hop !== undefined && hop.sampled) hop.replied();
      return undefined;
    };
    let request;
    try {
      request = decodeToJson(rpc.request, msg.data);
    } catch (err) {
      return fail(400, (err as Error).message);
    }
    if (deadline <= now) return fail(504, "deadline already passed");
    let result: unknown;
    try {
      result = handler(request, { subject: msg.subject, headers: msg.headers, deadline, log, trace: hop });
    } catch (err) {
      return failWith(err);
    }
    if (!(result instanceof Promise)) return reply(result);
    return new Promise((resolve) => {
      const entry = {
        deadline,
        expire: () => settle(() => fail(504, `${rpc.subject} exceeded its deadline`)),
      };
      const settle = (outcome: () => ErrorReply | undefined) => {
        if (!deadlines.delete(entry)) return; // already answered (or expired)
        resolve(outcome());
      };
      watchDeadline(entry);
      result.then(
        (r) => settle(() => reply(r)),
        (err) => settle(() => failWith(err)),
      );
    });
  }

  // subscriptions reach the server asynchronously: only once flushed is the instance really serving
  await nc.flush();
  log.info("started", { endpoints: def.rpcs.length });

  return {
    id: instanceId,
    name: mod.name,
    version,
    ctx,
    inFlight: () => inFlight,
    async stop(timeoutMs = 10_000): Promise<boolean> {
      await srv.stop(); // drains the endpoint subscriptions: nothing new arrives, delivered messages are served
      await schemaSub?.drain().catch(() => undefined);
      let finished = inFlight === 0;
      if (!finished) {
        finished = await Promise.race([
          new Promise<boolean>((resolve) => (idle = () => resolve(true))),
          new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref()),
        ]);
      }
      clearInterval(sweeper);
      sweeper = undefined;
      latency?.stop();
      abort.abort(); // only now: handlers that watch ctx.signal would fail the requests still being drained
      await handlers.stop?.();
      await mod.stop?.();
      await state.close();
      return finished;
    },
  };
}

/** An error reply sent: micro counts it by its message (`404 no such npc`); spans report code and reason apart. */
class ErrorReply extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
  ) {
    super(`${code} ${reason}`);
  }
}

/** Errors that mean NATS or JetStream could not be reached or had no leader, not that the code is wrong. */
function isInfrastructureUnavailable(err: unknown): boolean {
  // a stream without a leader, as the SDK's retries recognise it (NATS.js reports it as JetStreamNotEnabled)
  if (isLeaderless(err)) return true;
  if (
    err instanceof errors.TimeoutError ||
    err instanceof errors.NoRespondersError ||
    err instanceof errors.RequestError
  )
    return true;
  if (
    err instanceof errors.ConnectionError ||
    err instanceof errors.ClosedConnectionError ||
    err instanceof errors.DrainingConnectionError
  )
    return true;
  const name = (err as Error | undefined)?.name ?? "";
  const message = (err as Error | undefined)?.message ?? "";
  return /JetStream/.test(name) && /timeout|no responders|leader|unavailable|503/i.test(message);
}

/** Where an instance records its identity for the health check (one file per container or local instance). */
export function healthFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.GS_HEALTH_FILE ?? path.join(os.tmpdir(), "gs-health.json");
}

/**
 * The descriptor set `npm run build` compiled for `service` (services/dist/schemas/, beside the SDK's
 * dist/sdk/): how `node services/dist/main.js` serves its schema. Bundles embed theirs instead.
 */
function builtSchema(service: string): Uint8Array | undefined {
  try {
    return new Uint8Array(readFileSync(new URL(`../schemas/${service}.binpb`, import.meta.url)));
  } catch {
    return undefined;
  }
}

/** The process entry point: connect from the environment, serve, drain on SIGTERM/SIGINT and exit 0. */
export async function runServiceProcess(mod: ServiceModule, opts: { schema?: Uint8Array } = {}): Promise<void> {
  const env = process.env;
  const log = createLogger({ service: mod.name });
  const nc = await connectWith(settingsFromEnv(env, `${mod.name}@${os.hostname()}`));
  nc.closed().then((err) => {
    if (err) log.error("connection closed", { err });
  });
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect" || s.type === "reconnect")
        log.warn(`nats ${s.type}`, { server: "server" in s ? s.server : undefined });
    }
  })();
  // signals are handled from the start: endpoints go live inside startService, before it returns
  let stopping = false;
  let started: Promise<RunningService | undefined> = Promise.resolve(undefined);
  const file = healthFile(env);
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const running = await started;
    if (!running) {
      await nc.close().catch(() => undefined);
      process.exit(0);
    }
    const timeoutMs = Number(env.GS_SHUTDOWN_TIMEOUT_MS ?? 10_000);
    log.info("draining", { signal, inFlight: running.inFlight() });
    const hard = setTimeout(() => {
      log.error("shutdown deadline passed", { timeoutMs });
      process.exit(1);
    }, timeoutMs + 2000);
    hard.unref();
    const clean = await running.stop(timeoutMs);
    await nc.drain().catch(() => undefined);
    rmSync(file, { force: true });
    log.info("stopped", { clean });
    process.exit(clean ? 0 : 1);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));

  started = startService(mod, { nc, env, log, schema: opts.schema ?? builtSchema(mod.name) }).catch(async (err) => {
    log.error("failed to start", { err });
    await nc.close().catch(() => undefined);
    process.exit(1);
  });
  const running = await started;
  if (!running || stopping) return;
  // atomic: the health check must never read a half-written record
  writeFileSync(`${file}.tmp`, JSON.stringify({ name: mod.name, id: running.id, pid: process.pid }));
  renameSync(`${file}.tmp`, file);
}
