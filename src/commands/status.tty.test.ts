// `gs status --watch` as a user runs it: the built CLI in a real pseudo-terminal (tmux), against a
// local fleet started with `gs up --detach`. An instance is killed with SIGKILL; its row turns
// degraded and returns to healthy; `q` quits and the process exits 0.
import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, existingServices, waitFor, type TestProject } from "../../test/support/local-fleet.js";
import { cliPath, repoRoot, runCli } from "../../test/support/run-cli.js";
import { hasTmux, terminalEnv, tmuxTerminal } from "../../test/support/terminal.js";

const wanted = ["auth", "settings", "payment"];
const canRun = hasTmux && wanted.every((s) => existingServices().includes(s));

describe.runIf(canRun)("gs status --watch in a terminal", () => {
  const term = tmuxTerminal("gs-dash");
  const screen = () => term.screen();
  const row = (name: string) =>
    screen()
      .split("\n")
      .find((l) => new RegExp(`^[› ] ${name}\\s`).test(l)) ?? "";
  let project: TestProject;
  /** waitFor, and on a timeout say what the terminal showed */
  const until = async <T>(what: string, check: () => T | undefined, timeoutMs: number): Promise<T> => {
    try {
      return await waitFor(what, check, timeoutMs, 100);
    } catch (err) {
      throw new Error(`${(err as Error).message}; the terminal showed:\n${screen()}`);
    }
  };

  beforeAll(async () => {
    if (!existsSync(path.join(repoRoot, "dist/cli.js"))) throw new Error("build first: npm run build");
    project = createProject(wanted);
    const up = await runCli(["up", "--detach", "--timeout", "90s"], { cwd: project.dir });
    expect(up.code, up.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    term.close();
    if (!project) return;
    await runCli(["down", "--purge"], { cwd: project.dir });
    project.remove();
  });

  it("shows a killed instance's service degraded, then healthy again, and quits with q (exit 0)", async () => {
    // no CI in its environment, so gs sees a terminal
    const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(cliPath)} status --watch --interval 500ms; echo "gs exited with $?"; sleep 60`;
    term.start(cmd, { cwd: project.dir, env: terminalEnv(), columns: 160, rows: 50 });

    // a full frame: every source has answered once (the header's time of the last poll is set)
    // (one capture for every check: the first frame is written before Ink loads, and Ink then redraws it)
    const first = await until(
      "the healthy fleet on screen",
      () => {
        const s = screen();
        return s.includes("3/3 services healthy, 6/6 tasks") && /last poll \d/.test(s) && /^[› ] settings /m.test(s)
          ? s
          : undefined;
      },
      20_000,
    );
    expect(first).toMatch(
      /gs status {2}target local \(local\) {2}NATS nats:\/\/127\.0\.0\.1:\d+ {2}last poll \d\d:\d\d:\d\d/,
    );
    expect(first).toMatch(/^[› ] settings\s+● healthy\s+2\/2\s+0\s+2/m);

    const victim = project.record()!.pids.find((p) => p.what.startsWith("settings-"))!;
    process.kill(victim.pid, "SIGKILL");
    // the row turns degraded (the change is also logged above the table, so a short window is not missed)
    const degraded = await until(
      "settings degraded",
      () => {
        const s = screen();
        return /^[› ] settings\s+▲ degraded/m.test(s) || /settings: degraded/.test(s) ? s : undefined;
      },
      15_000,
    );
    // the row or the change line above the table, whichever the frame caught first
    expect(degraded).toMatch(/^[› ] settings\s+▲ degraded|settings: degraded \(1\/2 running/m);
    await until(
      "settings healthy again",
      () => /settings: healthy .*\(was degraded\)/.test(screen()) && /● healthy\s+2\/2/.test(row("settings")),
      30_000,
    );
    expect(row("settings")).toMatch(/● healthy\s+2\/2\s+0\s+2\s.*\s1\s+0\.1\.0\+/);

    // Enter opens the detail, with the stopped instance and why
    term.keys("Down", "Down");
    await until("settings selected", () => row("settings").startsWith("›"), 5000);
    term.keys("Enter");
    const detail = await until("the detail", () => (screen().includes("INSTANCES") ? screen() : undefined), 5000);
    expect(detail).toContain("STOPPED");
    expect(detail).toContain(`${victim.what}  SIGKILL`);
    term.keys("Escape");
    await until("the table again", () => screen().includes("LAST EVENT"), 5000);

    term.keys("q");
    const end = await until("gs to exit", () => /gs exited with (\d+)/.exec(screen())?.[1], 10_000);
    expect(end).toBe("0");
  }, 120_000);
});
