// The platform of a gs.yaml target, local or ecs, chosen by its `platform`: what `gs deploy`, `gs logs`
// (and `gs status`) open. The fleet's NATS comes with it: the local fleet's connection, or — for ecs —
// the target's `nats.url` with its credentials, connected only when first asked for.
import type { NatsConnection } from "@nats-io/transport-node";
import { loadConfig, resolveTarget, type GsConfig, type Target } from "../config/load.js";
import { connectTargetNats } from "../nats/target-nats.js";
import { OperationError } from "../output/errors.js";
import { openLocalPlatform, NOT_RUNNING_HINT } from "./local/local-platform.js";
import { localPaths, projectRoot, type LocalPaths } from "./local/paths.js";
import type { Platform } from "./platform.js";

export interface PlatformContext {
  cfg: GsConfig;
  targetName: string;
  target: Target;
  /** the project: the folder of gs.yaml */
  root: string;
  paths: LocalPaths;
}

/** Read gs.yaml and pick the target; no I/O beyond the file. */
export function platformContext(opts: {
  cwd: string;
  config?: string;
  target?: string;
  env?: NodeJS.ProcessEnv;
}): PlatformContext {
  const env = opts.env ?? process.env;
  const cfg = loadConfig({ cwd: opts.cwd, file: opts.config, env });
  const { name, target } = resolveTarget(cfg, opts.target, env);
  const root = projectRoot(cfg.file, opts.cwd);
  return { cfg, targetName: name, target, root, paths: localPaths(root, env) };
}

export interface OpenedPlatform {
  platform: Platform;
  /** the local fleet's NATS connection when it runs (ecs: see nats()) */
  nc?: NatsConnection;
  /** the fleet's NATS: connected on first call (ecs), the open connection (local) */
  nats(): Promise<NatsConnection>;
  /** the fleet's NATS URL, servers separated by commas: the running local fleet's, or the ecs target's `nats.url` */
  natsUrl?: string;
  close(): Promise<void>;
}

export interface OpenPlatformOptions {
  /** ecs: roll a failed deployment back (default true) */
  rollback?: boolean;
  /** local: false opens a platform that can still read logs when the fleet is down */
  requireRunning?: boolean;
  /** local: the NATS connection's name (default "gs") */
  name?: string;
  /** keep reconnecting through NATS outages instead of failing (ecs: once the first connect succeeded) */
  reconnect?: boolean;
}

export async function openPlatform(ctx: PlatformContext, opts: OpenPlatformOptions = {}): Promise<OpenedPlatform> {
  const target = ctx.target;
  if (target.platform === "local") {
    const local = await openLocalPlatform(ctx.targetName, ctx.paths, {
      requireRunning: opts.requireRunning,
      name: opts.name,
      reconnect: opts.reconnect,
    });
    return {
      platform: local.platform,
      nc: local.nc,
      natsUrl: local.record?.nats.url,
      nats: async () => {
        if (!local.nc)
          throw new OperationError("the local fleet is not running", { hint: NOT_RUNNING_HINT, code: "not_running" });
        return local.nc;
      },
      close: local.close,
    };
  }
  // the AWS SDK loads only for ecs targets
  const { openEcsPlatform } = await import("./ecs/open-ecs-platform.js");
  const platform = await openEcsPlatform(ctx.cfg, ctx.targetName, target, { rollback: opts.rollback ?? true });
  let nc: Promise<NatsConnection> | undefined;
  return {
    platform,
    natsUrl: target.nats.url,
    nats: () =>
      (nc ??= connectTargetNats(target, { targetName: ctx.targetName, root: ctx.root, reconnect: opts.reconnect })),
    close: async () => {
      const open = await nc?.catch(() => undefined);
      await open?.close();
    },
  };
}
