// `gs status` on the local platform while the fleet's nats-server is down (killed while its supervisor
// is paused with SIGSTOP, so it is not restarted until the test lets the supervisor go on): the fleet
// record's view, with the reason, instead of only "cannot reach the local fleet's NATS". The built
// CLI against a fleet from `gs up --detach`.
import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StatusJson } from "./status.js";
import { createProject, existingServices, waitFor, type TestProject } from "../../test/support/local-fleet.js";
import { repoRoot, runCli } from "../../test/support/run-cli.js";

const canRun = existingServices().includes("settings");

describe.runIf(canRun)("gs status on a local fleet whose NATS does not answer", () => {
  let project: TestProject;
  let paused: number | undefined;

  beforeAll(async () => {
    if (!existsSync(path.join(repoRoot, "dist/cli.js"))) throw new Error("build first: npm run build");
    project = createProject(["settings"], { desired: 1 });
    const r = await runCli(["up", "--detach", "--timeout", "90s"], { cwd: project.dir });
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    if (paused) process.kill(paused, "SIGCONT");
    if (!project) return;
    await runCli(["down", "--purge"], { cwd: project.dir });
    project.remove();
  });

  it("shows the record's desired count and live instances with the NATS problem, exit 0; --check 5; then recovers", async () => {
    const rec = project.record()!;
    paused = rec.supervisor.pid;
    process.kill(paused, "SIGSTOP");
    process.kill(rec.pids.find((p) => p.what.startsWith("nats-server"))!.pid, "SIGKILL");
    const r = await runCli(["status", "--json"], { cwd: project.dir, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as StatusJson;
    expect(doc.platform).toEqual({ available: true });
    expect(doc.nats.available).toBe(false);
    expect(doc.nats.reason).toMatch(/^cannot reach the local fleet's NATS at nats:\/\/127\.0\.0\.1:\d+ \(.*refused/);
    expect(doc.services).toEqual([
      expect.objectContaining({ name: "settings", desired: 1, running: 1, responding: null, p99Ms: null }),
    ]);
    const plain = await runCli(["status", "--check"], { cwd: project.dir, timeoutMs: 60_000 });
    expect(plain.code).toBe(5);
    expect(plain.stdout).toMatch(/^settings\s+1\s+1\s+-\s+n\/a\s+-\s+\S+\s+-\s+n\/a\s+n\/a$/m);
    expect(plain.stderr.split("\n").filter((l) => l.startsWith("NATS unavailable: "))).toHaveLength(1);

    // the supervisor goes on: it restarts nats-server, and the services reconnect
    process.kill(paused, "SIGCONT");
    paused = undefined;
    await waitFor(
      "gs status --check to pass again",
      async () => ((await runCli(["status", "--check"], { cwd: project.dir })).code === 0 ? true : undefined),
      60_000,
      1000,
    );
  }, 180_000);
});
