// Opening one service's state store for `gs kv`: the name checked (gs.yaml's services, else proto/'s),
// the store found the way the service finds it (state-source.ts), a reader opened, and everything
// closed afterwards.
import { readFileSync } from "node:fs";
import type { NatsConnection } from "@nats-io/transport-node";
import type { GsConfig } from "../config/schema.js";
import { liveFleetRecord } from "../platform/local/fleet-record.js";
import { localPaths, projectRoot } from "../platform/local/paths.js";
import { checkConfigServices, checkServiceNames } from "../config/service-names.js";
import { loadRegistry } from "../proto/load.js";
import { openStateReader } from "./open-state-reader.js";
import type { StateReader } from "./state-reader.js";
import { resolveStateSource } from "./state-source.js";

export interface ServiceStateOptions {
  service: string;
  cwd: string;
  /** --config */
  config?: string;
  env?: NodeJS.ProcessEnv;
  backend?: string;
  redisUrl?: string;
  /** --target: on a local target whose fleet runs `gs up --state redis`, the store is that Redis Cluster */
  target?: string;
  /** opens NATS when the store is JetStream KV; closed here afterwards */
  nats: () => Promise<NatsConnection>;
  timeout: number;
}

/**
 * The local fleet's Redis Cluster, when the target is local and its fleet runs with `gs up --state redis`:
 * the supervisor points every stateful service there, so `gs kv` reads the same store.
 */
function localFleetRedis(
  opts: ServiceStateOptions,
  cfg: GsConfig | undefined,
  targetPlatform: string | undefined,
  env: NodeJS.ProcessEnv,
): { backend: "redis-cluster"; url: string } | undefined {
  if (targetPlatform !== undefined && targetPlatform !== "local") return undefined;
  const redis = liveFleetRecord(localPaths(projectRoot(cfg?.file, opts.cwd), env))?.redis;
  if (!redis || redis.nodes.length === 0) return undefined;
  let auth = "";
  if (redis.passwordFile) {
    try {
      auth = `:${encodeURIComponent(readFileSync(redis.passwordFile, "utf8").trim())}@`;
    } catch {
      return undefined; // not readable by this user: the usual settings apply (and say what is missing)
    }
  }
  return { backend: "redis-cluster", url: redis.nodes.map((n) => `redis://${auth}127.0.0.1:${n.port}`).join(",") };
}

export async function withServiceState<T>(
  opts: ServiceStateOptions,
  fn: (reader: StateReader) => Promise<T>,
): Promise<T> {
  const env = opts.env ?? process.env;
  // gs.yaml is read only here: yaml and zod are a good part of a command's load time
  const { findConfigFile, loadConfig, resolveTarget } = await import("../config/load.js");
  let serviceEnv: Record<string, string> | undefined;
  const cfg = findConfigFile(opts.cwd, opts.config ?? (env.GS_CONFIG || undefined))
    ? loadConfig({ cwd: opts.cwd, file: opts.config, env })
    : undefined;
  if (cfg && Object.keys(cfg.services).length > 0) {
    checkConfigServices([opts.service], cfg);
    serviceEnv = cfg.services[opts.service]!.env;
  } else {
    // no gs.yaml (or one without services): the fleet is what proto/ defines
    const known = loadRegistry({ cwd: opts.cwd })
      .services.map((s) => s.name)
      .sort();
    checkServiceNames([opts.service], known, `services in proto/: ${known.join(", ")}`);
  }
  const source = resolveStateSource({
    service: opts.service,
    backend: opts.backend,
    redisUrl: opts.redisUrl,
    serviceEnv: serviceEnv ?? {},
    fleet:
      opts.backend || opts.redisUrl || serviceEnv?.GS_STATE_BACKEND
        ? undefined
        : localFleetRedis(opts, cfg, cfg && resolveTarget(cfg, opts.target, env).target.platform, env),
  });
  const conn: { nc?: NatsConnection } = {};
  let reader: StateReader;
  try {
    reader = await openStateReader(source, async () => (conn.nc = await opts.nats()), { timeout: opts.timeout });
  } catch (err) {
    await conn.nc?.close();
    throw err;
  }
  try {
    return await fn(reader);
  } finally {
    await reader.close();
    await conn.nc?.close();
  }
}
