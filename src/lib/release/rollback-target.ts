// Which version `gs rollback` goes back to: the named one (a version, or on ecs a revision `family:N`
// or its number), else the newest version before the current one that deployed well. Decided from
// the platform's history before anything changes; a version that cannot be run is refused.
import { UsageError } from "../output/errors.js";
import type { Artifact, ReleaseRecord } from "../platform/platform.js";
import { shortRevision } from "./history.js";

export interface RollbackTarget {
  service: string;
  /** what runs now */
  from: ReleaseRecord | undefined;
  to: Artifact;
}

/** `to`: a version, a revision (`auth-nats:3`) or its number (`3`); undefined: the previous good version. */
export function rollbackTarget(service: string, records: ReleaseRecord[], to: string | undefined): RollbackTarget {
  const current = records.find((r) => r.current);
  const runnable = records.filter((r) => r.available && !r.current);
  const known = () => {
    const list = [...new Set(runnable.map(label))];
    return list.length ? `known: ${list.join(", ")}` : "nothing recorded can be rolled back to";
  };
  if (to !== undefined) {
    const matches = (r: ReleaseRecord) =>
      r.artifact.version === to ||
      (r.artifact.revision !== undefined &&
        (shortRevision(r.artifact.revision) === to || r.artifact.revision.split(":").pop() === to));
    const found = records.find(matches);
    if (!found) throw new UsageError(`${service} has no version ${to} (${known()})`, `see \`gs history ${service}\``);
    if (found.current) throw new UsageError(`${service} already runs ${to}`, "name an older version with --to");
    if (!found.available)
      throw new UsageError(`${service} ${to} can no longer be run: its build is gone (${known()})`, "deploy it again");
    return { service, from: current, to: found.artifact };
  }
  // newest first: the newest version older than the current one that deployed well
  const older = current ? records.slice(records.indexOf(current) + 1) : records;
  const good = older.find((r) => r.outcome === "deployed" && r.available);
  if (!good)
    throw new UsageError(
      `${service} has no earlier version that deployed well to roll back to (${known()})`,
      `name one with --to (see \`gs history ${service}\`)`,
    );
  return { service, from: current, to: good.artifact };
}

function label(r: ReleaseRecord): string {
  return r.artifact.revision ? `${r.artifact.version} (${shortRevision(r.artifact.revision)})` : r.artifact.version;
}
