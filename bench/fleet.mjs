#!/usr/bin/env node
// bench/fleet: gs bench against a stateless (npc-behavior.decide) and a stateful (payment.get-balance, a
// JetStream KV read) rpc of the fleet at the seed's target of 10,000 req/s, open loop, for 30 s; beside
// them, in the same run, gs bench against a bare NATS.js echo responder at the same rate (the baseline).
// Each service is one process (node services/dist/main.js NAME), as in production. Needs `npm run build`.
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { connect } from "@nats-io/transport-node";
import { decodeToJson, defaultRegistry, encodeJson } from "../services/dist/sdk/index.js";
import { cli, nodeJson, record, root, round, startProcess, waitFor } from "./lib.mjs";
import { startNatsServer } from "./nats.mjs";

const seconds = Number(process.env.FLEET_SECONDS ?? 30);
const rate = Number(process.env.FLEET_RATE ?? 10_000);
const warmup = "2s";
const cases = [
  // currentActionId is set to the action Decide picks, so no NpcActionChangedEvent is published: pure computation
  {
    name: "stateless",
    service: "npc-behavior",
    subject: "npc-behavior.decide",
    steady: "currentActionId",
    request: {
      npcId: "n1",
      archetype: "villager",
      needs: [
        { name: "hunger", value: 0.7 },
        { name: "fatigue", value: 0.4 },
        { name: "safety", value: 0.9 },
      ],
      context: { hourOfDay: 13, threatLevel: 0.1 },
    },
  },
  { name: "stateful", service: "payment", subject: "payment.get-balance", request: { playerId: "p1" } },
];

function gsBench(url, args) {
  return nodeJson([
    cli,
    "bench",
    ...args,
    "-s",
    url,
    "--rate",
    String(rate),
    "--duration",
    `${seconds}s`,
    "--warmup",
    warmup,
    "--json",
  ]);
}

const summary = (r) => ({
  throughput_rps: r.throughput_rps,
  requests: r.requests,
  errors: r.errors,
  errors_by_kind: r.errors_by_kind,
  latency_ms: r.latency_ms,
  send_lag_ms: r.send_lag_ms,
  payload_bytes: r.payload_bytes,
  reply_bytes: r.reply_bytes,
  workers: r.workers,
});

const registry = defaultRegistry();
const server = await startNatsServer();
const nc = await connect({ servers: server.url });
const procs = [];
try {
  const health = mkdtempSync(path.join(os.tmpdir(), "gs-fleet-bench-"));
  for (const c of cases)
    procs.push(
      startProcess(["services/dist/main.js", c.service], {
        NATS_URL: server.url,
        GS_HEALTH_FILE: path.join(health, c.service),
      }),
    );
  const echoSubject = "bench.echo.fleet";
  procs.push(startProcess(["bench/echo-responder.mjs", server.url, echoSubject]));
  for (const c of cases) {
    const rpc = registry.rpc(c.subject);
    const first = await waitFor(nc, c.subject, encodeJson(rpc.request, c.request));
    if (c.steady) c.request = { ...c.request, [c.steady]: decodeToJson(rpc.response, first.data).actionId };
    c.bytes = encodeJson(rpc.request, c.request).length;
  }
  await waitFor(nc, echoSubject, new Uint8Array(1));

  const results = {};
  const baseline = await gsBench(server.url, [echoSubject, "--size", String(cases[0].bytes)]);
  results.baseline_echo = summary(baseline);
  console.log(
    `echo baseline: ${baseline.throughput_rps} req/s, p50 ${baseline.latency_ms.p50} p99 ${baseline.latency_ms.p99} p99.9 ${baseline.latency_ms.p999} max ${baseline.latency_ms.max} ms, ${baseline.errors} errors`,
  );
  for (const c of cases) {
    const r = await gsBench(server.url, [c.subject, JSON.stringify(c.request)]);
    results[c.name] = {
      subject: c.subject,
      ...summary(r),
      throughput_ratio_to_target: round(r.throughput_rps / rate),
      p99_ratio_to_echo: round(r.latency_ms.p99 / baseline.latency_ms.p99),
    };
    console.log(
      `${c.name.padEnd(9)} ${c.subject}: ${r.throughput_rps} req/s of ${rate}, p50 ${r.latency_ms.p50} p90 ${r.latency_ms.p90} p99 ${r.latency_ms.p99} ` +
        `p99.9 ${r.latency_ms.p999} max ${r.latency_ms.max} ms (p99 ${results[c.name].p99_ratio_to_echo}x echo), ${r.errors} errors; ` +
        `request ${r.payload_bytes.protobuf} B protobuf vs ${r.payload_bytes.json} B JSON, reply ${r.reply_bytes.protobuf} vs ${r.reply_bytes.json}`,
    );
  }
  // a run at another rate is recorded beside the 10,000 req/s one, not over it
  const name = rate === 10_000 ? "fleet" : `fleet-${rate}`;
  const file = record(name, {
    rate_rps: rate,
    seconds,
    warmup,
    cores: os.cpus().length,
    load_average_at_end: os.loadavg().map((x) => round(x)),
    results,
  });
  console.log(`recorded in ${path.relative(root, file)}`);
} finally {
  // services and the responder drain on SIGTERM: let them, before the server goes
  await Promise.all(
    procs.map((p) => new Promise((r) => (p.exitCode !== null ? r() : (p.once("exit", r), p.kill("SIGTERM"))))),
  );
  await nc.close();
  await server.stop();
}
