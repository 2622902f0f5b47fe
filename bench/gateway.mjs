#!/usr/bin/env node
// bench/gateway: the HTTP gateway as a fleet member under the seed's load, 10,000 req/s open loop
// (256 keep-alive connections, each waiting for its answer before the next request) against a
// stateless rpc (npc-behavior.decide), driven by autocannon over HTTP; and beside it, in the same
// run against the same fleet, the same load sent over NATS directly with `gs bench`. Records
// throughput, p50/p99 and errors of each. `gs up --detach --services npc-behavior,gateway` starts
// the fleet from gs.yaml (2 instances of each by default). Writes bench/gateway.json.
//   node bench/gateway.mjs [--rate 10000] [--seconds 15] [--connections 256] [--out bench/gateway.json]
// Needs the built CLI (npm run build), nats-server and autocannon (a devDependency).
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import { arg, gs, root, scratchProject } from "./lib.mjs";

const rate = Number(arg("rate", 10_000));
const seconds = Number(arg("seconds", 15));
const connections = Number(arg("connections", 256));
const outFile = path.resolve(arg("out", path.join(root, "bench", "gateway.json")));
const subject = "npc-behavior.decide";
// currentActionId is what Decide picks: no event is published, pure computation (as bench/service.mjs)
const request = {
  npcId: "n1",
  archetype: "villager",
  needs: [
    { name: "hunger", value: 0.7 },
    { name: "fatigue", value: 0.4 },
    { name: "safety", value: 0.9 },
  ],
  context: { hourOfDay: 13, threatLevel: 0.1 },
};

const round = (n, d = 2) => (n === null || n === undefined ? null : +Number(n).toFixed(d));

/** autocannon at a fixed overall rate; its latencies are per request from send to the last byte. */
function http(url, body) {
  return new Promise((resolve, reject) => {
    const run = autocannon(
      {
        url,
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        connections,
        overallRate: rate,
        duration: seconds,
        timeout: 5,
      },
      (err, r) => (err ? reject(err) : resolve(r)),
    );
    autocannon.track(run, { renderProgressBar: false, renderResultsTable: false, renderLatencyTable: false });
  });
}

const loadAtStart = +os.loadavg()[0].toFixed(1);
const dir = scratchProject("gs-bench-gateway-");
let exitCode = 0;
try {
  const up = await gs(["up", "--detach", "--services", "npc-behavior,gateway", "--json"], dir);
  if (up.code !== 0) throw new Error(`gs up failed (${up.code}): ${up.stderr.trim().split("\n").pop()}`);
  const upJson = JSON.parse(up.stdout);
  const gateway = upJson.services.find((s) => s.name === "gateway");
  const body = JSON.stringify({ ...request, currentActionId: undefined });
  // the action Decide picks, so no event is published on the measured requests
  const first = await fetch(`${gateway.url}/v1/${subject}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  if (first.status !== 200) throw new Error(`the gateway answered ${first.status}: ${await first.text()}`);
  const steady = JSON.stringify({ ...request, currentActionId: (await first.json()).actionId });

  // a short warm-up of each path, unmeasured
  await fetch(`${gateway.url}/v1/${subject}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: steady,
  });

  const h = await http(`${gateway.url}/v1/${subject}`, steady);
  const viaHttp = {
    path: "HTTP -> gateway -> NATS",
    tool: "autocannon",
    connections,
    rate,
    seconds,
    requests: h.requests.total,
    throughput_rps: round(h.requests.average, 0),
    latency_ms: {
      p50: round(h.latency.p50),
      p90: round(h.latency.p90),
      p99: round(h.latency.p99),
      max: round(h.latency.max),
    },
    errors: h.errors + h.timeouts + h.non2xx,
    non2xx: h.non2xx,
    timeouts: h.timeouts,
  };
  console.log(
    `HTTP via the gateway: ${viaHttp.throughput_rps} req/s, p99 ${viaHttp.latency_ms.p99} ms, ${viaHttp.errors} errors`,
  );

  const record = JSON.parse(readFileSync(path.join(dir, ".gs", "local.json"), "utf8"));
  const b = await gs(
    [
      "bench",
      subject,
      steady,
      "-s",
      record.nats.url,
      "--rate",
      String(rate),
      "--duration",
      `${seconds}s`,
      "--workers",
      "1",
      "--json",
    ],
    dir,
  );
  if (b.code !== 0) throw new Error(`gs bench failed (${b.code}): ${b.stderr.trim().split("\n").pop()}`);
  const n = JSON.parse(b.stdout);
  const viaNats = {
    path: "NATS request -> npc-behavior",
    tool: "gs bench",
    rate,
    seconds,
    requests: n.requests,
    throughput_rps: round(n.throughput_rps, 0),
    latency_ms: {
      p50: round(n.latency_ms.p50),
      p90: round(n.latency_ms.p90),
      p99: round(n.latency_ms.p99),
      max: round(n.latency_ms.max),
    },
    errors: n.errors?.total ?? n.errors,
  };
  console.log(
    `NATS directly: ${viaNats.throughput_rps} req/s, p99 ${viaNats.latency_ms.p99} ms, ${JSON.stringify(viaNats.errors)} errors`,
  );

  const status = JSON.parse((await gs(["status", "--json"], dir)).stdout);
  const result = {
    benchmark: "gateway",
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      // the machine is shared: what else ran when the figures were taken
      loadAverage1m: loadAtStart,
    },
    fleet: Object.fromEntries(
      status.services.map((s) => [s.name, { instances: s.running, p99_ms_last_minute: s.p99Ms }]),
    ),
    subject,
    http: viaHttp,
    nats: viaNats,
    http_vs_nats: {
      throughput_ratio: round(viaHttp.throughput_rps / viaNats.throughput_rps),
      p99_ratio: round(viaHttp.latency_ms.p99 / viaNats.latency_ms.p99),
    },
  };
  writeFileSync(outFile, JSON.stringify(result, null, 2) + "\n");
  console.log(`wrote ${path.relative(process.cwd(), outFile)}`);
} catch (err) {
  exitCode = 1;
  console.error(err.message);
} finally {
  await gs(["down", "--purge"], dir);
  rmSync(dir, { recursive: true, force: true });
}
process.exit(exitCode);
