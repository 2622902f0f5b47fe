// The live view of `gs deploy`: frames rendered from a DeployBoard fed real event sequences, and the
// adapter the command uses (live view on a terminal, DeployLog lines otherwise).
import { EventEmitter } from "node:events";
import { createElement } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";

// Ink's chalk decides on colour when it loads, from the test runner's (non-)terminal
vi.hoisted(() => {
  process.env.FORCE_COLOR = "1";
});
import type { DeployBoard } from "../deploy/deploy-board.js";
import type { DeployProgress } from "../deploy/deploy.js";
import { deployReporter } from "./deploy-live.js";
import { DeployView } from "./deploy-view.js";
import { liveOutput } from "./live-output.js";
import { A, B, boardOf, result, rollout } from "../../../test/support/deploy-fixtures.js";
import { FakeOutput, renderFrames, type Frames } from "../../../test/support/ink-frames.js";

const ESC = "\u001b";

let open: Frames | undefined;
afterEach(() => {
  open?.unmount();
  open = undefined;
});

const board = (services: string[], opts: { platform?: "local" | "ecs"; concurrency?: number } = {}) =>
  boardOf(services, {
    platform: opts.platform,
    concurrency: opts.concurrency ?? 2,
    startMs: Date.parse("2026-11-28T08:00:00Z"),
  });

function show(b: DeployBoard, opts: { columns?: number; rows?: number; color?: boolean } = {}): Frames {
  open = renderFrames(createElement(DeployView, { state: b.snapshot(), color: opts.color ?? false }), opts);
  return open;
}

const rowOf = (frame: string, name: string) => frame.split("\n").find((l) => l.startsWith(`  ${name} `)) ?? "";

/** auth rolling out, payment verifying, settings unchanged, state-manager waiting for a slot */
function midDeploy() {
  const t = board(["auth", "payment", "settings", "state-manager"]);
  t.tick(1200);
  t.feed({ kind: "plan", changed: ["auth", "payment", "state-manager"], unchanged: ["settings"], failed: [] });
  t.feed({ kind: "start", service: "auth", from: A, to: B }, { kind: "start", service: "payment", from: A, to: B });
  t.tick(2300);
  t.feed(rollout("auth", 1, 1), rollout("payment", 2, 0), { kind: "verify", service: "payment", to: B });
  return t;
}

/** everything final: one of each outcome */
function finished() {
  const t = board(["auth", "payment", "settings", "state-manager"]);
  t.feed({ kind: "plan", changed: ["auth", "payment"], unchanged: ["settings"], failed: ["state-manager"] });
  t.feed({ kind: "start", service: "auth", from: A, to: B }, rollout("auth", 2, 0), {
    kind: "verify",
    service: "auth",
    to: B,
  });
  t.feed({ kind: "start", service: "payment", from: A, to: B }, rollout("payment", 0, 2, 2), {
    kind: "rollback",
    service: "payment",
    reason: "2 new instances exited: Error: cannot load time zone data",
  });
  t.tick(12_400);
  t.board.finish({
    target: "local",
    services: [
      result({ name: "auth", action: "deployed", seconds: 3.1 }),
      result({
        name: "payment",
        action: "rolled_back",
        seconds: 9.6,
        reason: "2 new instances exited: Error: cannot load time zone data",
      }),
      result({ name: "settings", action: "unchanged", from: A, to: A, seconds: 0 }),
      result({
        name: "state-manager",
        action: "failed",
        to: null,
        seconds: 0.4,
        reason: 'state-manager does not build: service.ts:3: Expected ";"',
      }),
    ],
  });
  return t;
}

