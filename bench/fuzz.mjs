#!/usr/bin/env node
// bench/fuzz: 100,000 hostile requests (random bytes, truncated and oversized protobuf, wrong wire
// types, very long strings, deep nesting, large junk) spread over every endpoint of the 22 services,
// 64 in flight; every one must be answered (no 5xx, no silence), every process must stay up, and the
// resident memory of each must stay flat. Writes bench/fuzz.json.
//   node bench/fuzz.mjs [--total 100000] [--concurrency 64] [--out bench/fuzz.json]
// Needs `npm run build` (services/dist) and nats-server. src/commands/request.fleet.test.ts runs 10,000.
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { tsImport } from "tsx/esm/api";
import { arg, root } from "./lib.mjs";

const total = Number(arg("total", 100_000));
const concurrency = Number(arg("concurrency", 64));
const outFile = path.resolve(arg("out", path.join(root, "bench", "fuzz.json")));

const { startFleet, pingAll } = await tsImport("../test/support/fleet.ts", import.meta.url);
const { fuzz, rssMiB } = await tsImport("../test/support/fuzz.ts", import.meta.url);
const { defaultRegistry } = await tsImport("../services/sdk/runtime.ts", import.meta.url);
const { connect } = await import("@nats-io/transport-node");

const registry = defaultRegistry();
const fleet = await startFleet({ timeoutMs: 90_000 });
const nc = await connect({ servers: fleet.server.url });
let report;
try {
  const pids = [...fleet.processes].map(([name, c]) => [name, c.pid]);
  await fuzz(nc, registry.rpcs, { total: 2000, concurrency: 32, seed: 1 }); // warm-up
  // RSS at checkpoints: a leak grows with every slice; bounded working memory (scrypt's 16 MiB per
  // concurrent hash in auth, allocator arenas) rises once and stays
  const rss = () => Object.fromEntries(pids.map(([n, pid]) => [n, rssMiB(pid)]));
  const before = rss();
  const checkpoints = [];
  const slices = 4;
  const r = { sent: 0, seconds: 0, errorReplies: {}, okReplies: 0, problems: 0, examples: [] };
  for (let s = 0; s < slices; s++) {
    const part = await fuzz(nc, registry.rpcs, { total: Math.round(total / slices), concurrency, seed: 7 + s });
    r.sent += part.sent;
    r.seconds = Math.round((r.seconds + part.seconds) * 10) / 10;
    r.okReplies += part.okReplies;
    r.problems += part.problems;
    r.examples.push(...part.examples.slice(0, 10 - r.examples.length));
    for (const [k, v] of Object.entries(part.errorReplies)) r.errorReplies[k] = (r.errorReplies[k] ?? 0) + v;
    checkpoints.push({ after: r.sent, rss: rss() });
  }
  const after = checkpoints.at(-1).rss;
  const mid = checkpoints[1].rss;
  // growth over the second half: a leak keeps growing with every slice, working memory has levelled off
  const lateGrowth = Math.max(...pids.map(([n]) => after[n] - mid[n]));
  const dead = [...fleet.processes].filter(([, c]) => c.exitCode !== null).map(([n]) => n);
  const answering = (await pingAll(nc, 2000)).length;
  const growth = Object.fromEntries(pids.map(([n]) => [n, Math.round((after[n] - before[n]) * 10) / 10]));
  const maxGrowth = Math.max(...Object.values(growth));
  const sum = (o) => Math.round(Object.values(o).reduce((a, b) => a + b, 0));
  report = {
    benchmark: "fuzz",
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version, platform: `${process.platform}-${process.arch}` },
    endpoints: registry.rpcs.length,
    services: pids.length,
    requests: {
      sent: r.sent,
      seconds: r.seconds,
      perSecond: Math.round(r.sent / r.seconds),
      errorReplies: r.errorReplies,
      okReplies: r.okReplies,
      problems: r.problems,
      examples: r.examples,
    },
    processes: { dead, answeringAfter: answering },
    rssMiB: {
      totalBefore: sum(before),
      totalAfter: sum(after),
      maxGrowthPerProcess: maxGrowth,
      maxGrowthOverSecondHalf: Math.round(lateGrowth * 10) / 10,
      growth,
      checkpoints: checkpoints.map((c) => ({ after: c.after, total: sum(c.rss), auth: c.rss.auth })),
    },
    budget: { problems: 0, maxGrowthOverSecondHalfMiB: 16 },
    pass: r.problems === 0 && dead.length === 0 && answering === pids.length && lateGrowth <= 16,
  };
} finally {
  await nc.close();
  await fleet.stop();
}
writeFileSync(outFile, JSON.stringify(report, null, 2) + "\n");
process.stdout.write(JSON.stringify(report, null, 2) + "\n");
process.exit(report.pass ? 0 : 1);
