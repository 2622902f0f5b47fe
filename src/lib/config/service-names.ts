// Service names as a user types them (arguments, --services, --name), checked against the ones gs
// knows before anything is started or sent: an unknown name is a usage error with the closest names.
import path from "node:path";
import { closestNames } from "@gs/fleet/sdk/closest-names";
import { UsageError } from "../output/errors.js";
import type { GsConfig } from "./schema.js";

/**
 * `unknown service X (did you mean Y?)`, or for several, each with its own suggestions.
 * `hint` says where the known names are to be seen.
 */
export function unknownServiceError(unknown: readonly string[], known: readonly string[], hint: string): UsageError {
  const each = unknown.map((name) => {
    const close = closestNames(name, known);
    return `${name}${close.length ? ` (did you mean ${close.join(", ")}?)` : ""}`;
  });
  return new UsageError(`unknown service${unknown.length > 1 ? "s" : ""} ${each.join(", ")}`, hint, "unknown_service");
}

/** Throws unless every name of `asked` is in `known`. */
export function checkServiceNames(asked: readonly string[], known: readonly string[], hint: string): void {
  const unknown = [...new Set(asked.filter((name) => !known.includes(name)))];
  if (unknown.length) throw unknownServiceError(unknown, known, hint);
}

/** The services gs.yaml lists, sorted, and a hint that shows them (or says there is no gs.yaml). */
export function configServices(cfg: Pick<GsConfig, "services" | "file">): { known: string[]; hint: string } {
  const known = Object.keys(cfg.services).sort();
  const file = cfg.file ? path.basename(cfg.file) : undefined;
  if (!file)
    return { known, hint: "no gs.yaml here or above: run gs in the project's directory, or pass --config FILE" };
  if (known.length === 0) return { known, hint: `${file} lists no services: add them under \`services:\`` };
  return { known, hint: `services in ${file}: ${known.join(", ")}` };
}

/** Throws unless gs.yaml lists every name of `asked`. */
export function checkConfigServices(asked: readonly string[], cfg: Pick<GsConfig, "services" | "file">): void {
  const { known, hint } = configServices(cfg);
  checkServiceNames(asked, known, hint);
}

/**
 * For commands that need no gs.yaml (`gs services --name`): with one (found, or given by --config or
 * GS_CONFIG) that lists services, throws unless it lists every name of `asked`; without, any name goes.
 */
export async function checkProjectServices(
  asked: readonly string[],
  opts: { cwd: string; config?: string; env?: NodeJS.ProcessEnv },
): Promise<void> {
  const env = opts.env ?? process.env;
  // gs.yaml is read only when a name is asked for: yaml and zod are most of such a command's load time
  const { findConfigFile, loadConfig } = await import("./load.js");
  if (!findConfigFile(opts.cwd, opts.config ?? (env.GS_CONFIG || undefined))) return;
  const cfg = loadConfig({ cwd: opts.cwd, file: opts.config, env });
  if (Object.keys(cfg.services).length > 0) checkConfigServices(asked, cfg);
}
