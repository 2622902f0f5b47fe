// ECS tasks as gs sees them: which stopped tasks are crashes (as opposed to tasks a deployment or a
// scale-in drained), and how to say in one line why a task stopped.
import type { Task } from "@aws-sdk/client-ecs";
import type { InstanceState } from "../platform.js";

/** `arn:aws:ecs:region:acct:task/cluster/0123abcd` -> `0123abcd` */
export function taskId(arn: string | undefined): string {
  return (arn ?? "").split("/").pop() ?? "";
}

/** A task that stopped on its own or failed its health checks, not one ECS drained on purpose. */
export function isCrash(task: Task): boolean {
  const reason = task.stoppedReason ?? "";
  if (task.stopCode === "TaskFailedToStart" || task.stopCode === "EssentialContainerExited") return true;
  if (/health ?check/i.test(reason) || /CannotPull|ResourceInitializationError|OutOfMemory/i.test(reason)) return true;
  if (task.stopCode === "UserInitiated" || /^Scaling activity initiated by/i.test(reason)) return false;
  return (task.containers ?? []).some((c) => c.exitCode !== undefined && c.exitCode !== 0);
}

/** The exit code that explains the stop: the first non-zero one of the task's containers. */
export function exitCodeOf(task: Task): number | null {
  const codes = (task.containers ?? []).map((c) => c.exitCode).filter((c): c is number => c !== undefined);
  return codes.find((c) => c !== 0) ?? codes[0] ?? null;
}

/** `Essential container in task exited; auth: exit code 1 (Error: Cannot find module ...)` */
export function stopSummary(task: Task): string {
  const parts = [task.stoppedReason ?? task.stopCode ?? "stopped"];
  for (const c of task.containers ?? []) {
    if (c.exitCode !== undefined && c.exitCode !== 0)
      parts.push(`${c.name}: exit code ${c.exitCode}${c.reason ? ` (${c.reason})` : ""}`);
    else if (c.exitCode === undefined && c.reason) parts.push(`${c.name}: ${c.reason}`);
  }
  return parts.join("; ");
}

export function instanceState(task: Task): InstanceState {
  const s = task.lastStatus ?? "";
  if (s === "RUNNING") return "running";
  if (["DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED"].includes(s) || task.desiredStatus === "STOPPED")
    return "stopping";
  return "pending";
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
