// Test harness: real nats-server with JetStream on a free loopback port, services started in-process
// through the real runtime, and a client that speaks JSON <-> protobuf like any caller.
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startNatsServer } from "../../test/support/nats-server.js";
import { FleetClient } from "../sdk/client.js";
import { ServiceError } from "../sdk/errors.js";
import { createLogger } from "../sdk/log.js";
import { defaultRegistry, startService, type RunningService, type ServiceModule } from "../sdk/runtime.js";
import type { KvStore } from "../sdk/state.js";

export interface Harness {
  url: string;
  nc: NatsConnection;
  client: FleetClient;
  /** call an rpc and return its JSON reply */
  call<T = Record<string, unknown>>(subject: string, request?: unknown): Promise<T>;
  /** call an rpc that must fail; returns the ServiceError (code + message) */
  fail(subject: string, request?: unknown): Promise<ServiceError>;
  start(
    mod: ServiceModule,
    opts?: { env?: NodeJS.ProcessEnv; state?: KvStore; latencyClock?: () => number },
  ): Promise<RunningService>;
  stop(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const server = await startNatsServer({ jetstream: true });
  const nc = await connect({ servers: server.url });
  const registry = defaultRegistry();
  // tests of behaviour, not of latency: a call and a request may take 20 s (not 5) before they fail,
  // so 50 purchases queued on one wallet still pass while CI runs a 44-instance game day beside them
  const client = new FleetClient(nc, registry, 20_000);
  const running: RunningService[] = [];
  const conns: NatsConnection[] = [nc];
  const quiet = createLogger({}, { level: "error", write: () => undefined });
  return {
    url: server.url,
    nc,
    client,
    call: (subject, request = {}) => client.call(subject, request),
    async fail(subject, request = {}) {
      try {
        await client.call(subject, request);
      } catch (err) {
        if (err instanceof ServiceError) return err;
        throw err;
      }
      throw new Error(`${subject} succeeded but was expected to fail`);
    },
    async start(mod, opts = {}) {
      // each service gets its own connection, as in production
      const snc = await connect({ servers: server.url });
      conns.push(snc);
      const s = await startService(mod, {
        nc: snc,
        registry,
        env: { GS_REQUEST_DEADLINE_MS: "20000", ...process.env, ...opts.env },
        log: quiet,
        state: opts.state,
        latencyClock: opts.latencyClock,
      });
      running.push(s);
      return s;
    },
    async stop() {
      for (const s of running.reverse()) await s.stop(2000).catch(() => undefined);
      for (const c of conns) await c.close().catch(() => undefined);
      await server.stop();
    },
  };
}
