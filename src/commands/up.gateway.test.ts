// The HTTP gateway as a member of the local fleet: `gs up` starts it on one loopback port shared by its
// instances, it answers HTTP by calling the fleet over NATS, `gs status` counts its HTTP requests from
// its micro stats, and `gs deploy` rolls it out with the same health gate, the address unchanged.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { DeployJson } from "./deploy.js";
import type { StatusJson } from "./status.js";
import type { UpJson } from "./up.js";
import { createProject, waitFor, type TestProject } from "../../test/support/local-fleet.js";
import { runCli } from "../../test/support/run-cli.js";

const decide = {
  npcId: "n1",
  archetype: "villager",
  needs: [{ name: "hunger", value: 0.7 }],
  context: { hourOfDay: 13, threatLevel: 0.1 },
};

const post = async (url: string, subject: string, body: unknown): Promise<{ status: number; json: unknown }> => {
  const r = await fetch(`${url}/v1/${subject}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: r.status, json: await r.json() };
};

describe("the gateway in the local fleet", () => {
  let project: TestProject | undefined;

  afterAll(async () => {
    if (!project) return;
    await runCli(["down", "--purge"], { cwd: project.dir });
    project.remove();
  });

  it("is started by gs up on one port for its instances, answers HTTP, shows in gs status and is rolled out by gs deploy", async () => {
    project = createProject(["npc-behavior"], { desired: 1 });
    const dir = project.dir;
    writeFileSync(
      path.join(dir, "gs.yaml"),
      "project: gateway-test\nservices:\n  defaults: { desired: 1 }\n  npc-behavior: {}\n  gateway: { desired: 2, port: 0 }\n",
    );
    const up = await runCli(["up", "--detach", "--json"], { cwd: dir });
    expect(up.code, up.stderr).toBe(0);
    const gw = (JSON.parse(up.stdout) as UpJson).services.find((s) => s.name === "gateway")!;
    expect(gw).toMatchObject({ running: 2, desired: 2 });
    expect(gw.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(up.stderr).toContain(`gateway listens on ${gw.url}`);
    const url = gw.url!;

    const ok = await post(url, "npc-behavior.decide", decide);
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ npcId: "n1" });
    expect((await post(url, "npc-behavior.no-such-rpc", {})).status).toBe(404);

    // both instances answer over NATS; their HTTP requests are their micro stats
    const st = await waitFor(
      "the gateway's requests in gs status",
      async () => {
        const r = await runCli(["status", "--json"], { cwd: dir });
        const s = JSON.parse(r.stdout) as StatusJson;
        const row = s.services.find((x) => x.name === "gateway");
        return row?.responding === 2 && row.p99Ms !== null ? row : undefined;
      },
      30_000,
      500,
    );
    expect(st).toMatchObject({ desired: 2, running: 2, state: "steady" });
    const plain = await runCli(["status"], { cwd: dir });
    expect(plain.stdout).toMatch(/^gateway\s+2\s+2\s+0\s+2\s/m);
    expect(plain.stderr).toContain(`gateway listens on ${url}`);

    // a deploy rolls both instances out behind the same address while HTTP requests keep coming
    let sent = 0;
    const failures: string[] = [];
    let loading = true;
    const load = (async () => {
      while (loading) {
        sent++;
        try {
          const r = await post(url, "npc-behavior.decide", decide);
          if (r.status !== 200) failures.push(`HTTP ${r.status}`);
        } catch (err) {
          failures.push((err as Error).message);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const deploy = await runCli(["deploy", "gateway", "--json"], {
      cwd: dir,
      env: { GS_BUILD_SALT: `gateway-${Date.now()}` },
    });
    loading = false;
    await load;
    expect(deploy.code, deploy.stderr).toBe(0);
    const rolled = (JSON.parse(deploy.stdout) as DeployJson).services.find((s) => s.name === "gateway")!;
    expect(rolled.action).toBe("deployed");
    expect(rolled.to).not.toBe(gw.version);
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(10);
    const after = JSON.parse((await runCli(["status", "--json"], { cwd: dir })).stdout) as StatusJson;
    expect(after.services.find((s) => s.name === "gateway")).toMatchObject({ version: rolled.to, running: 2 });
    expect((await post(url, "npc-behavior.decide", decide)).status).toBe(200);
  }, 240_000);
});
