// Opening one service's state store for `gs kv`: the name checked (gs.yaml's services, else proto/'s),
// the store found the way the service finds it (state-source.ts), a reader opened, and everything
// closed afterwards.
import type { NatsConnection } from "@nats-io/transport-node";
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
  /** opens NATS when the store is JetStream KV; closed here afterwards */
  nats: () => Promise<NatsConnection>;
  timeout: number;
}

export async function withServiceState<T>(
  opts: ServiceStateOptions,
  fn: (reader: StateReader) => Promise<T>,
): Promise<T> {
  const env = opts.env ?? process.env;
  // gs.yaml is read only here: yaml and zod are a good part of a command's load time
  const { findConfigFile, loadConfig } = await import("../config/load.js");
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
    serviceEnv,
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
