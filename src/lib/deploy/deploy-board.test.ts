// The live deploy view's state: the pusher's and the orchestrator's events, in the order a real deploy
// sends them, turned into one row per service.
import { describe, expect, it } from "vitest";
import { A, B, boardOf, done, rollout } from "../../../test/support/deploy-fixtures.js";

describe("deploy board", () => {
  it("follows a healthy local rollout from bundling to verified", () => {
    const { board, row, tick, feed } = boardOf(["auth", "settings"]);
    expect(row("auth")).toMatchObject({ stage: "building", detail: "bundling", since: 1_000_000 });
    tick(800);
    feed({ kind: "plan", changed: ["auth"], unchanged: ["settings"], failed: [] });
    expect(row("auth")).toMatchObject({ stage: "waiting", since: null });
    expect(row("settings")).toMatchObject({ stage: "unchanged", detail: "already running this build" });

    feed({ kind: "start", service: "auth", from: A, to: B });
    expect(row("auth")).toMatchObject({
      stage: "rolling-out",
      from: A,
      to: B,
      detail: "starting new instances",
      since: 1_000_800,
    });
    feed(rollout("auth", 0, 2));
    expect(row("auth")).toMatchObject({
      stage: "rolling-out",
      counts: { running: 0, desired: 2, pending: 2, failed: 0 },
      detail: "2 pending",
    });
    feed(rollout("auth", 1, 1));
    expect(row("auth").counts).toEqual({ running: 1, desired: 2, pending: 1, failed: 0 });
    feed(rollout("auth", 2, 0));
    feed({ kind: "verify", service: "auth", to: B });
    expect(row("auth")).toMatchObject({
      stage: "verifying",
      detail: "waiting for the new version to answer over NATS",
    });
    expect(board.summary()).toEqual({
      services: 2,
      waiting: 0,
      active: 1,
      deployed: 0,
      unchanged: 1,
      rolledBack: 0,
      failed: 0,
      notStarted: 0,
    });

    feed(done({ name: "auth", action: "deployed", seconds: 3.1 }));
    expect(row("auth")).toMatchObject({
      stage: "deployed",
      verified: true,
      detail: "answers over NATS",
      seconds: 3.1,
      counts: { running: 2, desired: 2, pending: 0, failed: 0 },
    });
    expect(board.summary()).toEqual({
      services: 2,
      waiting: 0,
      active: 0,
      deployed: 1,
      unchanged: 1,
      rolledBack: 0,
      failed: 0,
      notStarted: 0,
    });
  });

  it("shows an ecs image checked, built, pushed, then its task definition registered and rolled out", () => {
    const { row, feed, board } = boardOf(["auth", "payment"], { platform: "ecs" });
    expect(row("auth").stage).toBe("waiting");
    board.image({
      service: "auth",
      stage: "checking",
      detail: "123.dkr.ecr.us-east-1.amazonaws.com/gs/auth:bbbbbbbbbbbb",
    });
    expect(row("auth")).toMatchObject({
      stage: "checking",
      detail: "looking for 123.dkr.ecr.us-east-1.amazonaws.com/gs/auth:bbbbbbbbbbbb in the registry",
    });
    board.image({ service: "auth", stage: "building", detail: "gs/auth:bbbbbbbbbbbb" });
    expect(row("auth")).toMatchObject({ stage: "building", detail: "gs/auth:bbbbbbbbbbbb" });
    board.image({
      service: "auth",
      stage: "pushing",
      detail: "123.dkr.ecr.us-east-1.amazonaws.com/gs/auth:bbbbbbbbbbbb",
    });
    expect(row("auth").stage).toBe("pushing");
    board.image({ service: "auth", stage: "pushed", detail: "sha256:0123abcd" });
    expect(row("auth")).toMatchObject({ stage: "pushed", detail: "sha256:0123abcd" });
    board.image({ service: "payment", stage: "checking" });
    board.image({ service: "payment", stage: "present", detail: "sha256:feed" });
    expect(row("payment")).toMatchObject({ stage: "present", detail: "nothing to build or push" });

    feed(
      { kind: "plan", changed: ["auth"], unchanged: ["payment"], failed: [] },
      { kind: "start", service: "auth", from: A, to: B },
    );
    expect(row("auth")).toMatchObject({ stage: "registering", detail: `task definition revision for ${B}` });
    expect(row("payment").stage).toBe("unchanged");
    feed(
      rollout("auth", 0, 1),
      rollout("auth", 2, 0),
      { kind: "verify", service: "auth", to: B },
      done({ name: "auth", action: "deployed" }),
    );
    expect(row("auth")).toMatchObject({ stage: "deployed", from: A, to: B, verified: true });
  });

  it("keeps a rollback's reason and the versions it tried, while the old version comes back", () => {
    const { row, feed, board } = boardOf(["auth"], { platform: "ecs" });
    const reason =
      "2 tasks stopped: Essential container in task exited (exit code 1): Error: cannot load time zone data";
    feed(
      { kind: "plan", changed: ["auth"], unchanged: [], failed: [] },
      { kind: "start", service: "auth", from: A, to: B },
      rollout("auth", 0, 2, 1),
    );
    expect(row("auth").detail).toBe("2 pending, 1 failed");
    feed({ kind: "rollback", service: "auth", reason });
    expect(row("auth")).toMatchObject({ stage: "rolling-back", detail: reason });
    // the rollback's own rollout: from the new version back to the old one
    feed(rollout("auth", 1, 1, 0, B, A));
    expect(row("auth")).toMatchObject({
      stage: "rolling-back",
      from: A,
      to: B,
      detail: reason,
      counts: { running: 1, desired: 2, pending: 1, failed: 0 },
    });
    feed(done({ name: "auth", action: "rolled_back", reason, timedOut: true }));
    expect(row("auth")).toMatchObject({ stage: "rolled-back", detail: reason, timedOut: true, verified: false });
    expect(board.summary()).toMatchObject({ rolledBack: 1, active: 0 });
  });

  it("marks a service whose image does not build as failed, with the builder's reason", () => {
    const { row, feed, board } = boardOf(["auth", "settings"], { platform: "ecs" });
    board.image({ service: "auth", stage: "checking" });
    board.image({ service: "auth", stage: "building", detail: "gs/auth:bbbbbbbbbbbb" });
    board.image({ service: "auth", stage: "failed", detail: 'docker build exited with 1: service.ts:1: Expected ";"' });
    feed({ kind: "plan", changed: ["settings"], unchanged: [], failed: ["auth"] });
    expect(row("auth")).toMatchObject({
      stage: "failed",
      detail: 'docker build exited with 1: service.ts:1: Expected ";"',
    });
    expect(row("settings").stage).toBe("waiting");
    expect(board.summary()).toMatchObject({ failed: 1, waiting: 1 });
  });

  it("takes a local build failure's reason from the result", () => {
    const { row, feed, board } = boardOf(["auth", "settings"]);
    feed({ kind: "plan", changed: [], unchanged: ["settings"], failed: ["auth"] });
    expect(row("auth")).toMatchObject({ stage: "failed", detail: "did not build" });
    board.finish({
      target: "local",
      services: [
        {
          name: "auth",
          action: "failed",
          from: A,
          to: null,
          seconds: 0.4,
          reason: 'auth does not build: service.ts:1: Expected ";"',
        },
        { name: "settings", action: "unchanged", from: A, to: A, seconds: 0 },
      ],
    });
    expect(row("auth")).toMatchObject({
      stage: "failed",
      to: null,
      seconds: 0.4,
      detail: 'auth does not build: service.ts:1: Expected ";"',
    });
    expect(board.finishedAt).not.toBeNull();
  });

  it("shows unchanged services with their version once the deploy is done", () => {
    const { row, feed, board, tick } = boardOf(["auth", "settings"]);
    feed({ kind: "plan", changed: [], unchanged: ["auth", "settings"], failed: [] });
    expect(board.summary()).toEqual({
      services: 2,
      waiting: 0,
      active: 0,
      deployed: 0,
      unchanged: 2,
      rolledBack: 0,
      failed: 0,
      notStarted: 0,
    });
    tick(1500);
    board.finish({
      target: "local",
      services: ["auth", "settings"].map((name) => ({
        name,
        action: "unchanged" as const,
        from: A,
        to: A,
        seconds: 0,
      })),
    });
    expect(row("auth")).toMatchObject({ stage: "unchanged", from: A, to: A, seconds: 0 });
    expect(board.elapsedMs()).toBe(1500);
    tick(5000);
    expect(board.elapsedMs()).toBe(1500);
  });

  it("keeps services past --concurrency waiting until their rollout starts", () => {
    const { row, feed } = boardOf(["a", "b", "c"], { concurrency: 1 });
    feed(
      { kind: "plan", changed: ["a", "b", "c"], unchanged: [], failed: [] },
      { kind: "start", service: "a", from: A, to: B },
    );
    expect(["a", "b", "c"].map((n) => row(n).stage)).toEqual(["rolling-out", "waiting", "waiting"]);
    expect(row("b").detail).toBe("waiting to roll out");
  });

  it("drops services the platform does not run and adds those it runs but were not named", () => {
    const { board, feed } = boardOf(["auth", "ghost"]);
    feed({ kind: "plan", changed: ["auth", "extra"], unchanged: [], failed: [] });
    expect(board.rows().map((r) => r.name)).toEqual(["auth", "extra"]);
  });

  it("fails every service when nothing could be verified, with that reason", () => {
    const { row, feed } = boardOf(["auth"], { platform: "ecs" });
    const reason = "not rolled out: cannot verify over NATS (CONNECTION_REFUSED)";
    feed(
      { kind: "plan", changed: ["auth"], unchanged: [], failed: [] },
      done({ name: "auth", action: "failed", seconds: 0, reason }),
    );
    expect(row("auth")).toMatchObject({ stage: "failed", detail: reason });
  });

  it("shows the services an interrupted deploy did not start as final, not waiting", () => {
    const { board, row, feed } = boardOf(["auth", "settings"]);
    feed(
      { kind: "plan", changed: ["auth", "settings"], unchanged: [], failed: [] },
      { kind: "start", service: "auth", from: A, to: B },
      done({ name: "settings", action: "not_started", seconds: 0, reason: "interrupted" }),
    );
    expect(row("settings")).toMatchObject({ stage: "not-started", detail: "interrupted", seconds: 0 });
    expect(board.summary()).toMatchObject({ active: 1, waiting: 0, notStarted: 1 });
  });
});
