// When the status path lists a service's tasks again. ECS throttles ListTasks and DescribeTasks per
// account and Region, in buckets shared with every other tool, so a dashboard polling 22 services
// every 2 s must not list each service's tasks on every poll: DescribeServices (10 services a call)
// already carries what tells that the tasks changed.
import type { Service } from "@aws-sdk/client-ecs";

/**
 * What DescribeServices says that moves when the service's tasks change: its counts, each deployment's
 * counts, failed tasks and rollout state, and its newest event (ECS adds one for every task it starts
 * or stops). Equal keys on two polls: the task lists read at the first still hold.
 */
export function taskStateKey(svc: Service): string {
  return JSON.stringify([
    svc.desiredCount ?? 0,
    svc.runningCount ?? 0,
    svc.pendingCount ?? 0,
    (svc.deployments ?? []).map((d) => [
      d.id,
      d.status,
      d.taskDefinition,
      d.rolloutState,
      d.desiredCount,
      d.runningCount,
      d.pendingCount,
      d.failedTasks,
    ]),
    svc.events?.[0]?.id ?? null,
  ]);
}

/** A rollout still moving: its tasks may crash-loop while every count holds still (failedTasks can stay 0). */
export function deploymentInProgress(svc: Service): boolean {
  const deps = svc.deployments ?? [];
  return deps.length > 1 || deps.some((d) => d.rolloutState === "IN_PROGRESS");
}

export interface TaskListing<T> {
  key: string;
  /** Date.now() when the lists were read */
  at: number;
  tasks: T;
}

/**
 * List again (true) the first time, while a deployment is in progress, when the key changed since the
 * last listing, or once that listing is `refreshMs` old (stopped tasks ECS has since forgotten, or a
 * change no count or event showed).
 */
export function needsListing<T>(
  last: TaskListing<T> | undefined,
  svc: Service,
  now: number,
  refreshMs: number,
): boolean {
  return !last || deploymentInProgress(svc) || last.key !== taskStateKey(svc) || now - last.at >= refreshMs;
}
