// The one place commands resolve and open NATS connections: flags -> settings (target, env, contexts) -> connect.
import type { NatsConnection } from "@nats-io/transport-node";
import { connectNats } from "./lib/nats/connect.js";
import { resolveConnection, type ResolvedConnection } from "./lib/nats/options.js";

export interface NatsFlagValues {
  server?: string;
  context?: string;
  creds?: string;
  user?: string;
  password?: string;
  "tls-ca"?: string;
  "tls-cert"?: string;
  "tls-key"?: string;
  timeout: number;
  target?: string;
  config?: string;
}

/** The NATS URL of the selected target when it names one (ecs targets); the local target is found through .gs/. */
async function targetNatsUrl(flags: NatsFlagValues, cwd: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (!flags.target && !env.GS_TARGET) return undefined;
  // gs.yaml is read only when a target is asked for: zod and yaml are most of a messaging command's load time
  const { findConfigFile, loadConfig, resolveTarget } = await import("./lib/config/load.js");
  if (!findConfigFile(cwd, flags.config)) return undefined;
  const { target } = resolveTarget(loadConfig({ cwd, file: flags.config }), flags.target);
  return target.platform === "ecs" ? target.nats?.url : undefined;
}

/** Connection settings from the shared NATS flags, env, gs.yaml target, local fleet and natscli contexts. */
export async function natsSettings(flags: NatsFlagValues): Promise<ResolvedConnection> {
  const cwd = process.cwd();
  const env = process.env;
  return resolveConnection(
    {
      server: flags.server,
      context: flags.context,
      creds: flags.creds,
      user: flags.user,
      password: flags.password,
      tlsCa: flags["tls-ca"],
      tlsCert: flags["tls-cert"],
      tlsKey: flags["tls-key"],
      timeout: flags.timeout,
    },
    { cwd, env, targetNatsUrl: await targetNatsUrl(flags, cwd, env) },
  );
}

export async function openNats(
  flags: NatsFlagValues,
  name = "gs",
): Promise<{ nc: NatsConnection; url: string; source: string }> {
  const settings = await natsSettings(flags);
  const nc = await connectNats(settings, { name });
  return { nc, url: settings.servers.join(","), source: settings.source };
}

/**
 * A connection opened on first use: commands whose message types may come from the fleet connect
 * before encoding only when they must (local .proto files need no connection, and bad input is
 * refused before anything connects). `close` closes it only if it was opened.
 */
export function lazyNats(
  flags: NatsFlagValues,
  name = "gs",
): { connect(): Promise<NatsConnection>; close(): Promise<void> } {
  let opened: Promise<{ nc: NatsConnection }> | undefined;
  return {
    connect: async () => (await (opened ??= openNats(flags, name))).nc,
    close: async () => {
      if (!opened) return;
      const conn = await opened.catch(() => undefined);
      await conn?.nc.close();
    },
  };
}
