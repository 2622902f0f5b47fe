// The gateway process: HTTP on GATEWAY_HOST:GATEWAY_PORT, NATS from the environment.
// Env: NATS_URL (and NATS_CREDS / NATS_NKEY / NATS_USER / NATS_PASSWORD / NATS_TOKEN / NATS_TLS_*),
//      GATEWAY_PORT (default 8080), GATEWAY_HOST (default 127.0.0.1),
//      GATEWAY_MAX_BODY (bytes, default 65536), GATEWAY_TIMEOUT_MS (default 5000),
//      GS_SHUTDOWN_TIMEOUT_MS (default 10000).
import os from "node:os";
import { connectWith, settingsFromEnv } from "../sdk/connection.js";
import { createLogger } from "../sdk/log.js";
import { defaultRegistry } from "../sdk/runtime.js";
import { createGateway } from "./gateway.js";

function positive(name: string, value: string | undefined, def: number): number {
  if (value === undefined || value === "") return def;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${value}"`);
  return n;
}

async function main(): Promise<void> {
  const env = process.env;
  const log = createLogger({ service: "gateway" });
  const port = positive("GATEWAY_PORT", env.GATEWAY_PORT, 8080);
  const host = env.GATEWAY_HOST || "127.0.0.1";
  const maxBodyBytes = positive("GATEWAY_MAX_BODY", env.GATEWAY_MAX_BODY, 64 * 1024);
  const timeoutMs = positive("GATEWAY_TIMEOUT_MS", env.GATEWAY_TIMEOUT_MS, 5000);
  const registry = defaultRegistry();
  const nc = await connectWith(settingsFromEnv(env, `gateway@${os.hostname()}`));
  const server = createGateway({ nc, registry, maxBodyBytes, timeoutMs, log });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  log.info("listening", { host, port, maxBodyBytes, timeoutMs, subjects: registry.rpcs.length });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("draining", { signal });
    const hard = setTimeout(
      () => process.exit(1),
      positive("GS_SHUTDOWN_TIMEOUT_MS", env.GS_SHUTDOWN_TIMEOUT_MS, 10_000),
    );
    hard.unref();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await nc.drain().catch(() => undefined);
    log.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((err: unknown) => {
  createLogger({ service: "gateway" }).error("failed to start", { err });
  process.exit(1);
});
