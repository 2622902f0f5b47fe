// The gateway as a member of the fleet: HTTP on the socket the local supervisor hands over
// (GS_LISTEN=ipc: every instance serves the same port, as node's cluster module shares one) or on
// GATEWAY_HOST:GATEWAY_PORT, and a NATS micro service `gateway` like every service, so gs discovers,
// counts, measures and health-checks it the same way: its endpoint `http` counts the HTTP requests
// (num_requests, num_errors for 4xx/5xx answers, processing time, the latency histograms of $SRV.STATS),
// and its metadata says where it listens.
// Env: NATS_URL (and NATS_CREDS / NATS_NKEY / NATS_TLS_* ...), GATEWAY_PORT (default 8080),
//      GATEWAY_HOST (default 127.0.0.1), GATEWAY_MAX_BODY (bytes, default 65536),
//      GATEWAY_TIMEOUT_MS (default 5000), GS_SERVICE_VERSION, GS_HEALTH_FILE, GS_SHUTDOWN_TIMEOUT_MS (default 10000).
import { renameSync, rmSync, writeFileSync } from "node:fs";
import type http from "node:http";
import net from "node:net";
import os from "node:os";
import { Svcm } from "@nats-io/services";
import { connectWith, settingsFromEnv } from "../sdk/connection.js";
import { latencyHistogramsEnabled, LatencyTracker } from "../sdk/latency.js";
import { createLogger } from "../sdk/log.js";
import { GATEWAY_SERVICE, GATEWAY_STATS_SUBJECT } from "../sdk/permissions.js";
import { defaultRegistry, healthFile, QUEUE_GROUP } from "../sdk/runtime.js";
import { createGateway } from "./gateway.js";

interface EndpointStats {
  processing_time: number;
  average_processing_time: number;
  num_requests: number;
  countError(err: Error): void;
}

function nonNegative(name: string, value: string | undefined, def: number): number {
  if (value === undefined || value === "") return def;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${value}"`);
  return n;
}

/** The socket the supervisor sends (`{ gs: "listen" }` with a server handle), or GATEWAY_HOST:GATEWAY_PORT. */
function listen(server: http.Server, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    if (env.GS_LISTEN !== "ipc") {
      server.listen(nonNegative("GATEWAY_PORT", env.GATEWAY_PORT, 8080), env.GATEWAY_HOST || "127.0.0.1", resolve);
      return;
    }
    if (!process.send) {
      reject(new Error("GS_LISTEN=ipc needs an IPC channel to the supervisor"));
      return;
    }
    process.once("message", (msg: unknown, handle: unknown) => {
      if ((msg as { gs?: string } | null)?.gs !== "listen" || !handle) {
        reject(new Error("the supervisor sent no listening socket"));
        return;
      }
      server.listen(handle as net.Server, resolve);
      // the channel must not keep a drained instance alive
      process.channel?.unref();
    });
  });
}

export async function runGatewayProcess(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const log = createLogger({ service: GATEWAY_SERVICE });
  const maxBodyBytes = nonNegative("GATEWAY_MAX_BODY", env.GATEWAY_MAX_BODY, 64 * 1024);
  const timeoutMs = nonNegative("GATEWAY_TIMEOUT_MS", env.GATEWAY_TIMEOUT_MS, 5000);
  const shutdownMs = nonNegative("GS_SHUTDOWN_TIMEOUT_MS", env.GS_SHUTDOWN_TIMEOUT_MS, 10_000);
  const version = env.GS_SERVICE_VERSION ?? "0.1.0";
  const registry = defaultRegistry();
  const nc = await connectWith(settingsFromEnv(env, `${GATEWAY_SERVICE}@${os.hostname()}`));

  const latency = latencyHistogramsEnabled(env) ? new LatencyTracker() : undefined;
  // set once the micro service exists (the HTTP server must listen first: its address is in the metadata)
  const endpoint: { stats?: EndpointStats } = {};
  const server = createGateway({
    nc,
    registry,
    maxBodyBytes,
    timeoutMs,
    log,
    onResponse: (status, ns, message) => {
      const failed = status >= 400;
      latency?.endpoint(GATEWAY_STATS_SUBJECT).record(ns, failed);
      const stats = endpoint.stats;
      if (!stats) return;
      stats.num_requests++;
      stats.processing_time += ns;
      stats.average_processing_time = Math.round(stats.processing_time / stats.num_requests);
      if (failed) stats.countError(new Error(message ?? String(status)));
    },
  });
  await listen(server, env);
  const addr = server.address() as net.AddressInfo;
  const url = `http://${addr.address}:${addr.port}`;

  const srv = await new Svcm(nc).add({
    name: GATEWAY_SERVICE,
    version,
    description: "HTTP -> NATS: POST /v1/<subject> with a JSON body, the reply as JSON",
    queue: QUEUE_GROUP,
    metadata: { http: url },
    statsHandler: latency && (async (endpoint) => latency.data(endpoint.subject)),
  });
  srv.addEndpoint("http", {
    subject: GATEWAY_STATS_SUBJECT,
    metadata: { http: url },
    handler: (err, msg) => {
      if (!err) msg.respond(JSON.stringify({ url, instance: srv.info().id }));
    },
  });
  // micro keeps each endpoint's counters on its handler: the HTTP requests are counted into the same ones
  endpoint.stats = (srv as unknown as { handlers: { name: string; stats: EndpointStats }[] }).handlers.find(
    (h) => h.name === "http",
  )?.stats;
  latency?.start();
  await nc.flush();
  const file = healthFile(env);
  // atomic: the health check must never read a half-written record
  writeFileSync(`${file}.tmp`, JSON.stringify({ name: GATEWAY_SERVICE, id: srv.info().id, pid: process.pid }));
  renameSync(`${file}.tmp`, file);
  log.info("listening", { url, version, maxBodyBytes, timeoutMs, subjects: registry.rpcs.length });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("draining", { signal });
    const hard = setTimeout(() => process.exit(1), shutdownMs + 2000);
    hard.unref();
    // no new connections. Keep-alive connections are not cut while idle (http.Server.close would: a request
    // the client sends on one at that moment fails with a reset); each ends after its next response, which
    // says `Connection: close`, or at its keep-alive timeout, which clients see coming
    server.on("request", (_req, res) => res.setHeader("Connection", "close"));
    const closed = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
    const late = setTimeout(() => server.closeAllConnections(), shutdownMs);
    late.unref();
    await closed;
    await srv.stop().catch(() => undefined);
    latency?.stop();
    await nc.drain().catch(() => undefined);
    rmSync(file, { force: true });
    log.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}
