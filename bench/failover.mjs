#!/usr/bin/env node
// bench/failover: `gs up --cluster 3 --secure` (payment and settings, 2 instances each, R3 JetStream),
// a steady request load (a quarter of it payment deposits: KV writes + events), SIGKILL of the
// nats-server that leads payment's KV stream, and every acknowledged write checked once it is back.
// Budget: < 0.1% failed requests, 0 acknowledged writes lost. Writes bench/failover.json.
//   node bench/failover.mjs [--seconds 30] [--kill-after 10] [--rate 200] [--plain] [--out bench/failover.json]
// Needs the built CLI (npm run build) and nats-server. The scenario lives in test/support/failover.ts
// (services/sdk/failover.test.ts runs a shorter one).
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { tsImport } from "tsx/esm/api";
import { arg, root } from "./lib.mjs";

const seconds = Number(arg("seconds", 30));
const killAfterSeconds = Number(arg("kill-after", 10));
const rate = Number(arg("rate", 200));
const secure = !process.argv.includes("--plain");
const outFile = path.resolve(arg("out", path.join(root, "bench", "failover.json")));

const { runFailover } = await tsImport("../test/support/failover.ts", import.meta.url);
const r = await runFailover({ seconds, killAfterSeconds, rate, secure, log: (l) => process.stderr.write(`${l}\n`) });
const lost = r.writes.deposits.lost + r.writes.kv.lost + r.writes.events.lost;
const report = {
  benchmark: "failover",
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, node: process.version, platform: `${process.platform}-${process.arch}` },
  scenario: { seconds, killAfterSeconds, ratePerSecond: rate },
  ...r,
  budget: { failedRatio: 0.001, lostWrites: 0 },
  pass: r.requests.failedRatio < 0.001 && lost === 0,
};
writeFileSync(outFile, JSON.stringify(report, null, 2) + "\n");
process.stdout.write(JSON.stringify(report, null, 2) + "\n");
process.exit(report.pass ? 0 : 1);
