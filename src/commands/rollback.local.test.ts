// `gs history`, `gs rollback` and `gs scale` on the local platform with real processes: the built CLI
// in a throwaway project, a real nats-server and real service instances.
import { rmSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeployJson } from "./deploy.js";
import type { HistoryJson } from "./history.js";
import type { RollbackJson } from "./rollback.js";
import type { ScaleJson } from "./scale.js";
import type { StatusJson } from "./status.js";
import { createProject, existingServices, type TestProject } from "../../test/support/local-fleet.js";
import { repoRoot, runCli } from "../../test/support/run-cli.js";

const canRun = existingServices().includes("settings");

describe.runIf(canRun)("release control on the local platform", () => {
  let project: TestProject;
  const gs = (args: string[], env: Record<string, string> = {}) =>
    runCli(args, { cwd: project.dir, env, timeoutMs: 120_000 });
  const history = async () => {
    const r = await gs(["history", "settings", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as HistoryJson).versions;
  };
  const running = async () => {
    const r = await gs(["status", "--json"]);
    return (JSON.parse(r.stdout) as StatusJson).services.find((s) => s.name === "settings")!;
  };
  let v1: string;
  let v2: string;
  let v3: string;

  beforeAll(async () => {
    project = createProject(["settings"], { desired: 1 });
    const up = await gs(["up", "--detach", "--timeout", "90s"]);
    expect(up.code, up.stderr).toBe(0);
    v1 = (await running()).version!;
    // v2 deploys well, v3 throws at import and is rolled back
    const good = await gs(["deploy", "--json"], { GS_BUILD_SALT: `release-${Date.now()}` });
    expect(good.code, good.stderr).toBe(0);
    v2 = (JSON.parse(good.stdout) as DeployJson).services[0]!.to!;
    project.useServices(project.brokenServices("settings"));
    try {
      const bad = await gs(["deploy", "--json", "--timeout", "30s"]);
      expect(bad.code, bad.stderr).toBe(3);
      v3 = (JSON.parse(bad.stdout) as DeployJson).services[0]!.to!;
    } finally {
      project.useServices(path.join(repoRoot, "services"));
    }
  }, 240_000);

  afterAll(async () => {
    if (!project) return;
    await runCli(["down", "--purge"], { cwd: project.dir });
    project.remove();
  });

  it("lists the versions that ran, newest first, with their outcomes and who deployed them", async () => {
    const versions = await history();
    expect(versions.map((v) => [v.version, v.outcome, v.current])).toEqual([
      [v3, "failed", false],
      [v2, "deployed", true],
      [v1, "deployed", false],
    ]);
    expect(versions[0]!.deployedBy).toMatch(/^\S+@\S+$/);
    expect(versions[0]!.ranSeconds).toBeGreaterThanOrEqual(0);
    expect(versions.every((v) => v.available)).toBe(true);
  });

  it("rolls back to the previous good version, skipping the failed one, and records the one it left", async () => {
    const r = await gs(["rollback", "settings", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as RollbackJson).services).toMatchObject([
      { name: "settings", action: "deployed", from: v2, to: v1 },
    ]);
    expect(await running()).toMatchObject({ version: v1, running: 1, responding: 1 });
    const versions = await history();
    expect(versions.slice(0, 4).map((v) => [v.version, v.outcome, v.current])).toEqual([
      [v1, "deployed", true],
      [v3, "failed", false],
      [v2, "rolled_back", false],
      [v1, "deployed", false],
    ]);
  }, 120_000);

  it("refuses an unknown version, and one whose build is gone, listing what it can go back to (exit 2)", async () => {
    const unknown = await gs(["rollback", "settings", "--to", "9.9.9"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toMatch(
      new RegExp(`^error: settings has no version 9\\.9\\.9 \\(known: .*${v2.replace("+", "\\+")}`),
    );
    rmSync(path.join(project.dir, ".gs", "builds", "settings", `${v2.split("+")[1]}.mjs`));
    const gone = await gs(["rollback", "settings", "--to", v2]);
    expect(gone.code).toBe(2);
    expect(gone.stderr.trim()).toMatch(/can no longer be run: its build is gone/);
    expect((await history()).find((v) => v.version === v2)!.available).toBe(false);
    expect((await running()).version).toBe(v1);
  }, 60_000);

  it("scales through the platform and waits until that many instances answer over NATS", async () => {
    const r = await gs(["scale", "settings", "2", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout) as ScaleJson).toMatchObject({
      name: "settings",
      desired: 2,
      running: 2,
      answering: 2,
      version: v1,
      settled: true,
    });
    const back = await gs(["scale", "settings", "1", "--no-wait", "--json"]);
    expect(back.code, back.stderr).toBe(0);
    expect(JSON.parse(back.stdout) as ScaleJson).toMatchObject({ desired: 1, settled: false });
  }, 90_000);
});
