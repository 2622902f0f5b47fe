#!/usr/bin/env node
// bench/canary: `gs deploy --canary` on the local platform under a steady load, for three new versions
// of settings: a good one, one that fails 1 in 20 GetSchema requests, one that waits 40 ms in it.
// Records per scenario the verdict, the time from the canary's start to its verdict beyond the analysis
// window (budget: <= 10 s) and the requests clients saw fail (budget: 0 for the good version, no more
// than the canary's own failures for the bad ones). Writes bench/canary.json.
//   node bench/canary.mjs [--rate 100] [--analysis 10s] [--out bench/canary.json]
// Needs the built CLI (npm run build) and nats-server.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { connect } from "@nats-io/transport-node";
import { arg, gs, root } from "./lib.mjs";

const rate = Number(arg("rate", 100));
const analysis = arg("analysis", "10s");
const outFile = path.resolve(arg("out", path.join(root, "bench", "canary.json")));
const BUDGET_BEYOND_WINDOW_S = 10;

const dir = mkdtempSync(path.join(os.tmpdir(), "gs-bench-canary-"));
writeFileSync(path.join(dir, "gs.yaml"), "project: bench-canary\nservices:\n  settings: { desired: 2 }\n");
symlinkSync(path.join(root, "proto"), path.join(dir, "proto"));
const link = path.join(dir, "services");
const useServices = (target) => {
  rmSync(link, { force: true });
  symlinkSync(target, link);
};
useServices(path.join(root, "services"));

/** services/ (links) with settings' GetSchema wrapped: every Nth request fails, or each waits first. */
function variant(name, { failEvery = 0, delayMs = 0 }) {
  const copy = path.join(dir, `services-${name}`);
  mkdirSync(path.join(copy, "settings"), { recursive: true });
  const src = path.join(root, "services");
  for (const e of readdirSync(src))
    if (e !== "settings" && e !== "dist") symlinkSync(path.join(src, e), path.join(copy, e));
  for (const f of readdirSync(path.join(src, "settings")))
    if (f !== "service.ts") symlinkSync(path.join(src, "settings", f), path.join(copy, "settings", f));
  writeFileSync(
    path.join(copy, "settings", "service.ts"),
    `import mod from ${JSON.stringify(path.join(src, "settings", "service.ts"))};
let served = 0;
export default { ...mod, async start(ctx) {
  const h = await mod.start(ctx); // may be a class instance: only GetSchema is shadowed
  const real = h.GetSchema.bind(h);
  h.GetSchema = async (req, call) => {
    if (${failEvery} && ++served % ${failEvery} === 0) throw new Error("injected fault");
    if (${delayMs}) await new Promise((r) => setTimeout(r, ${delayMs}));
    return real(req, call);
  };
  return h;
} };
`,
  );
  return copy;
}

/** A steady `rate` of settings.get-schema requests; a request fails on no reply or an error reply. */
async function load(url) {
  const nc = await connect({ servers: url.split(","), maxReconnectAttempts: -1 });
  const data = new TextEncoder().encode("");
  let sent = 0;
  let failed = 0;
  const inFlight = new Set();
  const timer = setInterval(() => {
    sent++;
    const p = nc
      .request("settings.get-schema", data, { timeout: 5000 })
      .then((m) => void (m.headers?.get("Nats-Service-Error-Code") && failed++))
      .catch(() => void failed++)
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }, 1000 / rate);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(inFlight);
      await nc.close();
      return { sent, failed };
    },
  };
}

const scenarios = [
  { name: "good", fault: null, expect: "promoted" },
  { name: "failing-5pct", fault: { failEvery: 20 }, expect: "aborted" },
  { name: "slow-p99", fault: { delayMs: 40 }, expect: "aborted" },
];

let exitCode = 0;
try {
  const up = await gs(["up", "--detach", "--timeout", "2m"], dir);
  if (up.code !== 0) throw new Error(`gs up failed (${up.code}): ${up.stderr.trim().split("\n").pop()}`);
  const record = JSON.parse(readFileSync(path.join(dir, ".gs", "local.json"), "utf8"));
  const results = [];
  for (const s of scenarios) {
    useServices(s.fault ? variant(s.name, s.fault) : path.join(root, "services"));
    const traffic = await load(record.nats.url);
    await new Promise((r) => setTimeout(r, 1500));
    const deploy = await gs(
      ["deploy", "settings", "--canary", "1", "--analysis", analysis, "--min-requests", "100", "--json"],
      dir,
      { GS_BUILD_SALT: `bench-canary-${s.name}-${Date.now()}` },
    );
    const requests = await traffic.stop();
    useServices(path.join(root, "services"));
    const out = deploy.code === 0 || deploy.code === 3 ? JSON.parse(deploy.stdout) : { services: [] };
    const r = out.services[0] ?? {};
    const window = r.analysis?.window_seconds ?? 0;
    const beyond = r.analysis ? +(r.analysis.verdict_after_seconds - window).toFixed(1) : null;
    // the canary's own failures since it started (warm-up included), and a few served after the last reading
    const canaryErrors = r.figures?.canaryLifetime.errors ?? 0;
    const failuresBudget = s.fault ? canaryErrors + 3 : 0;
    results.push({
      scenario: s.name,
      exitCode: deploy.code,
      action: r.action ?? null,
      rule: r.rule ?? null,
      reason: r.reason ?? deploy.stderr.trim().split("\n").pop(),
      windowSeconds: window,
      verdictAfterSeconds: r.analysis?.verdict_after_seconds ?? null,
      beyondWindowSeconds: beyond,
      commandSeconds: +(deploy.ms / 1000).toFixed(1),
      canary: r.figures?.canary ?? null,
      canaryLifetime: r.figures?.canaryLifetime ?? null,
      baseline: r.figures?.baseline ?? null,
      load: { ratePerSecond: rate, ...requests },
      clientFailuresBudget: failuresBudget,
      pass:
        r.action === s.expect &&
        beyond !== null &&
        beyond <= BUDGET_BEYOND_WINDOW_S &&
        requests.failed <= failuresBudget,
    });
  }
  const result = {
    benchmark: "canary",
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version, platform: `${process.platform}-${process.arch}` },
    analysis,
    budget: { beyondWindowSeconds: BUDGET_BEYOND_WINDOW_S, clientFailures: "0 good; <= the canary's own failures bad" },
    scenarios: results,
    pass: results.every((r) => r.pass),
  };
  if (!result.pass) exitCode = 1;
  writeFileSync(outFile, JSON.stringify(result, null, 2) + "\n");
  process.stdout.write(JSON.stringify(result, null, 2) + "\n");
} catch (err) {
  process.stderr.write(`bench/canary: ${err.message}\n`);
  exitCode = 1;
} finally {
  await gs(["down", "--purge"], dir);
  rmSync(dir, { recursive: true, force: true });
}
process.exit(exitCode);
