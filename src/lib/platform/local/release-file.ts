// .gs/history/<service>.jsonl: how each local rollout ended, one JSON line per outcome, appended by
// the CLI that followed it. A deployment can have several lines (deployed, later rolled back): the
// last one says how it ended. The supervisor keeps no history across `gs down`, this file does.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Artifact, DeploymentInfo, ReleaseOutcome, ReleaseRecord } from "../platform.js";

export interface ReleaseLine {
  deployment: string;
  artifact: Artifact;
  startedAt: string;
  /** when this line was written */
  at: string;
  outcome: ReleaseOutcome;
  deployedBy?: string;
}

const fileOf = (dir: string, service: string) => path.join(dir, `${service}.jsonl`);

export function appendRelease(
  dir: string,
  service: string,
  deployment: DeploymentInfo,
  outcome: ReleaseOutcome,
  deployedBy: string,
  now = new Date(),
): void {
  mkdirSync(dir, { recursive: true });
  const line: ReleaseLine = {
    deployment: deployment.id,
    artifact: deployment.artifact,
    startedAt: deployment.createdAt,
    at: now.toISOString(),
    outcome,
    deployedBy,
  };
  appendFileSync(fileOf(dir, service), JSON.stringify(line) + "\n");
}

/** Every deployment's last line, in file order; a torn or hand-broken line is skipped, not fatal. */
export function readReleases(dir: string, service: string): ReleaseLine[] {
  let text: string;
  try {
    text = readFileSync(fileOf(dir, service), "utf8");
  } catch {
    return [];
  }
  const last = new Map<string, ReleaseLine>();
  for (const raw of text.split("\n")) {
    if (!raw.trim()) continue;
    try {
      const line = JSON.parse(raw) as ReleaseLine;
      if (typeof line.deployment !== "string" || typeof line.artifact?.version !== "string") continue;
      last.delete(line.deployment); // re-inserted: the order is that of each deployment's last word
      last.set(line.deployment, line);
    } catch {
      continue;
    }
  }
  return [...last.values()];
}

/**
 * The history: the file's deployments, and those the running supervisor still holds that no line
 * records (the one `gs up` started, or rollouts of a CLI that was killed), newest first.
 */
export function releaseRecords(lines: ReleaseLine[], live: DeploymentInfo[], limit: number): ReleaseRecord[] {
  const records: (ReleaseRecord & { id: string })[] = lines.map((l) => ({
    id: l.deployment,
    artifact: l.artifact,
    startedAt: l.startedAt,
    ...(l.outcome !== "deployed" ? { endedAt: l.at } : {}),
    outcome: l.outcome,
    ...(l.deployedBy ? { deployedBy: l.deployedBy } : {}),
    current: false,
    available: existsSync(l.artifact.ref),
  }));
  for (const d of live) {
    const current = d.status === "PRIMARY";
    const same = records.find((r) => r.id === d.id);
    if (same) {
      same.current = current;
      if (current) delete same.endedAt;
      continue;
    }
    const outcome = d.rolloutState === "COMPLETED" ? "deployed" : d.rolloutState === "FAILED" ? "failed" : undefined;
    records.push({
      id: d.id,
      artifact: d.artifact,
      startedAt: d.createdAt,
      ...(outcome === "failed" ? { endedAt: d.updatedAt } : {}),
      ...(outcome ? { outcome } : {}),
      current,
      available: existsSync(d.artifact.ref),
    });
  }
  return records
    .sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt))
    .slice(0, limit)
    .map(({ id: _id, ...r }) => r);
}
