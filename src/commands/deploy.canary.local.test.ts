// `gs deploy --canary` on the local platform with real processes, under a steady `gs bench --rate` load:
// a good version is promoted with no failed request; one that fails a few percent of one rpc, and one
// whose p99 is several times higher, are aborted with the service left as it was. The bad versions are
// real builds of services/ copies whose handler fails or waits (test/support/service-variants.ts).
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BenchJson } from "./bench.js";
import type { CanaryDeployJson } from "./deploy.js";
import type { HistoryJson } from "./history.js";
import type { StatusJson } from "./status.js";
import { createProject, existingServices, type TestProject } from "../../test/support/local-fleet.js";
import { startCli } from "../../test/support/live-process.js";
import { repoRoot, runCli } from "../../test/support/run-cli.js";
import { faultyServices } from "../../test/support/service-variants.js";

const canRun = existingServices().includes("settings");
/** one in 20 GetSchema requests fails: 5% of the canary's traffic */
const FAIL_EVERY = 20;

describe.runIf(canRun)("gs deploy --canary on the local platform", () => {
  let project: TestProject;
  const gs = (args: string[], env: Record<string, string> = {}) =>
    runCli(args, { cwd: project.dir, env, timeoutMs: 150_000 });
  const settings = async () => {
    const r = await gs(["status", "--json"]);
    return (JSON.parse(r.stdout) as StatusJson).services.find((s) => s.name === "settings")!;
  };
  const history = async () =>
    (JSON.parse((await gs(["history", "settings", "--json"])).stdout) as HistoryJson).versions;

  /** `gs deploy settings --canary 1 ...` while `gs bench` sends a steady 100 req/s to settings.get-schema. */
  async function canaryUnderLoad(extra: string[], salt: string) {
    const bench = startCli(
      [
        "bench",
        "settings.get-schema",
        '{"category":""}',
        "--rate",
        "100",
        "--workers",
        "1",
        "--duration",
        "5m",
        "--json",
      ],
      { cwd: project.dir, timeoutMs: 240_000 },
    );
    await bench.waitFor("stderr", /\S/, 30_000).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1500));
    const deploy = await gs(
      ["deploy", "settings", "--canary", "1", "--analysis", "10s", "--min-requests", "100", "--json", ...extra],
      { GS_BUILD_SALT: salt },
    );
    bench.signal("SIGINT");
    await bench.exit;
    return {
      deploy,
      result: JSON.parse(deploy.stdout) as CanaryDeployJson,
      load: JSON.parse(bench.stdout()) as BenchJson,
    };
  }

  beforeAll(async () => {
    project = createProject(["settings"], { desired: 2 });
    const up = await gs(["up", "--detach", "--timeout", "90s"]);
    expect(up.code, up.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    if (!project) return;
    await runCli(["down", "--purge"], { cwd: project.dir });
    project.remove();
  });

  it("refuses bad input with one line and exit 2, starting nothing", async () => {
    const before = await settings();
    const cases: [string[], RegExp][] = [
      [["--canary", "2"], /^error: settings runs 2 instances: a canary of 2 would be as large as the service/],
      [["--canary", "150%"], /^error: --canary: bad canary percent "150%"/],
      [["--canary", "1", "--analysis", "3s"], /^error: analysis window 3s is shorter than two polls/],
      [["--canary", "1", "--max-error-rate", "2"], /^error: --max-error-rate: bad percent "2"/],
    ];
    for (const [args, message] of cases) {
      const r = await gs(["deploy", "settings", ...args], { GS_BUILD_SALT: `bad-input-${Date.now()}` });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(message);
    }
    // a bare --canary takes the service's canary.size from gs.yaml
    const yaml = path.join(project.dir, "gs.yaml");
    const config = readFileSync(yaml, "utf8");
    writeFileSync(yaml, config.replace("  settings: {}", "  settings: { canary: { size: 2 } }"));
    try {
      const bare = await gs(["deploy", "settings", "--canary"], { GS_BUILD_SALT: `bare-${Date.now()}` });
      expect(bare.code, bare.stderr).toBe(2);
      expect(bare.stderr.trim()).toMatch(/^error: settings runs 2 instances: a canary of 2 would be as large/);
    } finally {
      writeFileSync(yaml, config);
    }
    const unknown = await gs(["deploy", "setings", "--canary", "1"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/settings/);
    const after = await settings();
    expect(after.version).toBe(before.version);
    expect(after).toMatchObject({ running: 2, desired: 2 });
  }, 120_000);

  it("promotes a good version through the rolling deploy, with no failed request, and stops the canary", async () => {
    const from = (await settings()).version;
    const { deploy, result, load } = await canaryUnderLoad([], `canary-good-${Date.now()}`);
    expect(deploy.code, deploy.stderr).toBe(0);
    const [s] = result.services;
    expect(s).toMatchObject({
      name: "settings",
      action: "promoted",
      from,
      verdict: "promote",
      rule: "passed",
      canaries: 1,
    });
    expect(s!.figures!.canary.requests).toBeGreaterThanOrEqual(100);
    expect(s!.figures!.canary.errors).toBe(0);
    expect(s!.figures!.baseline.instances).toBe(2);
    expect(s!.promotion).toMatchObject({ action: "deployed", to: s!.to });
    expect(deploy.stderr).toMatch(/settings\s+analysis\s+\S+\/10s canary \d+ req, 0\.00% errors/);
    expect(deploy.stderr).toMatch(/settings\s+verdict\s+promote: canary error rate 0\.00%/);
    expect(load.errors).toBe(0);
    expect(load.requests).toBeGreaterThan(1000);
    const now = await settings();
    expect(now).toMatchObject({ version: s!.to, running: 2, desired: 2 });
    // the canary's instance is gone: only the service's own answer
    expect(now.responding).toBe(2);
  }, 180_000);

  it("aborts a version that fails a few percent of one rpc; clients see no more than the canary's failures", async () => {
    const from = (await settings()).version;
    project.useServices(
      faultyServices(project.dir, "failing", "settings", { rpc: "GetSchema", failEvery: FAIL_EVERY }),
    );
    let run: Awaited<ReturnType<typeof canaryUnderLoad>>;
    try {
      run = await canaryUnderLoad([], `canary-failing-${Date.now()}`);
    } finally {
      project.useServices(path.join(repoRoot, "services"));
    }
    const { deploy, result, load } = run;
    expect(deploy.code, deploy.stderr).toBe(3);
    const [s] = result.services;
    expect(s).toMatchObject({ name: "settings", action: "aborted", from, verdict: "abort", rule: "error_rate" });
    expect(s!.reason).toMatch(/^canary error rate \d+\.\d\d% \(\d+ of \d+\) is above the limit 1%/);
    expect(s!.promotion).toBeUndefined();
    const { canary, baseline } = s!.figures!;
    expect(canary.errors).toBeGreaterThan(0);
    expect(baseline.errors).toBe(0);
    // the failures clients saw were the canary's own (1 in 20 of its share, about a third), no more:
    // all it served since it started, warm-up included, and what it served after the last reading
    const lifetime = s!.figures!.canaryLifetime;
    expect(load.errors).toBeGreaterThan(0);
    expect(lifetime.errors).toBeLessThanOrEqual(Math.ceil(lifetime.requests / FAIL_EVERY));
    expect(load.errors).toBeLessThanOrEqual(lifetime.errors + 3);
    expect(canary.requests).toBeLessThan(baseline.requests);
    expect(Object.keys(load.errors_by_kind)).toEqual(["error_reply:500"]);
    expect(await settings()).toMatchObject({ version: from, running: 2, responding: 2 });
    expect((await history())[0]).toMatchObject({ version: s!.to, outcome: "canary_aborted", current: false });
  }, 180_000);

  it("aborts a version whose p99 is several times higher, the service unchanged", async () => {
    const from = (await settings()).version;
    project.useServices(faultyServices(project.dir, "slow", "settings", { rpc: "GetSchema", delayMs: 40 }));
    let run: Awaited<ReturnType<typeof canaryUnderLoad>>;
    try {
      run = await canaryUnderLoad([], `canary-slow-${Date.now()}`);
    } finally {
      project.useServices(path.join(repoRoot, "services"));
    }
    const { deploy, result, load } = run;
    expect(deploy.code, deploy.stderr).toBe(3);
    const [s] = result.services;
    expect(s).toMatchObject({ name: "settings", action: "aborted", verdict: "abort", rule: "p99_ratio" });
    expect(s!.figures!.canary.p99Ms!).toBeGreaterThanOrEqual(40);
    expect(s!.figures!.canary.p99Ms! / s!.figures!.baseline.p99Ms!).toBeGreaterThan(1.5);
    expect(s!.reason).toMatch(
      /^canary p99 \S+ vs baseline \S+ \(x\d+\.\d\d, limit x1\.5, \d+ of \d+ slower than \S+\)$/,
    );
    expect(load.errors).toBe(0);
    expect(await settings()).toMatchObject({ version: from, running: 2, responding: 2 });
  }, 180_000);
});
