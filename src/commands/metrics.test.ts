// `gs metrics` refusing to start, as a user meets it (the built CLI, a scratch project, no fleet
// needed): a bad --listen is exit 2, a port in use exit 1 with a hint, a fleet that is not running
// exit 1; each one line, and the port is never left bound. (Serving, scraped by a real Prometheus:
// metrics.prometheus.test.ts.)
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, type TestProject } from "../../test/support/local-fleet.js";
import { runCli } from "../../test/support/run-cli.js";
import type { ErrorJson } from "../base-command.js";

let project: TestProject;
beforeAll(() => {
  project = createProject(["npc-behavior"], { desired: 1 });
});
afterAll(() => project?.remove());

/** Runs gs metrics in the project and returns its one line of stderr, after checking the exit code. */
async function fails(args: string[], code: number): Promise<string> {
  const r = await runCli(["metrics", ...args], { cwd: project.dir, timeoutMs: 30_000 });
  const lines = r.stderr.trim().split("\n").filter(Boolean);
  expect(r.code, r.stderr).toBe(code);
  expect(lines, r.stderr).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at |bug in gs/);
  expect(r.stdout).toBe("");
  return lines[0]!;
}

describe("gs metrics refuses to start", () => {
  it("exits 2 on a --listen that is not HOST:PORT", async () => {
    expect(await fails(["--listen", "9464"], 2)).toBe(
      'error: --listen: bad listen address "9464": use HOST:PORT, e.g. 127.0.0.1:9464 (or :9464 for every interface) — see `gs metrics --help`',
    );
  });

  it("exits 2 on an address that is not this machine's", async () => {
    // TEST-NET-1 (RFC 5737): assigned to no host; binding it fails, nothing is sent
    expect(await fails(["--listen", "192.0.2.1:9464"], 2)).toBe(
      "error: cannot listen on 192.0.2.1, port 9464: 192.0.2.1 is not an address of this machine — use 127.0.0.1:PORT, or :PORT for every interface",
    );
  });

  it("exits 1 with a hint when the port is in use, before looking for the fleet", async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      expect(await fails(["--listen", `127.0.0.1:${port}`], 1)).toBe(
        `error: cannot listen on 127.0.0.1, port ${port}: the port is in use — stop what listens there, or pick another port with --listen HOST:PORT`,
      );
    } finally {
      taken.close();
    }
  });

  it("exits 1 when the local fleet is not running, and releases the port", async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    expect(await fails(["--listen", `127.0.0.1:${port}`], 1)).toMatch(/^error: the local fleet is not running — /);
    // gs bound it first (a port in use fails before the fleet is looked for) and let it go
    const again = net.createServer();
    await new Promise<void>((resolve, reject) => {
      again.once("error", reject);
      again.listen(port, "127.0.0.1", resolve);
    });
    again.close();
  });

  it("says the same as a JSON error document under --json", async () => {
    const r = await runCli(["metrics", "--listen", "9464", "--json"], { cwd: project.dir });
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout) as ErrorJson;
    expect(doc.error).toMatchObject({ code: "bad_listen_address", exitCode: 2 });
  });
});
