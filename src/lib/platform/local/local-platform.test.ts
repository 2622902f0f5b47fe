// The local platform with real processes: the built CLI (bin/run.js) runs `gs up --detach`, `gs deploy`,
// `gs scale`, `gs logs`, `gs status` and `gs down` in a throwaway project, against real nats-server and
// real service instances.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeployJson } from "../../../commands/deploy.js";
import type { StatusJson } from "../../../commands/status.js";
import path from "node:path";
import {
  createProject,
  existingServices,
  isAlive,
  steadyLoad,
  waitFor,
  type TestProject,
} from "../../../../test/support/local-fleet.js";
import { repoRoot, runCli } from "../../../../test/support/run-cli.js";

const REPO_SERVICES = path.join(repoRoot, "services");

// a handful of services keeps the suite quick on 2 cores; settings carries the request load
const preferred = ["settings", "auth", "world-state", "time-manager"];
const available = existingServices();
const services = preferred.filter((s) => available.includes(s)).slice(0, 3);
const canRun = services.includes("settings") && services.length >= 2;

async function status(project: TestProject): Promise<StatusJson> {
  const r = await runCli(["status", "--json"], { cwd: project.dir });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as StatusJson;
}

const healthy = (s: StatusJson) =>
  s.services.every((x) => x.running === x.desired && x.responding === x.desired && x.pending === 0);

describe.runIf(canRun)("local platform", () => {
  let project: TestProject;

  beforeAll(async () => {
    project = createProject(services);
  });

  afterAll(async () => {
    if (!project) return;
    await runCli(["down", "--purge"], { cwd: project.dir });
    project.remove();
  });

  it("brings every service to running == desired and answering with `gs up --detach`", async () => {
    const t0 = Date.now();
    const up = await runCli(["up", "--detach", "--timeout", "90s"], { cwd: project.dir });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toContain("the local fleet is up");
    const s = await status(project);
    expect(s.services.map((x) => x.name)).toEqual([...services].sort());
    expect(s.totals).toMatchObject({
      services: services.length,
      healthy: services.length,
      desired: services.length * 2,
      running: services.length * 2,
    });
    expect(healthy(s)).toBe(true);
    for (const x of s.services) expect(x.version).toMatch(/^\d+\.\d+\.\d+\+[0-9a-f]{12}$/);
    expect((await runCli(["status", "--check"], { cwd: project.dir })).code).toBe(0);
    console.log(
      `gs up --detach (${services.length} services, ${services.length * 2} instances): ${Date.now() - t0} ms`,
    );
  }, 120_000);

  it("says so and exits 0 when the fleet is already up", async () => {
    const again = await runCli(["up", "--detach"], { cwd: project.dir });
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/already up/);
  });

  it("restarts an instance killed with SIGKILL and returns to the desired count", async () => {
    const victim = project.record()!.pids.find((p) => p.what.startsWith("settings-"))!;
    process.kill(victim.pid, "SIGKILL");
    const after = await waitFor(
      "settings back at its desired count",
      async () => {
        const s = await status(project);
        const settings = s.services.find((x) => x.name === "settings")!;
        return (settings.restarts ?? 0) >= 1 && healthy(s) ? s : undefined;
      },
      30_000,
      300,
    );
    expect(after.services.find((x) => x.name === "settings")).toMatchObject({
      running: 2,
      responding: 2,
      restarts: 1,
      state: "steady",
    });
    expect(project.record()!.pids.some((p) => p.pid === victim.pid)).toBe(false);
  }, 60_000);

  it("changes a desired count live with `gs scale`", async () => {
    const r = await runCli(["scale", "settings", "3"], { cwd: project.dir });
    expect(r.code, r.stderr).toBe(0);
    await waitFor("3 settings instances", async () => {
      const x = (await status(project)).services.find((s) => s.name === "settings")!;
      return x.running === 3 && x.responding === 3 ? x : undefined;
    });
    expect((await runCli(["scale", "settings", "2"], { cwd: project.dir })).code).toBe(0);
    await waitFor("2 settings instances", async () => {
      const x = (await status(project)).services.find((s) => s.name === "settings")!;
      return x.running === 2 && x.responding === 2 ? x : undefined;
    });
    const bad = await runCli(["scale", "no-such-service", "2"], { cwd: project.dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: unknown service no-such-service — services in gs.yaml: /);
  }, 60_000);

  it("skips services whose build did not change", async () => {
    const r = await runCli(["deploy", "--json"], { cwd: project.dir });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as DeployJson;
    expect(
      out.services.filter((s) => s.action !== "unchanged" || s.from !== s.to),
      "(did someone edit services/ meanwhile?)",
    ).toEqual([]);
  }, 60_000);

  it("rolls back a deploy whose new version throws at import: the old version keeps answering, exit 3", async () => {
    const before = (await status(project)).services.find((s) => s.name === "settings")!;
    project.useServices(project.brokenServices("settings"));
    const load = await steadyLoad(project.record()!.nats.url, "settings.get-schema", 50);
    let r;
    try {
      r = await runCli(["deploy", "settings", "--json", "--timeout", "30s"], { cwd: project.dir });
    } finally {
      project.useServices(REPO_SERVICES);
    }
    const result = await load.stop();
    expect(r.code, r.stderr).toBe(3);
    const out = JSON.parse(r.stdout) as DeployJson;
    expect(out.target).toBe("local");
    expect(out.services).toHaveLength(1);
    expect(out.services[0]).toMatchObject({ name: "settings", action: "rolled_back", from: before.version });
    expect(out.services[0]!.to).not.toBe(before.version);
    expect(out.services[0]!.reason).toMatch(/exited with code 1: Error: cannot load time zone data/);
    const after = (await status(project)).services.find((s) => s.name === "settings")!;
    expect(after).toMatchObject({ version: before.version, running: 2, responding: 2 });
    expect(result.failed, result.errors.join("; ")).toBe(0);
    expect(result.ok).toBeGreaterThan(0);
  }, 90_000);

  it("rolls out a new version under steady request load with zero failed requests", async () => {
    const before = await status(project);
    const load = await steadyLoad(project.record()!.nats.url, "settings.get-schema", 100);
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    const r = await runCli(["deploy", "--json"], { cwd: project.dir, env: { GS_BUILD_SALT: `test-${Date.now()}` } });
    const seconds = (Date.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 500));
    const result = await load.stop();
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as DeployJson;
    expect(out.services.map((s) => s.action)).toEqual(services.map(() => "deployed"));
    const after = await status(project);
    for (const s of after.services) expect(s.version).not.toBe(before.services.find((b) => b.name === s.name)!.version);
    expect(healthy(after)).toBe(true);
    expect(result.failed, result.errors.join("; ")).toBe(0);
    expect(result.ok).toBeGreaterThan(100);
    console.log(
      `rolling deploy of ${services.length} services: ${seconds.toFixed(1)} s, ${result.ok} requests, ${result.failed} failed`,
    );
  }, 120_000);

  it("prints a service's logs with each line prefixed by its instance", async () => {
    const r = await runCli(["logs", "settings", "--since", "10m"], { cwd: project.dir });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines.length).toBeGreaterThan(2);
    for (const l of lines) expect(l).toMatch(/^settings-[0-9a-f]{6} \| /);
    expect(r.stdout).toContain('"msg":"started"');
    const one = lines[0]!.split(" | ")[0]!;
    const only = await runCli(["logs", "settings", "--instance", one], { cwd: project.dir });
    expect(
      only.stdout
        .trim()
        .split("\n")
        .every((l) => l.startsWith(`${one} | `)),
    ).toBe(true);
  });

  it("leaves no process behind after `gs down`", async () => {
    const rec = project.record()!;
    const pids = [rec.supervisor.pid, ...rec.pids.map((p) => p.pid)];
    expect(pids.every(isAlive)).toBe(true);
    const r = await runCli(["down"], { cwd: project.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/stopped/);
    expect(pids.filter(isAlive)).toEqual([]);
    expect(project.record()).toBeUndefined();
    const s = await runCli(["status", "--check"], { cwd: project.dir });
    expect(s.code).toBe(5);
    expect(s.stderr).toMatch(/not running.*gs up/);
  }, 60_000);
});

