// `gs rollback`: put services back on an earlier version, as a deploy of that version. The deploy
// orchestrator does the rollout, the NATS verification and (if the old version fails too) the way
// back, with deploy's progress and exit codes; what differs is where the artifact comes from (the
// platform's history, nothing is built) and that the version left behind is recorded as rolled back.
import { deploy, type DeployOptions, type DeployResult } from "../deploy/deploy.js";
import { UsageError } from "../output/errors.js";
import type { Artifact, Platform } from "../platform/platform.js";
import { rollbackTarget, type RollbackTarget } from "./rollback-target.js";

/** How many versions of history a rollback looks through for its target. */
const HISTORY_DEPTH = 50;

export interface RollbackOptions extends Omit<DeployOptions, "builder" | "services" | "rollback"> {
  services: string[];
  /** a version (or ecs revision) from `gs history`; default: the previous good version */
  to?: string;
}

/** Decide every service's target first: an unknown version refuses the whole rollback before anything changes. */
export async function planRollback(platform: Platform, services: string[], to?: string): Promise<RollbackTarget[]> {
  const history = platform.history?.bind(platform);
  if (!history) throw new UsageError(`the ${platform.kind} platform records no history to roll back with`);
  return Promise.all(services.map(async (s) => rollbackTarget(s, await history(s, HISTORY_DEPTH), to)));
}

export async function rollback(opts: RollbackOptions, targets?: RollbackTarget[]): Promise<DeployResult> {
  const plan = targets ?? (await planRollback(opts.platform, opts.services, opts.to));
  const artifacts = new Map<string, Artifact>(plan.map((t) => [t.service, t.to]));
  const leaving = new Map(
    (await opts.platform.describeServices(opts.services)).map((s) => [
      s.name,
      s.deployments.find((d) => d.status === "PRIMARY"),
    ]),
  );
  const result = await deploy({
    ...opts,
    services: opts.services,
    // nothing is built: the artifact is the one the service ran before
    builder: { build: async (service) => artifacts.get(service)! },
    rollback: true,
  });
  for (const r of result.services) {
    const left = leaving.get(r.name);
    if (r.action === "deployed" && left)
      await opts.platform.recordOutcome?.(r.name, left, "rolled_back").catch(() => undefined);
  }
  return result;
}
