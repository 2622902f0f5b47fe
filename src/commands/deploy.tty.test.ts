// `gs deploy` as a user runs it on a terminal: the built CLI in a real pseudo-terminal (tmux), against a
// local fleet started with `gs up --detach`. A new build salt (GS_BUILD_SALT) gives every service a new
// version; settings' new build throws at import (the project's own copy of its service.ts, as the
// local-platform rollback test does), so auth and payment are deployed and settings is rolled back.
// The live view's last frame stays on screen, the result table follows, and the process exits 3.
import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StatusJson } from "./status.js";
import { createProject, existingServices, waitFor, type TestProject } from "../../test/support/local-fleet.js";
import { cliPath, repoRoot, runCli } from "../../test/support/run-cli.js";
import { hasTmux, terminalEnv, tmuxTerminal } from "../../test/support/terminal.js";

const wanted = ["auth", "settings", "payment"];
const canRun = hasTmux && wanted.every((s) => existingServices().includes(s));

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** formatDuration's output: `800ms`, `1.8s`, `12s`, `1m5s` */
const DURATION = String.raw`(?:\d+(?:\.\d+)?(?:ms|s)|\d+m(?:\d+s)?)`;
const VERSION = String.raw`\d+\.\d+\.\d+\+[0-9a-f]{12}`;
/** the live view's first line (its clock counts whole seconds) */
const HEADER = new RegExp(`^gs deploy {2}target local \\(local\\) {2}3 services {2}concurrency 6 {2}${DURATION}$`, "m");
/** a line of the output for CI logs (DeployLog): `2026-11-28T08:00:00Z auth     rollout  1/2 running` */
const CI_LINE = /^\d{4}-\d\d-\d\dT[\d:.]+Z /m;

