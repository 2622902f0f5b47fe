// `gs deploy` refuses a breaking .proto change against what the local fleet serves (docs/contracts.md):
// exit 2, the violations listed, nothing rolled out; --allow-breaking rolls it out.
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { DeployJson } from "./deploy.js";
import type { StatusJson } from "./status.js";
import { createProject, waitFor, type TestProject } from "../../test/support/local-fleet.js";
import { repoRoot, runCli } from "../../test/support/run-cli.js";

describe("gs deploy's contract gate on the local fleet", () => {
  let project: TestProject | undefined;

  afterAll(async () => {
    if (!project) return;
    await runCli(["down", "--purge"], { cwd: project.dir });
    project.remove();
  });

  it("refuses a removed field with exit 2 and rolls nothing out, and deploys it with --allow-breaking", async () => {
    project = createProject(["settings"], { desired: 1 });
    // a proto/ of its own (the project links the repository's), to change
    const protoDir = path.join(project.dir, "proto");
    rmSync(protoDir);
    cpSync(path.join(repoRoot, "proto"), protoDir, { recursive: true });
    const env = { XDG_CACHE_HOME: path.join(project.dir, ".cache") };
    const up = await runCli(["up", "--detach", "--timeout", "2m"], { cwd: project.dir, env });
    expect(up.code, up.stderr).toBe(0);
    const version = async () => {
      const st = JSON.parse((await runCli(["status", "--json"], { cwd: project!.dir, env })).stdout) as StatusJson;
      const s = st.services.find((x) => x.name === "settings")!;
      return s.responding === 1 ? s.version : undefined;
    };
    const before = await waitFor("settings answering", version, 30_000, 500);

    const file = path.join(protoDir, "settings/v1/settings.proto");
    writeFileSync(file, readFileSync(file, "utf8").replace("  string category = 9;\n", ""));
    const refused = await runCli(["deploy", "settings"], { cwd: project.dir, env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /^proto\/settings\/v1\/settings\.proto:\d+:\d+ {2}FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED {2}Previously present field "9" with name "category"/m,
    );
    expect(refused.stderr).toMatch(
      /^error: 2 breaking changes in settings against the running fleet: nothing was rolled out — .*--allow-breaking$/m,
    );
    expect(await version()).toBe(before);

    const allowed = await runCli(["deploy", "settings", "--allow-breaking", "--json"], { cwd: project.dir, env });
    expect(allowed.code, allowed.stderr).toBe(0);
    expect((JSON.parse(allowed.stdout) as DeployJson).services).toMatchObject([
      { name: "settings", action: "deployed" },
    ]);
    expect(allowed.stderr).toMatch(/deploying anyway \(--allow-breaking\)/);
    expect(await waitFor("the new version answering", version, 30_000, 500)).not.toBe(before);
  }, 300_000);
});
