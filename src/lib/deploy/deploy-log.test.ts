// Deploy progress lines for CI and terminals, and NATS secrets read without ever being shown.
import { describe, expect, it } from "vitest";
import { DeployLog } from "./deploy-log.js";
import { parseSecret } from "../nats/target-nats.js";

function logWith(opts: { github?: boolean; throttleMs?: number } = {}) {
  const lines: string[] = [];
  let now = Date.parse("2026-11-28T08:00:00.123Z");
  const log = new DeployLog({
    write: (l) => lines.push(l),
    services: ["auth", "state-manager"],
    now: () => new Date(now),
    ...opts,
  });
  return { log, lines, tick: (ms: number) => (now += ms) };
}

const rollout = (running: number, pending: number) => ({
  kind: "rollout" as const,
  service: "auth",
  from: "0.1.0+aaaaaaaaaaaa",
  to: "0.1.0+bbbbbbbbbbbb",
  running,
  desired: 2,
  pending,
  failed: 0,
});

describe("deploy log", () => {
  it("prefixes each line with a UTC timestamp, the service and the stage", () => {
    const { log, lines } = logWith();
    log.progress(rollout(0, 2));
    expect(lines).toEqual([
      "2026-11-28T08:00:00Z auth           rollout  0.1.0+aaaaaaaaaaaa -> 0.1.0+bbbbbbbbbbbb",
      "2026-11-28T08:00:00Z auth           rollout  0/2 running, 2 pending",
    ]);
  });

  it("says when a rollout was one an earlier deploy left in progress, taken over", () => {
    const { log, lines } = logWith();
    log.progress({
      kind: "done",
      result: {
        name: "auth",
        action: "deployed",
        from: "0.1.0+aaaaaaaaaaaa",
        to: "0.1.0+bbbbbbbbbbbb",
        seconds: 4.2,
        resumed: "auth-dep-1a2b3c4d",
      },
    });
    expect(lines).toEqual([
      "2026-11-28T08:00:00Z auth           done     deployed 0.1.0+bbbbbbbbbbbb (verified) (took over auth-dep-1a2b3c4d) in 4.2s",
    ]);
  });

  it("names both versions when a rollout starts, and only counts after that", () => {
    const { log, lines } = logWith();
    log.progress({ kind: "start", service: "auth", from: null, to: "0.1.0+bbbbbbbbbbbb" });
    log.progress(rollout(0, 2));
    expect(lines).toEqual([
      "2026-11-28T08:00:00Z auth           rollout  nothing -> 0.1.0+bbbbbbbbbbbb",
      "2026-11-28T08:00:00Z auth           rollout  0/2 running, 2 pending",
    ]);
  });

  it("throttles a service's rollout lines on a terminal but always shows the final count", () => {
    const { log, lines, tick } = logWith({ throttleMs: 1000 });
    log.progress(rollout(0, 2));
    tick(300);
    log.progress(rollout(1, 1));
    tick(300);
    log.progress(rollout(2, 0));
    expect(lines.filter((l) => / running/.test(l)).map((l) => l.split("rollout  ")[1])).toEqual([
      "0/2 running, 2 pending",
      "2/2 running",
    ]);
  });

  it("writes GitHub Actions groups and escaped ::error:: annotations", () => {
    const { log, lines } = logWith({ github: true });
    log.image({ service: "auth", stage: "present", detail: "sha256:abc" });
    log.progress({ kind: "plan", changed: ["auth"], unchanged: [], failed: [] });
    log.summary({
      target: "prod",
      services: [
        { name: "auth", action: "rolled_back", from: "a", to: "b", seconds: 3, reason: "100% failed:\nexit code 1" },
      ],
    });
    expect(lines[0]).toBe("::group::build and push");
    expect(lines).toContain("::group::roll out");
    expect(lines.filter((l) => l === "::endgroup::")).toHaveLength(2);
    expect(lines.at(-1)).toBe("::error title=gs deploy%3A auth rolled back::100%25 failed:%0Aexit code 1");
    expect(lines.at(-2)).toMatch(
      /summary {2}target prod: 0 deployed, 0 unchanged, 1 rolled back, 0 failed in 0s \(exit 3\)$/,
    );
  });

  it("says which services an interrupted deploy did not start, and counts them in the summary (exit 1)", () => {
    const { log, lines } = logWith();
    const base = { from: "0.1.0+aaaaaaaaaaaa", to: "0.1.0+bbbbbbbbbbbb" };
    const settled = [
      { name: "auth", action: "deployed" as const, ...base, seconds: 2 },
      { name: "state-manager", action: "not_started" as const, ...base, seconds: 0, reason: "interrupted" },
    ];
    log.progress({ kind: "done", result: settled[1]! });
    log.summary({ target: "local", services: settled });
    expect(lines[0]).toMatch(/ state-manager {2}done {5}not started \(interrupted\) in 0s$/);
    expect(lines[1]).toMatch(
      /summary {2}target local: 1 deployed, 0 unchanged, 0 rolled back, 0 failed, 1 not started in 0s \(exit 1\)$/,
    );
  });
});

describe("NATS credentials from Secrets Manager", () => {
  const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:gs/nats-creds";
  it("reads a .creds file, or JSON with creds, user/password or token", () => {
    const creds = "-----BEGIN NATS USER JWT-----\neyJ0\n------END NATS USER JWT------\n";
    expect(parseSecret(creds, arn).credsText).toContain("BEGIN NATS USER JWT");
    expect(parseSecret(JSON.stringify({ creds }), arn).credsText).toContain("BEGIN NATS USER JWT");
    expect(parseSecret(JSON.stringify({ user: "deployer", password: "s3cret-pw" }), arn).settings).toEqual({
      user: "deployer",
      password: "s3cret-pw",
    });
    expect(parseSecret(JSON.stringify({ token: "t0ken" }), arn).settings).toEqual({ token: "t0ken" });
  });

  it("names the secret, never its value, when it holds nothing usable", () => {
    let message = "";
    try {
      parseSecret(JSON.stringify({ pass: "hunter2-very-secret" }), arn);
    } catch (err) {
      message = `${(err as Error).message} ${(err as { hint?: string }).hint}`;
    }
    expect(message).toMatch(/secret arn:aws:secretsmanager:.*gs\/nats-creds holds no NATS credentials/);
    expect(message).not.toContain("hunter2");
  });
});
