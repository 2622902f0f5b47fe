#!/usr/bin/env node
// bench/local-rollout: how long `gs up --detach` takes to bring the whole fleet to healthy, and how
// long a rolling deploy of every service takes, with the requests that failed under a steady load
// during it (budget: <= 60 s, 0 failed). Writes bench/local-rollout.json.
//   node bench/local-rollout.mjs [--rate 200] [--replicas 2] [--out bench/local-rollout.json]
// Needs the built CLI (npm run build) and nats-server.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "@nats-io/transport-node";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const rate = Number(arg("rate", 200));
const replicas = arg("replicas", undefined);
const outFile = path.resolve(arg("out", path.join(repo, "bench", "local-rollout.json")));

function gs(args, cwd, env = {}) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [path.join(repo, "bin", "run.js"), ...args], { cwd, env: { ...process.env, CI: "true", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr, ms: performance.now() - t0 }));
  });
}

// a load that touches every service: one rpc each, empty request. Any reply counts as answered
// (a 400 for an empty request still came from a live instance); no reply or a 5xx counts as failed.
async function startLoad(url, perSecond) {
  const nc = await connect({ servers: url.split(","), maxReconnectAttempts: -1 });
  const infos = [];
  const sub = nc.subscribe(nc.options.inboxPrefix ? `${nc.options.inboxPrefix}.bench` : "_INBOX.bench", { timeout: 1500 });
  nc.publish("$SRV.INFO", new Uint8Array(), { reply: sub.getSubject() });
  const seen = new Set();
  try {
    for await (const m of sub) {
      const info = m.json();
      if (!seen.has(info.name) && info.endpoints?.length) {
        seen.add(info.name);
        infos.push(info.endpoints[0].subject);
      }
      if (seen.size >= 22) break;
    }
  } catch {
    // the discovery window ended
  }
  sub.unsubscribe();
  const subjects = infos.sort();
  const stats = { sent: 0, answered: 0, failed: 0, errors: {} };
  const inFlight = new Set();
  let i = 0;
  const timer = setInterval(() => {
    const subject = subjects[i++ % subjects.length];
    stats.sent++;
    const p = nc
      .request(subject, new Uint8Array(), { timeout: 5000 })
      .then((m) => {
        const code = Number(m.headers?.get("Nats-Service-Error-Code") ?? 0);
        if (code >= 500) {
          stats.failed++;
          stats.errors[`${subject}: ${code}`] = (stats.errors[`${subject}: ${code}`] ?? 0) + 1;
        } else stats.answered++;
      })
      .catch((err) => {
        stats.failed++;
        stats.errors[`${subject}: ${err.message}`] = (stats.errors[`${subject}: ${err.message}`] ?? 0) + 1;
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }, 1000 / perSecond);
  return {
    subjects,
    async stop() {
      clearInterval(timer);
      await Promise.all(inFlight);
      await nc.close();
      return stats;
    },
  };
}

const dir = mkdtempSync(path.join(os.tmpdir(), "gs-bench-rollout-"));
writeFileSync(path.join(dir, "gs.yaml"), readFileSync(path.join(repo, "gs.yaml")));
symlinkSync(path.join(repo, "services"), path.join(dir, "services"));
symlinkSync(path.join(repo, "proto"), path.join(dir, "proto"));
let exitCode = 0;
try {
  const up = await gs(["up", "--detach", "--timeout", "5m", ...(replicas ? ["--replicas", replicas] : [])], dir);
  if (up.code !== 0) throw new Error(`gs up failed (${up.code}): ${up.stderr.trim().split("\n").pop()}`);
  const status = JSON.parse((await gs(["status", "--json"], dir)).stdout);
  const record = JSON.parse(readFileSync(path.join(dir, ".gs", "local.json"), "utf8"));
  const load = await startLoad(record.nats.url, rate);
  await new Promise((r) => setTimeout(r, 1000));
  const salt = `bench-${Date.now()}`; // a new version of every service, code unchanged
  const deploy = await gs(["deploy", "--json", "--timeout", "2m"], dir, { GS_BUILD_SALT: salt });
  await new Promise((r) => setTimeout(r, 1000));
  const requests = await load.stop();
  const deployed = deploy.code === 0 || deploy.code === 3 ? JSON.parse(deploy.stdout) : { services: [] };
  const after = JSON.parse((await gs(["status", "--json"], dir)).stdout);
  // nothing changed since: the budget is <= 5 s for 22 services, no rollout
  const noop = await gs(["deploy", "--json"], dir, { GS_BUILD_SALT: salt });
  const noopResult = noop.code === 0 ? JSON.parse(noop.stdout) : { services: [] };
  const result = {
    benchmark: "local-rollout",
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version, platform: `${process.platform}-${process.arch}` },
    fleet: { services: status.totals.services, instances: status.totals.desired },
    up: { seconds: +(up.ms / 1000).toFixed(1), healthy: `${status.totals.healthy}/${status.totals.services}` },
    deploy: {
      seconds: +(deploy.ms / 1000).toFixed(1),
      exitCode: deploy.code,
      deployed: deployed.services.filter((s) => s.action === "deployed").length,
      actions: Object.fromEntries(deployed.services.map((s) => [s.name, s.action])),
      healthyAfter: `${after.totals.healthy}/${after.totals.services}`,
    },
    unchangedDeploy: {
      seconds: +(noop.ms / 1000).toFixed(1),
      exitCode: noop.code,
      unchanged: noopResult.services.filter((s) => s.action === "unchanged").length,
    },
    load: { ratePerSecond: rate, subjects: load.subjects.length, ...requests },
    budget: { deploySeconds: 60, failedRequests: 0, unchangedDeploySeconds: 5 },
  };
  result.pass =
    result.deploy.exitCode === 0 &&
    result.deploy.seconds <= 60 &&
    requests.failed === 0 &&
    after.totals.healthy === after.totals.services &&
    result.unchangedDeploy.unchanged === after.totals.services &&
    result.unchangedDeploy.seconds <= 5;
  if (!result.pass) exitCode = 1;
  writeFileSync(outFile, JSON.stringify(result, null, 2) + "\n");
  process.stdout.write(JSON.stringify(result, null, 2) + "\n");
} catch (err) {
  process.stderr.write(`bench/local-rollout: ${err.message}\n`);
  exitCode = 1;
} finally {
  await gs(["down", "--purge"], dir);
  rmSync(dir, { recursive: true, force: true });
}
process.exit(exitCode);