describe("deploy view frames", () => {
  it("shows each service's stage, rollout bar, elapsed time, versions and what it is doing", async () => {
    const f = await show(midDeploy().board, { columns: 180 }).waitFor("gs deploy");
    expect(f.split("\n")[0]).toBe("gs deploy  target local (local)  4 services  concurrency 2  3s");
    expect(rowOf(f, "auth")).toMatch(
      /^ {2}auth\s+◐ rolling out\s+\[███░░░\] 1\/2\s+2s\s+0\.1\.0\+aaaaaaaaaaaa -> 0\.1\.0\+bbbbbbbbbbbb\s+1 pending$/,
    );
    expect(rowOf(f, "payment")).toMatch(
      /◐ verifying\s+\[██████\] 2\/2\s+2s\s+0\.1\.0\+a{12} -> 0\.1\.0\+b{12}\s+waiting for the new version to answer over NATS$/,
    );
    expect(rowOf(f, "settings")).toMatch(/^ {2}settings\s+● unchanged\s+already running this build$/);
    expect(rowOf(f, "state-manager")).toMatch(/^ {2}state-manager\s+○ waiting\s+waiting to roll out$/);
    expect(f.trimEnd().split("\n").at(-1)).toBe("2 in progress · 1 waiting · 1 unchanged");
  });

  it("shows the outcome of each service, with the reason of a rollback and of a failure", async () => {
    const f = await show(finished().board, { columns: 180 }).waitFor("done in");
    expect(rowOf(f, "auth")).toMatch(
      /✔ deployed\s+\[██████\] 2\/2\s+3\.1s\s+0\.1\.0\+a{12} -> 0\.1\.0\+b{12}\s+answers over NATS$/,
    );
    expect(rowOf(f, "payment")).toMatch(
      /↺ rolled back\s+\[░░░░░░\] 0\/2\s+9\.6s\s+0\.1\.0\+a{12} -> 0\.1\.0\+b{12}\s+2 new instances exited: Error: cannot load time zone data$/,
    );
    expect(rowOf(f, "settings")).toMatch(/● unchanged\s+0\.1\.0\+a{12}\s+already running this build$/);
    expect(rowOf(f, "state-manager")).toMatch(
      /✖ failed\s+400ms\s+state-manager does not build: service\.ts:3: Expected ";"$/,
    );
    expect(f.split("\n")[0]).toMatch(/ 12s$/);
    expect(f).toContain("done in 12s: 1 deployed, 1 unchanged, 1 rolled back, 1 failed");
  });

  it("shows an ecs service registering its task definition and an image being pushed", async () => {
    const t = board(["auth", "payment"], { platform: "ecs" });
    t.board.image({ service: "payment", stage: "checking" });
    t.board.image({
      service: "payment",
      stage: "pushing",
      detail: "123.dkr.ecr.us-east-1.amazonaws.com/gs/payment:bbbbbbbbbbbb",
    });
    t.board.image({ service: "auth", stage: "present", detail: "sha256:feed" });
    let f = await show(t.board).waitFor("gs deploy");
    expect(f.split("\n")[0]).toBe("gs deploy  target prod (ecs)  2 services  concurrency 2  0s");
    expect(rowOf(f, "payment")).toMatch(
      /◐ pushing\s+0s\s+123\.dkr\.ecr\.us-east-1\.amazonaws\.com\/gs\/payment:bbbbbbbbbbbb$/,
    );
    expect(rowOf(f, "auth")).toMatch(/◑ in registry\s+0s\s+nothing to build or push$/);
    open!.unmount();
    t.feed(
      { kind: "plan", changed: ["auth"], unchanged: ["payment"], failed: [] },
      { kind: "start", service: "auth", from: A, to: B },
    );
    f = await show(t.board).waitFor("gs deploy");
    expect(rowOf(f, "auth")).toMatch(
      /◐ registering\s+0s\s+0\.1\.0\+a{12} -> 0\.1\.0\+b{12}\s+task definition revision for 0\.1\.0\+b{12}$/,
    );
  });

  it("cuts a long reason at the terminal's width, and drops the versions on a narrow terminal", async () => {
    const t = board(["auth"]);
    const reason = `2 tasks stopped: Essential container in task exited (exit code 1); last log lines: ${"x".repeat(200)}`;
    t.feed(
      { kind: "plan", changed: ["auth"], unchanged: [], failed: [] },
      { kind: "start", service: "auth", from: A, to: B },
      rollout("auth", 0, 2, 2),
      { kind: "rollback", service: "auth", reason },
    );
    const wide = show(t.board, { columns: 140 });
    let f = await wide.waitFor("gs deploy");
    expect(rowOf(f, "auth")).toContain(`${A} -> ${B}`);
    expect(rowOf(f, "auth")).toMatch(/↺ rolling back .*2 tasks stopped: Essential container in task.*…$/);
    expect(rowOf(f, "auth").length).toBe(139);
    await wide.resize(80, 40);
    f = await wide.waitFor((x) => !x.includes(" -> "));
    expect(rowOf(f, "auth")).toMatch(
      /^ {2}auth\s+↺ rolling back\s+\[░░░░░░\] 0\/2\s+0s\s+2 tasks stopped: Essential container.*…$/,
    );
    for (const l of f.split("\n")) expect(l.length).toBeLessThanOrEqual(79);
  });

  it("shows a reason its row had to cut in full below the totals once the deploy is done", async () => {
    const t = board(["auth", "payment"]);
    const reason =
      "2 new instances failed to start: instance payment-bf98dc exited with code 1: Error: cannot load time zone data (at service.ts:1)";
    t.feed(
      { kind: "plan", changed: ["auth", "payment"], unchanged: [], failed: [] },
      { kind: "start", service: "payment", from: A, to: B },
    );
    // the platform stopped the new instances: it reports 0 desired, which gets no bar
    t.feed(
      { kind: "rollout", service: "payment", from: A, to: B, running: 0, desired: 0, pending: 0, failed: 2 },
      { kind: "rollback", service: "payment", reason },
    );
    t.board.finish({
      target: "local",
      services: [
        result({ name: "auth", action: "deployed", seconds: 2 }),
        result({ name: "payment", action: "rolled_back", seconds: 0.6, reason }),
      ],
    });
    const f = await show(t.board, { columns: 100 }).waitFor("done in");
    expect(rowOf(f, "payment")).toMatch(
      /^ {2}payment\s+↺ rolled back\s+600ms\s+0\.1\.0\+a{12} -> 0\.1\.0\+b{12}\s+2 new instances \S+…$/,
    );
    expect(rowOf(f, "payment")).not.toContain("[");
    const below = f.slice(f.indexOf("done in")).split("\n").slice(1).join(" ").replace(/\s+/g, " ").trim();
    expect(below).toBe(`payment rolled back: ${reason}`);
  });

  it("folds the rows that need no attention into one line when the terminal is too short", async () => {
    const names = Array.from({ length: 12 }, (_, i) => `svc-${String(i).padStart(2, "0")}`);
    const t = board(names);
    t.feed({
      kind: "plan",
      changed: ["svc-05", "svc-09"],
      unchanged: names.filter((n) => n !== "svc-05" && n !== "svc-09"),
      failed: [],
    });
    t.feed({ kind: "start", service: "svc-09", from: A, to: B }, rollout("svc-09", 1, 1));
    const f = await show(t.board, { rows: 10 }).waitFor("gs deploy");
    expect(f.trimEnd().split("\n").length).toBeLessThan(10);
    expect(rowOf(f, "svc-09")).toContain("◐ rolling out");
    expect(rowOf(f, "svc-05")).toContain("○ waiting");
    expect(f).toContain("  … 8 more: 8 unchanged");
    expect(f.trimEnd().split("\n").at(-1)).toBe("1 in progress · 1 waiting · 10 unchanged");
  });

  it("colours each stage, and writes no escape codes at all without colour (NO_COLOR)", async () => {
    const coloured = show(finished().board, { color: true });
    await coloured.waitFor("done in");
    expect(coloured.lastRaw()).toMatch(new RegExp(`${ESC}\\[32m✔ deployed`));
    expect(coloured.lastRaw()).toMatch(new RegExp(`${ESC}\\[31m✖ failed`));
    expect(coloured.lastRaw()).toMatch(new RegExp(`${ESC}\\[33m↺ rolled back`));
    coloured.unmount();
    const plain = show(finished().board, { color: false });
    await plain.waitFor("done in");
    expect(plain.lastRaw()).toContain("✔ deployed");
    expect(plain.lastRaw()).not.toContain(ESC);
  });
});

