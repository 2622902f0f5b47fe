// When the status path lists a service's tasks again, from what DescribeServices answered.
import type { Service } from "@aws-sdk/client-ecs";
import { describe, expect, it } from "vitest";
import { deploymentInProgress, needsListing, taskStateKey, type TaskListing } from "./task-refresh.js";

const steady = (): Service => ({
  desiredCount: 2,
  runningCount: 2,
  pendingCount: 0,
  deployments: [
    {
      id: "ecs-svc/1",
      status: "PRIMARY",
      taskDefinition: "arn:aws:ecs:us-east-1:123456789012:task-definition/auth-nats:1",
      rolloutState: "COMPLETED",
      desiredCount: 2,
      runningCount: 2,
      pendingCount: 0,
      failedTasks: 0,
      updatedAt: new Date(1000),
    },
  ],
  events: [{ id: "ev-1", message: "(service auth-nats) has reached a steady state.", createdAt: new Date(1000) }],
});

const listedAt = (svc: Service, at: number): TaskListing<null> => ({ key: taskStateKey(svc), at, tasks: null });

describe("task refresh", () => {
  it("reuses the last listing while nothing DescribeServices shows has moved (a new updatedAt is not a move)", () => {
    const later = steady();
    later.deployments![0]!.updatedAt = new Date(9000);
    expect(needsListing(listedAt(steady(), 0), later, 5000, 600_000)).toBe(false);
  });

  it("lists the first time, and once the last listing is refreshMs old", () => {
    expect(needsListing(undefined, steady(), 0, 600_000)).toBe(true);
    expect(needsListing(listedAt(steady(), 0), steady(), 600_000, 600_000)).toBe(true);
  });

  it("lists again on a new event even when every count is back where it was", () => {
    const replaced = steady();
    replaced.events!.unshift({
      id: "ev-2",
      message: "(service auth-nats) has started 1 tasks: (task 1a2b).",
      createdAt: new Date(2000),
    });
    expect(needsListing(listedAt(steady(), 0), replaced, 1, 600_000)).toBe(true);
  });

  it("lists again when failed tasks or the running count change", () => {
    const failed = steady();
    failed.deployments![0]!.failedTasks = 1;
    const fewer = steady();
    fewer.runningCount = 1;
    for (const svc of [failed, fewer]) expect(needsListing(listedAt(steady(), 0), svc, 1, 600_000)).toBe(true);
  });

  it("lists on every poll while a deployment is in progress, even with nothing moving", () => {
    const rolling = steady();
    rolling.deployments![0]!.rolloutState = "IN_PROGRESS";
    expect(deploymentInProgress(rolling)).toBe(true);
    expect(needsListing(listedAt(rolling, 0), rolling, 1, 600_000)).toBe(true);
    const two = steady();
    two.deployments!.push({ ...two.deployments![0]!, id: "ecs-svc/0", status: "ACTIVE" });
    expect(deploymentInProgress(two)).toBe(true);
    expect(deploymentInProgress(steady())).toBe(false);
  });
});
