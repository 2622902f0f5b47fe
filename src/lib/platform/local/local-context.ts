// Which local fleet a command means: gs.yaml (its folder is the project), a local target, .gs/.
import path from "node:path";
import { loadConfig, resolveTarget, type GsConfig, type LocalTarget } from "../../config/load.js";
import { UsageError } from "../../output/errors.js";
import { localPaths, projectRoot, type LocalPaths } from "./paths.js";

export interface LocalContext {
  cfg: GsConfig;
  targetName: string;
  target: LocalTarget;
  paths: LocalPaths;
  servicesDir: string;
  protoDir: string;
}

export function localTargets(cfg: GsConfig): string[] {
  return Object.entries(cfg.targets)
    .filter(([, t]) => t.platform === "local")
    .map(([n]) => n)
    .sort();
}

export function localContext(opts: {
  cwd: string;
  config?: string;
  target?: string;
  env?: NodeJS.ProcessEnv;
  command: string;
}): LocalContext {
  const env = opts.env ?? process.env;
  const cfg = loadConfig({ cwd: opts.cwd, file: opts.config, env });
  const { name, target } = resolveTarget(cfg, opts.target, env);
  if (target.platform !== "local") {
    const locals = localTargets(cfg);
    throw new UsageError(
      `\`gs ${opts.command}\` works on the local platform; target "${name}" runs on ${target.platform}`,
      `pick a local target (${locals.join(", ")}) with --target`,
      "not_local",
    );
  }
  const root = projectRoot(cfg.file, opts.cwd);
  return {
    cfg,
    targetName: name,
    target,
    paths: localPaths(root, env),
    servicesDir: path.join(root, "services"),
    protoDir: path.join(root, "proto"),
  };
}
