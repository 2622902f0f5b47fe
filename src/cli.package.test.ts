// gs as an installed package: `npm pack` of the built tree, installed globally into a temporary prefix,
// run from a directory with no gs.yaml and no proto/ — so everything it needs (dist, proto, plugins,
// runtime dependencies) must come from the package itself, not from this checkout.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { createLogger } from "../services/sdk/log.js";
import { startService, type RunningService } from "../services/sdk/runtime.js";
import type { RequestJson } from "./commands/request.js";
import { startNatsServer, type TestNatsServer } from "../test/support/nats-server.js";
import { npcProbe } from "../services/test-support/npc-probe.js";
import { repoRoot } from "../test/support/run-cli.js";

const run = promisify(execFile);

let tmp: string;
let prefix: string;
let work: string;
let packed: string[];
let server: TestNatsServer;
let nc: NatsConnection;
let svc: RunningService;

/** The installed `gs`, as a shell would find it on PATH, with a clean environment. */
async function gs(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { PATH: `${path.join(prefix, "bin")}:${process.env.PATH}`, HOME: work, CI: "true", NO_COLOR: "1" };
  try {
    const r = await run("gs", args, { cwd: work, env, timeout: 30_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof e.code !== "number") throw err;
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

describe("the npm package, installed globally", () => {
  beforeAll(async () => {
    if (!existsSync(path.join(repoRoot, "dist/cli.js"))) throw new Error("build first: npm run build");
    tmp = mkdtempSync(path.join(os.tmpdir(), "gs-package-"));
    prefix = path.join(tmp, "prefix");
    work = path.join(tmp, "work");
    mkdirSync(work);
    // --ignore-scripts: prepack would rebuild dist/ under the other tests; this packs the current build
    const pack = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", tmp], {
      cwd: repoRoot,
      maxBuffer: 64 * 1024 * 1024,
    });
    const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
    packed = info!.files.map((f) => f.path);
    await run(
      "npm",
      [
        "install",
        "-g",
        "--prefix",
        prefix,
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        path.join(tmp, info!.filename),
      ],
      { cwd: tmp, timeout: 150_000 },
    );
    server = await startNatsServer({ jetstream: true });
    nc = await connect({ servers: server.url });
    svc = await startService(npcProbe(), { nc, log: createLogger({}, { write: () => undefined }) });
  }, 180_000);
  afterAll(async () => {
    await svc?.stop(1000);
    await nc?.close();
    await server?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("packs the built CLI, the manifest and proto/, and no sources or tests", () => {
    expect(packed).toEqual(
      expect.arrayContaining(["bin/run.js", "dist/cli.js", "oclif.manifest.json", "package.json"]),
    );
    expect(packed.filter((f) => f.startsWith("proto/") && f.endsWith(".proto")).length).toBeGreaterThan(22);
    expect(packed.filter((f) => /^(src|test|services|bench|scripts)\//.test(f) || /\.test\./.test(f))).toEqual([]);
  });

  it("installs a gs that runs from the prefix, not from this checkout", () => {
    const bin = realpathSync(path.join(prefix, "bin", "gs"));
    expect(bin.startsWith(realpathSync(prefix))).toBe(true);
    const pkg = JSON.parse(readFileSync(path.join(path.dirname(bin), "..", "package.json"), "utf8")) as {
      name: string;
    };
    expect(pkg.name).toBe("gs");
  });

  it("gs --help lists the commands, shell completion included", async () => {
    const r = await gs(["--help"]);
    expect(r.code, r.stderr).toBe(0);
    for (const cmd of ["request", "status", "deploy", "bench", "autocomplete"])
      expect(r.stdout).toMatch(new RegExp(`^  ${cmd} `, "m"));
  });

  it("gs request gets a reply from a running service, with the proto/ shipped in the package", async () => {
    const r = await gs(["request", "npc-behavior.decide", '{"npcId":"installed"}', "-s", server.url, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as RequestJson;
    expect(doc).toMatchObject({ subject: "npc-behavior.decide", response_type: "npc_behavior.v1.DecideResponse" });
    expect(doc.replies[0]!.reply).toMatchObject({ npcId: "installed", actionId: "eat" });
  });

  it("gs request still says what is wrong, in one line, for an unknown subject", async () => {
    const r = await gs(["request", "npc-behavior.decid", "-s", server.url]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("npc-behavior.decide");
  });
});
