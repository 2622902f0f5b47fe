#!/usr/bin/env node
// bench/service: one service process (node services/dist/main.js) serving a stateless and a stateful rpc,
// each beside a bare NATS.js echo responder measured in the same run. Budget (DESIGN): the stateless
// rpc >= 15,000 req/s, and p99 <= 5 ms at 5,000 req/s. Needs `npm run build` first.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { connect } from "@nats-io/transport-node";
import { decodeToJson, defaultRegistry, encodeJson } from "../services/dist/sdk/index.js";
import { cli, nodeJson, record, root, round, startProcess, waitFor } from "./lib.mjs";
import { startNatsServer } from "./nats.mjs";

const seconds = Number(process.env.SECONDS_PER_RUN ?? 5);
const tmp = mkdtempSync(path.join(os.tmpdir(), "gs-bench-service-"));
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

/**
 * The load: gs bench itself (one worker thread, 2 connections), the same for the service and the
 * echo baseline. It sleeps between sends instead of spinning, so on 2 shared cores it takes as little
 * as it can from the processes measured. Closed loop (64 in flight) for the most a process answers;
 * open loop at a fixed rate for latency, counted from each request's intended send time.
 */
function gsBench(subject, payloadFile, load) {
  return nodeJson([
    cli,
    "bench",
    subject,
    "--raw",
    "--data-file",
    payloadFile,
    "-s",
    server.url,
    "--workers",
    "1",
    "--connections",
    "2",
    "--duration",
    `${seconds}s`,
    "--warmup",
    "1s",
    "--json",
    ...load,
  ]);
}
const summary = (r) => ({
  requests: r.requests,
  errors: r.errors,
  throughput_rps: r.throughput_rps,
  latency_ms: r.latency_ms,
  generator_cpu_us_per_request: r.generator_cpu.us_per_request,
});
const closedLoop = async (subject, file) => summary(await gsBench(subject, file, ["--concurrency", "64"]));
const openLoop = async (subject, file, rate) => ({
  rate,
  ...summary(await gsBench(subject, file, ["--rate", String(rate)])),
});

const registry = defaultRegistry();
const server = await startNatsServer();
const nc = await connect({ servers: server.url });
const results = {};
try {
  for (const c of cases) {
    const rpc = registry.rpc(c.subject);
    let payload = encodeJson(rpc.request, c.request);
    const svc = startProcess(["services/dist/main.js", c.service], {
      NATS_URL: server.url,
      GS_HEALTH_FILE: path.join(mkdtempSync(path.join(os.tmpdir(), "gs-b-")), "h"),
    });
    const echoSubject = `bench.echo.${c.name}`;
    const echo = startProcess(["bench/echo-responder.mjs", server.url, echoSubject]);
    await waitFor(nc, c.subject, payload);
    if (c.steady) {
      const first = decodeToJson(rpc.response, (await nc.request(c.subject, payload, { timeout: 2000 })).data);
      payload = encodeJson(rpc.request, { ...c.request, [c.steady]: first.actionId });
    }
    await waitFor(nc, echoSubject, payload);
    const file = path.join(tmp, `${c.name}.bin`);
    writeFileSync(file, payload);
    const svcMax = await closedLoop(c.subject, file);
    const echoMax = await closedLoop(echoSubject, file);
    const svcLat = await openLoop(c.subject, file, 5000);
    const echoLat = await openLoop(echoSubject, file, 5000);
    svc.kill("SIGTERM");
    echo.kill("SIGTERM");
    results[c.name] = {
      subject: c.subject,
      service: { max: svcMax, at_5000_rps: svcLat },
      baseline_echo: { max: echoMax, at_5000_rps: echoLat },
      throughput_ratio_to_echo: round(svcMax.throughput_rps / echoMax.throughput_rps),
    };
    console.log(
      `${c.name.padEnd(9)} ${c.subject}: ${svcMax.throughput_rps} req/s (echo ${echoMax.throughput_rps}, ${results[c.name].throughput_ratio_to_echo}x); ` +
        `at 5000 req/s p50 ${svcLat.latency_ms.p50} ms p99 ${svcLat.latency_ms.p99} ms (echo p99 ${echoLat.latency_ms.p99} ms); errors ${svcMax.errors + svcLat.errors}`,
    );
  }
  const st = results.stateless.service;
  const budget = { min_rps: 15000, max_p99_ms_at_5000: 5 };
  const within = st.max.throughput_rps >= budget.min_rps && st.at_5000_rps.latency_ms.p99 <= budget.max_p99_ms_at_5000;
  const file = record("service", {
    seconds_per_run: seconds,
    cores: os.cpus().length,
    budget,
    stateless_within_budget: within,
    results,
  });
  console.log(
    `stateless budget (>= 15000 req/s, p99 <= 5 ms at 5000 req/s): ${within ? "ok" : "OVER"}; recorded in ${path.relative(root, file)}`,
  );
  process.exitCode = within ? 0 : 1;
} finally {
  await nc.close();
  await server.stop();
  rmSync(tmp, { recursive: true, force: true });
}
