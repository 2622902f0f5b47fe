// `gs up` in the foreground, stopped as a user or a supervisor stops it: the built CLI in a child
// process, a throwaway project. The first SIGTERM or Ctrl-C stops every process of the fleet and
// exits 0.
import { afterEach, describe, expect, it } from "vitest";
import { createProject, existingServices, isAlive, waitFor, type TestProject } from "../../test/support/local-fleet.js";
import { startCli } from "../../test/support/live-process.js";

const canRun = existingServices().includes("settings");

describe.runIf(canRun)("gs up in the foreground, stopped by a signal", () => {
  let project: TestProject | undefined;
  afterEach(() => {
    project?.remove();
    project = undefined;
  });

  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    it(`stops the whole fleet at ${sig} and exits 0`, async () => {
      project = createProject(["settings"], { desired: 1 });
      const p = startCli(["up", "--timeout", "60s"], { cwd: project.dir, timeoutMs: 90_000 });
      await p.waitFor("stderr", /the local fleet is up on .* Ctrl-C stops it/, 80_000);
      const record = project.record();
      const pids = (record?.pids ?? []).map((x) => x.pid);
      expect(pids.length).toBeGreaterThanOrEqual(2);
      expect(pids.every(isAlive)).toBe(true);
      p.signal(sig);
      expect(await p.exit).toEqual({ code: 0, signal: null });
      await waitFor("the fleet's processes to end", () => (pids.some(isAlive) ? undefined : true), 10_000);
    }, 120_000);
  }
});
