#!/usr/bin/env node
// bench/local-rollout: how long `gs up --detach` takes to bring the whole fleet to healthy, and how
// long a rolling deploy of every service takes, with the requests that failed under a steady load
// during it (budget: <= 60 s, 0 failed). Writes bench/local-rollout.json.
//   node bench/local-rollout.mjs [--rate 200] [--replicas 2] [--out bench/local-rollout.json]
// Needs the built CLI (npm run build) and nats-server.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { arg, fleetLoad, gs, root, scratchProject } from "./lib.mjs";

const rate = Number(arg("rate", 200));
const replicas = arg("replicas", undefined);
const outFile = path.resolve(arg("out", path.join(root, "bench", "local-rollout.json")));

const dir = scratchProject("gs-bench-rollout-");
let exitCode = 0;
try {
  const up = await gs(["up", "--detach", "--timeout", "5m", ...(replicas ? ["--replicas", replicas] : [])], dir);
  if (up.code !== 0) throw new Error(`gs up failed (${up.code}): ${up.stderr.trim().split("\n").pop()}`);
  const status = JSON.parse((await gs(["status", "--json"], dir)).stdout);
  const record = JSON.parse(readFileSync(path.join(dir, ".gs", "local.json"), "utf8"));
  const load = await fleetLoad(record.nats.url, rate, status.totals.services);
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
