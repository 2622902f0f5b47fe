#!/usr/bin/env node
// bench/topology: what each local topology costs on this machine: the time `gs up --detach` takes from
// starting the processes to every service healthy (builds excluded: they are the same for all), and
// the memory (RSS) of every process of the fleet once it is up: the supervisor, nats-server nodes,
// redis-server nodes and service instances. The whole fleet of gs.yaml, at its desired counts, for
//   gs up | gs up --cluster 5 | gs up --cluster 5 --state redis --redis-shards 3
// Writes bench/topology.json.
//   node bench/topology.mjs [--out bench/topology.json]
// Needs the built CLI (npm run build), nats-server, redis-server and redis-cli.
import { spawn } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { arg, gs, root, scratchProject } from "./lib.mjs";

const outFile = path.resolve(arg("out", path.join(root, "bench", "topology.json")));
const topologies = [
  { name: "default", args: [] },
  { name: "cluster-5", args: ["--cluster", "5"] },
  { name: "cluster-5-redis-3", args: ["--cluster", "5", "--state", "redis", "--redis-shards", "3"] },
];

/** `gs up --detach`, timing from its "starting N services" line (builds done) to its exit (every service healthy). */
function up(args, cwd) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let startedAt;
    const child = spawn(
      process.execPath,
      [path.join(root, "bin", "run.js"), "up", "--detach", "--timeout", "5m", ...args],
      {
        cwd,
        env: { ...process.env, CI: "true" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
      if (startedAt === undefined && /^starting \d+ services/m.test(stderr)) startedAt = performance.now();
    });
    child.on("close", (code) => {
      const end = performance.now();
      resolve({ code, stderr, totalMs: end - t0, healthyMs: end - (startedAt ?? t0) });
    });
  });
}

const rssBytes = (pid) => {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
};
const mib = (b) => Math.round(b / 1024 / 1024);

/** RSS of every process in the fleet record, by kind. */
function memory(dir) {
  const rec = JSON.parse(readFileSync(path.join(dir, ".gs", "local.json"), "utf8"));
  const by = { supervisor: rssBytes(rec.supervisor.pid), nats: 0, redis: 0, services: 0 };
  let processes = 1;
  for (const p of rec.pids) {
    const kind = p.what.startsWith("nats-server") ? "nats" : p.what.startsWith("redis-server") ? "redis" : "services";
    by[kind] += rssBytes(p.pid);
    processes++;
  }
  const total = Object.values(by).reduce((a, b) => a + b, 0);
  return {
    processes,
    totalMiB: mib(total),
    supervisorMiB: mib(by.supervisor),
    natsMiB: mib(by.nats),
    redisMiB: mib(by.redis),
    servicesMiB: mib(by.services),
  };
}

const loadAtStart = +os.loadavg()[0].toFixed(1);
const results = [];
let exitCode = 0;
for (const t of topologies) {
  const dir = scratchProject(`gs-bench-topology-${t.name}-`);
  try {
    const r = await up(t.args, dir);
    if (r.code !== 0)
      throw new Error(`gs up ${t.args.join(" ")} failed (${r.code}): ${r.stderr.trim().split("\n").pop()}`);
    // settled: the instances have loaded their code and opened their stores
    await new Promise((res) => setTimeout(res, 5000));
    const status = JSON.parse((await gs(["status", "--json"], dir)).stdout);
    const row = {
      topology: t.name,
      command: `gs up ${t.args.join(" ")}`.trim(),
      services: status.totals.services,
      instances: status.totals.running,
      healthy: `${status.totals.healthy}/${status.totals.services}`,
      natsServers: status.nats.servers.length,
      redisNodes: status.redis?.nodes.length ?? 0,
      secondsToHealthy: +(r.healthyMs / 1000).toFixed(1),
      secondsWithBuilds: +(r.totalMs / 1000).toFixed(1),
      memory: memory(dir),
    };
    results.push(row);
    console.log(
      `${row.command}: ${row.healthy} healthy (${row.instances} instances, ${row.natsServers} NATS, ${row.redisNodes} Redis) in ${row.secondsToHealthy}s; RSS ${row.memory.totalMiB} MiB over ${row.memory.processes} processes`,
    );
  } catch (err) {
    exitCode = 1;
    console.error(`${t.name}: ${err.message}`);
    results.push({ topology: t.name, error: err.message });
  } finally {
    await gs(["down", "--purge"], dir);
    rmSync(dir, { recursive: true, force: true });
  }
}

writeFileSync(
  outFile,
  JSON.stringify(
    {
      benchmark: "topology",
      date: new Date().toISOString(),
      machine: {
        cpus: os.cpus().length,
        memMiB: mib(os.totalmem()),
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        // the machine is shared: what else ran when the figures were taken
        loadAverage1m: loadAtStart,
      },
      results,
    },
    null,
    2,
  ) + "\n",
);
console.log(`wrote ${path.relative(process.cwd(), outFile)}`);
process.exit(exitCode);
