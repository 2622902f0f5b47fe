// `gs history`: the versions a service ran, newest first, from what its platform records (ecs: the
// task-definition revisions and gs's tags on them; local: .gs/history). How long each ran is derived
// from recorded times only: until its recorded end, until the next version began, or (current) until now.
import { GsError, UsageError } from "../output/errors.js";
import type { Platform, ReleaseOutcome, ReleaseRecord } from "../platform/platform.js";

export interface HistoryEntry {
  version: string;
  /** ecs: the task-definition revision (`family:N`) */
  revision?: string;
  /** ISO time it began rolling out */
  startedAt: string;
  /** how long it ran, in seconds; absent when nothing recorded says when it stopped */
  ranSeconds?: number;
  /** absent while it rolls out, or for a version no gs recorded */
  outcome?: ReleaseOutcome;
  deployedBy?: string;
  current: boolean;
  /** false: the platform can no longer run it (local: its build is gone), so `gs rollback` cannot go back to it */
  available: boolean;
}

/** How `gs history` shows an outcome. */
export const OUTCOME_TEXT: Record<ReleaseOutcome, string> = {
  deployed: "deployed",
  rolled_back: "rolled back",
  failed: "failed",
  canary_aborted: "canary aborted",
};

/** The platform's records of `service`, newest first, with how long each ran. */
export async function serviceHistory(platform: Platform, service: string, limit: number): Promise<HistoryEntry[]> {
  if (!platform.history) throw new GsError(`the ${platform.kind} platform records no history`, { code: "no_history" });
  return historyEntries(await platform.history(service, limit), Date.now());
}

/** Records (newest first) as entries; a version ran until its recorded end, else until the next one began. */
export function historyEntries(records: ReleaseRecord[], now: number): HistoryEntry[] {
  return records.map((r, i) => {
    const began = Date.parse(r.startedAt);
    // the next newer version that took over (a failed one never did: the older one kept serving)
    const next = records.slice(0, i).findLast((n) => n.outcome !== "failed" && n.outcome !== "canary_aborted");
    const end = r.current ? now : r.endedAt ? Date.parse(r.endedAt) : next ? Date.parse(next.startedAt) : undefined;
    return {
      version: r.artifact.version,
      ...(r.artifact.revision ? { revision: shortRevision(r.artifact.revision) } : {}),
      startedAt: r.startedAt,
      ...(end !== undefined && end >= began ? { ranSeconds: Math.round((end - began) / 1000) } : {}),
      ...(r.outcome ? { outcome: r.outcome } : {}),
      ...(r.deployedBy ? { deployedBy: r.deployedBy } : {}),
      current: r.current,
      available: r.available,
    };
  });
}

/** `arn:aws:ecs:…:task-definition/auth-nats:7` -> `auth-nats:7` */
export function shortRevision(arn: string): string {
  return arn.split("/").pop() ?? arn;
}

/** `-n`: how many versions to show. */
export function checkLimit(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 100)
    throw new UsageError(`bad -n ${n}`, "pass a whole number from 1 to 100");
  return n;
}