describe.runIf(canRun)("local platform with a 3-node JetStream cluster", () => {
  it("starts a 3-node nats-server cluster and brings the services up on it", async () => {
    const project = createProject(["settings"], { desired: 1 });
    try {
      const up = await runCli(["up", "--detach", "--cluster", "3", "--timeout", "90s"], { cwd: project.dir });
      expect(up.code, up.stderr).toBe(0);
      const rec = project.record()!;
      expect(rec.nats.url.split(",")).toHaveLength(3);
      const s = await status(project);
      expect(s.services[0]).toMatchObject({ name: "settings", running: 1, responding: 1 });
      const pids = [rec.supervisor.pid, ...rec.pids.map((p) => p.pid)];
      expect(pids).toHaveLength(1 + 3 + 1);
      expect((await runCli(["down", "--purge"], { cwd: project.dir })).code).toBe(0);
      expect(pids.filter(isAlive)).toEqual([]);
    } finally {
      await runCli(["down"], { cwd: project.dir });
      project.remove();
    }
  }, 120_000);
});

describe.runIf(canRun)("local platform errors", () => {
  it("names the install command when nats-server is missing, exit 1, nothing started", async () => {
    const project = createProject(services.slice(0, 1));
    try {
      const r = await runCli(["up", "--detach"], {
        cwd: project.dir,
        env: { GS_NATS_SERVER: "/nonexistent/nats-server" },
      });
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(/nats-server not found.*apt-get install nats-server/);
      expect(project.record()).toBeUndefined();
    } finally {
      project.remove();
    }
  });

  it("restricts local-only commands to local targets, and asks for --yes before deploying to a confirm: true target", async () => {
    const project = createProject(services.slice(0, 1));
    try {
      const { writeFileSync, readFileSync } = await import("node:fs");
      const file = `${project.dir}/gs.yaml`;
      const ecs =
        "targets:\n  prod:\n    platform: ecs\n    region: us-east-1\n    cluster: c\n    registry: 123456789012.dkr.ecr.us-east-1.amazonaws.com\n    nats: { url: nats://nats.internal:4222 }\n";
      writeFileSync(file, readFileSync(file, "utf8").replace("services:", `${ecs}services:`));
      const r = await runCli(["up", "--target", "prod"], { cwd: project.dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/target "prod" runs on ecs.*local/);
      // ecs targets confirm by default: in CI, without --yes, nothing is called
      const p = await runCli(["deploy", "--target", "prod"], { cwd: project.dir });
      expect(p.code).toBe(2);
      expect(p.stderr).toMatch(/confirm: true.*--yes/);
      const d = await runCli(["deploy"], { cwd: project.dir });
      expect(d.code).toBe(1);
      expect(d.stderr).toMatch(/the local fleet is not running — start it with `gs up`/);
    } finally {
      project.remove();
    }
  });
});
