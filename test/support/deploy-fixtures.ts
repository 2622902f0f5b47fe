// A DeployBoard on a fake clock and the events a real deploy feeds it, for the deploy board's and the
// deploy view's tests.
import { DeployBoard, type BoardRow } from "../../src/lib/deploy/deploy-board.js";
import type { DeployProgress, ServiceDeployResult } from "../../src/lib/deploy/deploy.js";

/** the version running before the deploy */
export const A = "0.1.0+aaaaaaaaaaaa";
/** the version the deploy rolls out */
export const B = "0.1.0+bbbbbbbbbbbb";

/** A board of `services` (target "prod" on ecs, "local" otherwise) whose clock moves only by `tick`. */
export function boardOf(
  services: string[],
  opts: { platform?: "local" | "ecs"; concurrency?: number; startMs?: number } = {},
) {
  const platform = opts.platform ?? "local";
  let now = opts.startMs ?? 1_000_000;
  const board = new DeployBoard({
    target: platform === "ecs" ? "prod" : "local",
    platform,
    services,
    concurrency: opts.concurrency ?? 6,
    now: () => now,
  });
  const row = (name: string): BoardRow => {
    const r = board.rows().find((x) => x.name === name);
    if (!r) throw new Error(`no row ${name}`);
    return r;
  };
  return {
    board,
    row,
    tick: (ms: number) => (now += ms),
    feed: (...events: DeployProgress[]) => events.forEach((e) => board.progress(e)),
  };
}

export const rollout = (
  service: string,
  running: number,
  pending: number,
  failed = 0,
  from: string | null = A,
  to = B,
): DeployProgress => ({ kind: "rollout", service, from, to, running, desired: 2, pending, failed });

/** A service's result: from A to B in 4.2 s unless `r` says otherwise. */
export const result = (
  r: Partial<ServiceDeployResult> & { name: string; action: ServiceDeployResult["action"] },
): ServiceDeployResult => ({ from: A, to: B, seconds: 4.2, ...r });

export const done = (r: Parameters<typeof result>[0]): DeployProgress => ({ kind: "done", result: result(r) });
