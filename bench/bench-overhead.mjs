#!/usr/bin/env node
// bench/bench-overhead: what gs bench's generator costs. gs bench (the built CLI, closed loop, one worker)
// and a bare NATS.js request loop drive the same echo responder with the same requests in flight,
// connections and warm-up, each as a fresh process, interleaved run by run.
// Budget (DESIGN): gs bench reports >= 90% of the bare loop's throughput.
// The bare loop that sets the budget is `await nc.request()` with noAsyncTraces and no stack capture
// (NATS.js builds an Error for every completed request); gs bench's workers publish on a wildcard
// inbox instead (src/lib/bench/load.ts). The stock bare loop (NATS.js defaults) is recorded beside it.
// Needs `npm run build` first. `node bench/bench-overhead.mjs --bare-loop URL tuned|stock` is the bare loop.
import { spawn } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { connect } from "@nats-io/transport-node";
import { cli, median, nodeJson, record, root, round } from "./lib.mjs";
import { startNatsServer } from "./nats.mjs";

const seconds = Number(process.env.SECONDS_PER_RUN ?? 3);
const warmupSeconds = 1;
const runs = Number(process.env.RUNS ?? 7);
const inflight = 64;
const connections = 2;
const subject = "bench.echo.overhead";
const payload = new Uint8Array(64).fill(7);

/** The bare loop: `inflight` awaits of nc.request over `connections`, counting replies, nothing else. */
async function bareLoop(url, tuned) {
  const ncs = await Promise.all(
    Array.from({ length: connections }, () => connect({ servers: url, noAsyncTraces: tuned })),
  );
  const run = async (secs) => {
    const end = performance.now() + secs * 1000;
    let n = 0;
    await Promise.all(
      Array.from({ length: inflight }, async (_, i) => {
        while (performance.now() < end) {
          try {
            await ncs[i % connections].request(subject, payload, { timeout: 5000 });
            n++;
          } catch {
            // not counted, as gs bench counts only successful replies in its throughput
          }
        }
      }),
    );
    return n / secs;
  };
  await run(warmupSeconds);
  const cpu = process.cpuUsage();
  const rps = await run(seconds);
  const used = process.cpuUsage(cpu);
  await Promise.all(ncs.map((c) => c.close()));
  return { throughput_rps: Math.round(rps), cpu_us_per_request: round((used.user + used.system) / (rps * seconds), 1) };
}

if (process.argv[2] === "--bare-loop") {
  if (process.argv[4] === "tuned") Error.stackTraceLimit = 0;
  process.stdout.write(JSON.stringify(await bareLoop(process.argv[3], process.argv[4] === "tuned")));
  process.exit(0);
}

const bare = (url, kind) => nodeJson(["bench/bench-overhead.mjs", "--bare-loop", url, kind]);
function gsBench(url, workers) {
  const args = [
    cli,
    "bench",
    subject,
    "--size",
    String(payload.length),
    "-s",
    url,
    "--concurrency",
    String(inflight),
    "--connections",
    String(connections),
    "--duration",
    `${seconds}s`,
    "--warmup",
    `${warmupSeconds}s`,
    "--json",
  ];
  if (workers) args.push("--workers", String(workers));
  return nodeJson(args);
}

const server = await startNatsServer({ jetstream: false });
const echo = spawn(process.execPath, ["bench/echo-responder.mjs", server.url, subject], {
  cwd: root,
  stdio: ["ignore", "pipe", "inherit"],
});
await new Promise((r) => echo.stdout.once("data", r));
try {
  const samples = { bare: [], bare_stock: [], gs_one_worker: [], gs_default_workers: [] };
  // CPU per request does not depend on what else the machine runs as much as throughput does
  const cpu = { bare: [], gs_one_worker: [] };
  const last = {};
  for (let i = 0; i < runs; i++) {
    const b = await bare(server.url, "tuned");
    samples.bare.push(b.throughput_rps);
    cpu.bare.push(b.cpu_us_per_request);
    last.one = await gsBench(server.url, 1);
    samples.gs_one_worker.push(last.one.throughput_rps);
    cpu.gs_one_worker.push(last.one.generator_cpu.us_per_request);
    samples.bare_stock.push((await bare(server.url, "stock")).throughput_rps);
    last.all = await gsBench(server.url);
    samples.gs_default_workers.push(last.all.throughput_rps);
    console.log(
      `run ${i + 1}: bare ${samples.bare.at(-1)} req/s ${cpu.bare.at(-1)} µs CPU/req vs gs ${cpu.gs_one_worker.at(-1)} (stock NATS.js options ${samples.bare_stock.at(-1)}); gs bench 1 worker ${samples.gs_one_worker.at(-1)}; gs bench ${last.all.workers} workers ${samples.gs_default_workers.at(-1)}`,
    );
  }
  const med = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
  // the machine's load drifts between runs: compare each run with its neighbour, then take the median
  const pairedRatio = (k, base = "bare") => round(median(samples[k].map((v, i) => v / samples[base][i])));
  const ratio = pairedRatio("gs_one_worker");
  // > 1: gs bench spends less CPU per request than the bare loop
  const cpuRatio = round(median(cpu.bare.map((v, i) => v / cpu.gs_one_worker[i])));
  const budget = { min_ratio_to_bare_loop: 0.9 };
  const within = ratio >= budget.min_ratio_to_bare_loop;
  const file = record("bench-overhead", {
    seconds_per_run: seconds,
    warmup_seconds: warmupSeconds,
    runs,
    setup: {
      inflight,
      connections,
      payload_bytes: payload.length,
      cores: os.cpus().length,
      load_average_at_end: os.loadavg().map((x) => round(x)),
    },
    budget,
    within_budget: within,
    ratio_to_bare_loop: {
      one_worker: ratio,
      default_workers: pairedRatio("gs_default_workers"),
      one_worker_vs_stock_bare_loop: pairedRatio("gs_one_worker", "bare_stock"),
    },
    cpu_us_per_request_median: { bare: median(cpu.bare), gs_one_worker: median(cpu.gs_one_worker) },
    cpu_efficiency_vs_bare_loop: cpuRatio,
    throughput_rps_median: med,
    samples,
    cpu_samples: cpu,
    gs_bench_latency_ms: { one_worker: last.one.latency_ms, default_workers: last.all.latency_ms },
  });
  console.log(
    `gs bench reaches ${Math.round(ratio * 100)}% of the bare loop with 1 worker (medians ${med.gs_one_worker} vs ${med.bare} req/s); ` +
      `CPU per request ${median(cpu.gs_one_worker)} vs ${median(cpu.bare)} µs (efficiency ${cpuRatio}); ` +
      `budget >= 90%: ${within ? "ok" : "UNDER"}; recorded in ${path.relative(root, file)}`,
  );
  process.exitCode = within ? 0 : 1;
} finally {
  // the responder drains on SIGTERM: let it, before the server goes
  await new Promise((r) => {
    echo.once("exit", r);
    echo.kill("SIGTERM");
  });
  await server.stop();
}
