// The whole fleet on the local platform: every service of the catalog at its desired count (44
// instances), as `gs up --detach` starts it on a fresh machine.
import { afterAll, describe, expect, it } from "vitest";
import { defaultRegistry } from "../../services/sdk/runtime.js";
import type { DeployJson } from "./deploy.js";
import type { StatusJson } from "./status.js";
import {
  createProject,
  existingServices,
  isAlive,
  steadyLoad,
  waitFor,
  type TestProject,
} from "../../test/support/local-fleet.js";
import { runCli } from "../../test/support/run-cli.js";

const all = existingServices();

describe.runIf(all.length === 22)("the full local fleet", () => {
  let project: TestProject | undefined;

  afterAll(async () => {
    if (!project) return;
    await runCli(["down", "--purge"], { cwd: project.dir });
    project.remove();
  });

  it("brings all 22 services to running == desired, rolls all of them out under load with no failed request, and stops without a trace", async () => {
    project = createProject(all);
    const t0 = Date.now();
    const up = await runCli(["up", "--detach", "--timeout", "3m"], { cwd: project.dir });
    expect(up.code, up.stderr).toBe(0);
    const upMs = Date.now() - t0;
    // NATS sees every instance (a new instance can take a moment to show up in $SRV.INFO)
    const s = await waitFor(
      "every instance answering",
      async () => {
        const r = await runCli(["status", "--json"], { cwd: project!.dir });
        const st = JSON.parse(r.stdout) as StatusJson;
        return st.services.every((x) => x.responding === x.desired) ? st : undefined;
      },
      30_000,
      500,
    );
    expect(s.totals).toEqual({ services: 22, healthy: 22, desired: 44, running: 44 });
    for (const x of s.services)
      expect(x).toMatchObject({ running: 2, desired: 2, pending: 0, responding: 2, state: "steady" });
    console.log(`gs up --detach, 22 services / 44 instances healthy in ${upMs} ms`);

    // a rolling deploy of every service under a steady load on every service fails no request
    const registry = defaultRegistry();
    const subjects = all.map((name) => registry.service(name)!.rpcs[0]!.subject);
    // any reply (a 400 for an empty request too) came from a live instance; silence or a 5xx did not
    const load = await steadyLoad(project.record()!.nats.url, subjects, 100, { failOn: (code) => code >= 500 });
    const deploy = await runCli(["deploy", "--json", "--timeout", "90s"], {
      cwd: project.dir,
      env: { GS_BUILD_SALT: `full-${Date.now()}` },
    });
    const stats = await load.stop();
    expect(deploy.code, deploy.stderr).toBe(0);
    const result = JSON.parse(deploy.stdout) as DeployJson;
    expect(result.services.map((x) => x.action)).toEqual(all.map(() => "deployed"));
    expect(stats.errors).toEqual([]);
    expect(stats.failed).toBe(0);
    expect(stats.sent).toBeGreaterThan(500);
    console.log(`rolling deploy of 22 services under load: ${stats.sent} requests, ${stats.failed} failed`);

    const rec = project.record()!;
    const pids = [rec.supervisor.pid, ...rec.pids.map((p) => p.pid)];
    expect(pids).toHaveLength(1 + 1 + 44);
    const down = await runCli(["down"], { cwd: project.dir });
    expect(down.code, down.stderr).toBe(0);
    expect(pids.filter(isAlive)).toEqual([]);
  }, 480_000);
});
