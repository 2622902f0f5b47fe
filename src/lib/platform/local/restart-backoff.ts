// How the local platform restarts what exits: nats-server nodes, redis-server nodes and service instances.

/** Restart delays: 0.5s, 1s, 2s ... capped; a slot counts as crash-looping from the third quick exit. */
export const BACKOFF = { baseMs: 500, capMs: 30_000, crashLoopAfter: 3, stableMs: 10_000 } as const;

export function backoffDelay(failures: number): number {
  return Math.min(BACKOFF.baseMs * 2 ** Math.max(0, failures - 1), BACKOFF.capMs);
}

/**
 * The crashes in a row, counting the one just seen: judged by how long the process that just exited
 * ran (healthy, for an instance), so one that was stable for a while starts the backoff over.
 */
export function crashStreak(before: number, ranMs: number): number {
  return ranMs >= BACKOFF.stableMs ? 1 : before + 1;
}