describe.runIf(canRun)("gs deploy in a terminal", () => {
  const term = tmuxTerminal("gs-deploy");
  const screen = () => term.screen();
  let project: TestProject;
  let before: Map<string, string>;

  const versions = async (): Promise<Map<string, string>> => {
    const r = await runCli(["status", "--json"], { cwd: project.dir });
    expect(r.code, r.stderr).toBe(0);
    return new Map((JSON.parse(r.stdout) as StatusJson).services.map((s) => [s.name, s.version ?? ""]));
  };

  beforeAll(async () => {
    if (!existsSync(path.join(repoRoot, "dist/cli.js"))) throw new Error("build first: npm run build");
    project = createProject(wanted);
    const up = await runCli(["up", "--detach", "--timeout", "90s"], { cwd: project.dir });
    expect(up.code, up.stderr).toBe(0);
    before = await versions();
    for (const s of wanted) expect(before.get(s), s).toMatch(/^\d+\.\d+\.\d+\+[0-9a-f]{12}$/);
  }, 120_000);

  afterAll(async () => {
    term.close();
    if (!project) return;
    project.useServices(path.join(repoRoot, "services"));
    await runCli(["down", "--purge"], { cwd: project.dir });
    project.remove();
  });

  it("shows each service's rollout live and leaves the last frame, then the result table (exit 3: settings rolled back)", async () => {
    // settings' new build throws at import; the salt gives auth and payment a new version too
    project.useServices(project.brokenServices("settings"));
    // no CI in its environment, so gs sees a terminal
    const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(cliPath)} deploy --timeout 30s; echo "gs exited with $?"; sleep 60`;
    term.start(cmd, {
      cwd: project.dir,
      env: terminalEnv({ GS_BUILD_SALT: `e2e-tty-${Date.now()}` }),
      columns: 150,
      rows: 40,
    });

    // poll until gs exits, keeping the first frame caught building and the first caught rolling out (either may be missed)
    const frames: { building?: string; rollingOut?: string } = {};
    let last = "";
    let code: string;
    try {
      code = await waitFor(
        "gs to exit",
        () => {
          last = screen();
          // a whole frame of the running view: its header, and its totals still counting
          if (HEADER.test(last) && /^\d+ in progress\b|· \d+ in progress\b/m.test(last)) {
            if (!frames.building && /^ {2}(auth|settings|payment)\s+◐ building\b/m.test(last)) frames.building = last;
            if (!frames.rollingOut && /^ {2}(auth|settings|payment)\s+◐ rolling out\b/m.test(last))
              frames.rollingOut = last;
          }
          return /^gs exited with (\d+)$/m.exec(last)?.[1];
        },
        75_000,
        100,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; the terminal showed:\n${last}`);
    } finally {
      project.useServices(path.join(repoRoot, "services"));
    }

    // every check on the screen is made on this one capture of the finished screen
    const final = screen();
    expect(code, final).toBe("3");
    const lines = final.split("\n");

    // the last frame of the view: the header, a blank line, one row per service in gs.yaml's order, a blank line, the totals
    const header = lines.findIndex((l) => HEADER.test(l));
    expect(header, final).toBeGreaterThanOrEqual(0);
    expect(lines[header + 1], final).toBe("");
    const [auth, payment, settings] = [1, 2, 3].map((i) => lines[header + 1 + i] ?? "");
    expect(lines[header + 5], final).toBe("");
    expect(lines[header + 6], final).toMatch(
      new RegExp(`^done in ${DURATION}: 2 deployed, 0 unchanged, 1 rolled back, 0 failed$`),
    );
    // each row: its final stage, the full bar of a finished rollout, its time, the versions from -> to, the outcome
    const rowTo = new Map<string, string>();
    for (const [name, text] of [
      ["auth", auth],
      ["payment", payment],
    ] as const) {
      const m = new RegExp(
        `^ {2}${name}\\s+✔ deployed\\s+\\[█{6}\\] 2/2\\s+${DURATION}\\s+${escape(before.get(name)!)} -> (${VERSION})\\s+answers over NATS$`,
      ).exec(text!);
      expect(m, `${name} deployed from the version it ran:\n${final}`).not.toBeNull();
      rowTo.set(name, m![1]!);
    }
    // settings: rolled back (the bar only while counts remain), why on its row (cut to fit) and whole below the totals
    const rolled = new RegExp(
      `^ {2}settings\\s+↺ rolled back\\s+(?:\\[[█░]{6}\\] \\d/\\d\\s+)?${DURATION}\\s+${escape(before.get("settings")!)} -> (${VERSION})\\s+\\S`,
    ).exec(settings!);
    expect(rolled, `settings rolled back from the version it ran:\n${final}`).not.toBeNull();
    rowTo.set("settings", rolled![1]!);
    for (const name of wanted) expect(rowTo.get(name), name).not.toBe(before.get(name));
    expect(lines.slice(header + 7).join("\n")).toMatch(
      /^ {2}settings rolled back: .*exited with code 1: Error: cannot load time zone data/m,
    );

    // then the result table (stdout) below the view, and the exit code
    const head = lines.findIndex((l) => /^SERVICE\s+ACTION\s+FROM\s+TO\s+SECONDS$/.test(l.trimEnd()));
    expect(head, final).toBeGreaterThan(header + 6);
    const table = lines.slice(head + 1, head + 4).map((l) => l.trimEnd());
    expect(table, final).toEqual([
      expect.stringMatching(
        new RegExp(
          `^auth\\s+deployed\\s+${escape(before.get("auth")!)}\\s+${escape(rowTo.get("auth")!)}\\s+\\d+(\\.\\d)?$`,
        ),
      ),
      expect.stringMatching(
        new RegExp(
          `^payment\\s+deployed\\s+${escape(before.get("payment")!)}\\s+${escape(rowTo.get("payment")!)}\\s+\\d+(\\.\\d)?$`,
        ),
      ),
      expect.stringMatching(
        new RegExp(
          `^settings\\s+rolled_back\\s+${escape(before.get("settings")!)}\\s+${escape(rowTo.get("settings")!)}\\s+\\d+(\\.\\d)?$`,
        ),
      ),
    ]);
    expect(lines[head + 4], final).toBe("gs exited with 3");

    // the terminal got the live view, not the lines a CI log gets
    expect(final).not.toMatch(CI_LINE);
    expect(final).not.toMatch(/^::(group|endgroup|error)/m);

    // frames from while it ran: the totals counting by stage, no outcome, no table, no CI lines
    for (const frame of Object.values(frames)) {
      expect(frame).toMatch(
        /^\d+ (deployed|in progress|waiting|unchanged|rolled back|failed)( · \d+ (deployed|in progress|waiting|unchanged|rolled back|failed))*$/m,
      );
      expect(frame).not.toMatch(/^done in /m);
      expect(frame).not.toMatch(/^SERVICE\s+ACTION/m);
      expect(frame).not.toMatch(CI_LINE);
    }
    if (frames.building)
      expect(frames.building).toMatch(
        new RegExp(`^ {2}(auth|payment|settings)\\s+◐ building\\s+${DURATION}\\s+bundling$`, "m"),
      );
    // a rollout in progress: its clock, the versions (the bar once the platform reported counts) and what is happening
    if (frames.rollingOut) {
      const m = new RegExp(
        `^ {2}(auth|payment|settings)\\s+◐ rolling out\\s+(\\[[█░]{6}\\] [0-2]/2\\s+)?${DURATION}\\s+(${VERSION}) -> (${VERSION})\\s+\\S`,
        "m",
      ).exec(frames.rollingOut);
      expect(m, frames.rollingOut).not.toBeNull();
      expect(m![3]).toBe(before.get(m![1]!));
      expect(m![4]).toBe(rowTo.get(m![1]!));
    }

    // the fleet agrees with the screen: auth and payment run their new versions, settings its old one
    const after = await versions();
    expect(after.get("auth")).toBe(rowTo.get("auth"));
    expect(after.get("payment")).toBe(rowTo.get("payment"));
    expect(after.get("settings")).toBe(before.get("settings"));
  }, 100_000);
});
