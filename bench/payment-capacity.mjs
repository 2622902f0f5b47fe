#!/usr/bin/env node
// bench/payment-capacity: how many deposits a second payment takes on the local platform's replicated
// state, and where it stops keeping up. `gs up --cluster 5` (every service, R3 JetStream, payment x2),
// then deposits (each with its own idempotency key, over 8 wallets, retried as a client retries) at
// rising rates, one step after the other, and beside them in the same run the baseline: reads of
// settings.get-schema at the same rates (no state). A step keeps up when none failed and its p99 stays
// under a second. On nats-server < 2.9.21 each deposit's conditional writes wait their turn behind the
// write fence (see docs/fleet.md); what the fleet's own machine shares with it counts too, so record the
// figures with the machine otherwise idle.
//   node bench/payment-capacity.mjs [--rates 20,40,60,90] [--seconds 20] [--out bench/payment-capacity.json]
// Needs the built CLI (npm run build) and nats-server.
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { tsImport } from "tsx/esm/api";
import { arg, root } from "./lib.mjs";

const rates = (arg("rates", "20,40,60,90") ?? "").split(",").map(Number);
const seconds = Number(arg("seconds", 20));
const outFile = path.resolve(arg("out", path.join(root, "bench", "payment-capacity.json")));
const log = (l) => process.stderr.write(`${l}\n`);
// twice the game days' deposits (60 requests/s, half of them deposits): a fault must not meet a fleet at its limit
const BUDGET = { keepsUpTo: 60 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const gd = await tsImport("../test/support/game-days.ts", import.meta.url);

const step = async (rate, op) => {
  const load = gd.startLoad(rate, [op]);
  await sleep(seconds * 1000);
  const f = await load.stop();
  return {
    rate,
    achievedPerSecond: Math.round((f.ok / f.seconds) * 10) / 10,
    sent: f.sent,
    failed: f.failed,
    retried: f.retried,
    latencyMs: f.latencyMs,
    keepsUp: f.failed === 0 && f.latencyMs.p99 < 1000,
  };
};

const fleet = await gd.startDeployFleet();
const steps = [];
try {
  const wallets = new gd.Wallets(fleet.client, `cap${Date.now().toString(36)}`);
  await wallets.seed();
  for (const rate of rates) {
    const baseline = await step(rate, gd.readSchema(fleet.client));
    const deposits = await step(rate, wallets.deposit());
    log(
      `${rate}/s: deposits p99 ${deposits.latencyMs.p99} ms, ${deposits.failed} failed; baseline p99 ${baseline.latencyMs.p99} ms`,
    );
    steps.push({
      rate,
      deposits,
      baseline,
      p99Ratio: Math.round((deposits.latencyMs.p99 / Math.max(1, baseline.latencyMs.p99)) * 10) / 10,
    });
    await sleep(3000); // what one step left queued is not the next step's
  }
  const ledger = await wallets.check();
  const kept = steps.filter((s) => s.deposits.keepsUp).map((s) => s.rate);
  const out = {
    bench: "payment-capacity",
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version },
    natsServer: gd.natsServerCas().version,
    seconds,
    steps,
    keepsUpTo: kept.length ? Math.max(...kept) : 0,
    ledger: { lost: ledger.lost, doubleApplied: ledger.doubleApplied, gaps: ledger.gaps },
    budget: BUDGET,
  };
  out.pass = out.keepsUpTo >= BUDGET.keepsUpTo && ledger.lost === 0 && ledger.doubleApplied === 0 && ledger.gaps === 0;
  if (!out.pass) process.exitCode = 1;
  writeFileSync(outFile, JSON.stringify(out, null, 2) + "\n");
  log(
    `payment keeps up to ${out.keepsUpTo} deposits/s (budget ${BUDGET.keepsUpTo}): ${out.pass ? "pass" : "FAIL"}; wrote ${path.relative(process.cwd(), outFile)}`,
  );
} finally {
  await fleet.stop();
}
