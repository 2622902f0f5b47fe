// Ctrl-C in `gs deploy`, as a user presses it: the built CLI in a child process against a local fleet of
// three services (`gs up --detach`), each given a new version by a new build salt and rolled out one at
// a time (--concurrency 1). The first SIGINT, once the first rollout has begun, lets that rollout finish
// and begins no other: one service on its new version, two untouched, the report, exit 1. A second
// signal exits at once with the shell's code for it.
import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeployJson } from "./deploy.js";
import type { ServicesJson } from "./services.js";
import type { StatusJson } from "./status.js";
import { startCli } from "../../test/support/live-process.js";
import { createProject, existingServices, waitFor, type TestProject } from "../../test/support/local-fleet.js";
import { repoRoot, runCli } from "../../test/support/run-cli.js";

const wanted = ["auth", "settings", "payment"];
const canRun = wanted.every((s) => existingServices().includes(s));
/** DeployLog's first line of a rollout: `2026-11-28T08:00:00Z auth     rollout  0.1.0+aaaa -> 0.1.0+bbbb` */
const ROLLOUT_BEGINS = /^\S+Z (\S+)\s+rollout\s+(\S+) -> (\S+)$/m;

describe.runIf(canRun)("gs deploy interrupted", () => {
  let project: TestProject;

  const versions = async (): Promise<Map<string, string | null>> => {
    const r = await runCli(["status", "--json"], { cwd: project.dir });
    expect(r.code, r.stderr).toBe(0);
    return new Map((JSON.parse(r.stdout) as StatusJson).services.map((s) => [s.name, s.version]));
  };
  const deploy = (salt: string) =>
    startCli(["deploy", "--json", "--concurrency", "1", "--timeout", "30s"], {
      cwd: project.dir,
      env: { GS_BUILD_SALT: `${salt}-${Date.now()}` },
      timeoutMs: 90_000,
    });

  beforeAll(async () => {
    if (!existsSync(path.join(repoRoot, "dist/cli.js"))) throw new Error("build first: npm run build");
    project = createProject(wanted);
    const up = await runCli(["up", "--detach", "--timeout", "90s"], { cwd: project.dir });
    expect(up.code, up.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    if (!project) return;
    await runCli(["down", "--purge"], { cwd: project.dir });
    project.remove();
  });

  it("finishes the rollout under way at the first Ctrl-C, starts no other, reports them not started and exits 1", async () => {
    const before = await versions();
    const p = deploy("interrupt");
    await p.waitFor("stderr", ROLLOUT_BEGINS, 60_000);
    const [, first, from, to] = ROLLOUT_BEGINS.exec(p.stderr())!;
    p.signal("SIGINT");
    expect(await p.exit).toEqual({ code: 1, signal: null });

    // the report: the one rollout that had begun finished, the others never began
    const doc = JSON.parse(p.stdout()) as DeployJson;
    const others = wanted.filter((s) => s !== first);
    expect(doc.services.find((s) => s.name === first)).toMatchObject({ action: "deployed", from, to });
    for (const name of others)
      expect(doc.services.find((s) => s.name === name)).toMatchObject({
        action: "not_started",
        from: before.get(name),
        reason: "interrupted",
      });
    expect(p.stderr()).toMatch(
      / gs\s+summary\s+target local: 1 deployed, 0 unchanged, 0 rolled back, 0 failed, 2 not started in [\d.]+s \(exit 1\)$/m,
    );
    expect(p.stderr()).toContain("stopped early (Ctrl-C): the rollouts under way finished; 2 not started");
    for (const name of others) expect(p.stderr()).not.toMatch(new RegExp(`^\\S+Z ${name}\\s+rollout`, "m"));

    // the fleet agrees: the first service runs its new version alone, the others their old one
    const after = await versions();
    expect(after.get(first!)).toBe(to);
    for (const name of others) expect(after.get(name), name).toBe(before.get(name));
    const answering = await waitFor(
      `${first} answering with ${to} alone`,
      async () => {
        const r = await runCli(["services", "--name", first!, "--json"], { cwd: project.dir });
        const view = (JSON.parse(r.stdout) as ServicesJson).services[0];
        return view?.versions.length === 1 && view.instances.length === 2 ? view : undefined;
      },
      15_000,
      500,
    );
    expect(answering.versions).toEqual([to]);
  }, 120_000);

  it("exits at once with 143 when a SIGTERM follows the first Ctrl-C", async () => {
    const p = deploy("twice");
    await p.waitFor("stderr", ROLLOUT_BEGINS, 60_000);
    p.signal("SIGINT");
    // the first signal is being handled (the rollout under way goes on), the second ends the process now
    await new Promise((r) => setTimeout(r, 200));
    const sent = Date.now();
    p.signal("SIGTERM");
    expect(await p.exit).toEqual({ code: 143, signal: null });
    expect(Date.now() - sent).toBeLessThan(3000);
    expect(p.stdout()).toBe("");
  }, 120_000);
});
