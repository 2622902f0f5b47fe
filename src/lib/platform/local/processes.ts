// Process checks by pid, careful not to signal an unrelated process that reused a recorded pid.
import { readFileSync, realpathSync } from "node:fs";
import path from "node:path";

export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return !isZombie(pid);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return false;
  }
}

/** The command line of a process (Linux /proc), or undefined when it cannot be read. */
export function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return undefined;
  }
}

/** Still ours: alive, and its command line mentions `marker` (when /proc can tell). */
export function isOurs(pid: number, marker: string): boolean {
  if (!isAlive(pid)) return false;
  const cmd = commandLine(pid);
  return cmd === undefined || cmd.includes(marker);
}

/**
 * A local fleet's supervisor: `gs up` (foreground, working in the project) or `gs up --supervisor
 * <.gs/supervisor.json>` (detached). A record that is corrupt, forged or stale (its pid reused) must
 * never make gs treat, or signal, another process as the supervisor; pid 1 never is one.
 */
export function isSupervisor(pid: number, where: { home: string; root: string }): boolean {
  if (!Number.isInteger(pid) || pid <= 1 || !isAlive(pid)) return false;
  const cmd = commandLine(pid);
  if (cmd === undefined) return true; // no /proc to ask: trust the record
  if (!/(^|\s)up(\s|$)/.test(cmd)) return false;
  if (cmd.includes(where.home)) return true;
  try {
    const cwd = realpathSync(`/proc/${pid}/cwd`);
    const root = realpathSync(where.root);
    return cwd === root || cwd.startsWith(root + path.sep);
  } catch {
    return false;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** SIGTERM, then SIGKILL after `graceMs`; resolves once every pid is gone (or after the kill). */
export async function terminate(pids: number[], graceMs: number): Promise<void> {
  const live = () => pids.filter(isAlive);
  for (const pid of live()) signal(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (live().length && Date.now() < deadline) await sleep(50);
  for (const pid of live()) signal(pid, "SIGKILL");
  const hard = Date.now() + 2000;
  while (live().length && Date.now() < hard) await sleep(25);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}