/** A terminal (or a pipe) the adapter writes to. */
const terminal = (isTTY: boolean) => new FakeOutput({ isTTY, columns: 120, rows: 40 });

describe("deploy reporter", () => {
  const common = {
    target: "local",
    platform: "local" as const,
    services: ["auth", "settings"],
    concurrency: 6,
    github: false,
  };
  /** a command at a terminal (or piped), without colour */
  const output = (term: FakeOutput, stdin?: NodeJS.ReadStream) =>
    liveOutput({
      json: false,
      stdout: terminal(term.isTTY) as unknown as NodeJS.WriteStream,
      stderr: term as unknown as NodeJS.WriteStream,
      stdin,
      env: { NO_COLOR: "1" },
    });
  const events: DeployProgress[] = [
    { kind: "plan", changed: ["auth"], unchanged: ["settings"], failed: [] },
    { kind: "start", service: "auth", from: A, to: B },
    rollout("auth", 1, 1),
    rollout("auth", 2, 0),
    { kind: "verify", service: "auth", to: B },
    { kind: "done", result: result({ name: "auth", action: "deployed", seconds: 1.5 }) },
  ];
  const final = {
    target: "local",
    services: [
      result({ name: "auth", action: "deployed", seconds: 1.5 }),
      result({ name: "settings", action: "unchanged", from: A, to: A, seconds: 0 }),
    ],
  };

  it("draws the live view on a terminal and leaves its final frame on screen, cursor shown", async () => {
    const term = terminal(true);
    const stdin = Object.assign(new EventEmitter(), { isTTY: false }) as unknown as NodeJS.ReadStream;
    const lines: string[] = [];
    const r = deployReporter(output(term, stdin), { ...common, write: (l) => lines.push(l) });
    for (const e of events) r.progress(e);
    await vi.waitFor(() => expect(term.text).toContain("gs deploy  target local (local)"), { timeout: 5000 });
    await r.summary(final);
    expect(lines).toEqual([]);
    const last = term.text.slice(term.text.lastIndexOf("gs deploy"));
    expect(rowOf(last, "auth")).toMatch(
      /✔ deployed\s+\[██████\] 2\/2\s+1\.5s\s+0\.1\.0\+a{12} -> 0\.1\.0\+b{12}\s+answers over NATS/,
    );
    expect(rowOf(last, "settings")).toMatch(/● unchanged/);
    expect(last).toMatch(/done in \d+(ms|\.\d+s|s): 1 deployed, 1 unchanged, 0 rolled back, 0 failed/);
    expect(term.chunks.join("")).toContain(`${ESC}[?25h`);
    const written = term.chunks.length;
    // nothing draws after the end: the command's own output follows the frame
    r.progress(rollout("auth", 0, 2));
    await new Promise((res) => setTimeout(res, 250));
    expect(term.chunks.length).toBe(written);
  });

  it("writes DeployLog's timestamped lines without a terminal", async () => {
    const term = terminal(false);
    const lines: string[] = [];
    const r = deployReporter(output(term), { ...common, write: (l) => lines.push(l) });
    for (const e of events) r.progress(e);
    await r.summary(final);
    expect(term.chunks).toEqual([]);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ gs {8}plan {5}1 to deploy \(auth\), 1 unchanged$/);
    expect(lines[1]).toMatch(/Z auth {6}rollout {2}0\.1\.0\+a{12} -> 0\.1\.0\+b{12}$/);
    expect(lines.filter((l) => / auth {6}rollout {2}0\.1\.0/.test(l))).toHaveLength(1);
    expect(lines.at(-1)).toMatch(
      /summary {2}target local: 1 deployed, 1 unchanged, 0 rolled back, 0 failed in [\d.]+s \(exit 0\)$/,
    );
  });
});
