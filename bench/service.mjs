#!/usr/bin/env node
// bench/service: one service process (node services/dist/main.js) serving a stateless and a stateful rpc,
// each beside a bare NATS.js echo responder measured in the same run. Budgets (DESIGN): the stateless
// rpc >= 15,000 req/s, and p99 <= 5 ms at 5,000 req/s; the SDK's latency histograms, and its trace
// propagation for unsampled requests, each cost at most 5% of throughput and no p99. For the latter the
// same service runs with everything on, without histograms (GS_LATENCY_HISTOGRAMS=0) and without
// tracing (GS_TRACING=0), benchmarking switches, in an order that turns round by round (ROUNDS,
// default 3) so the machine's noise hits all three. The load sends no traceparent: the unsampled case
// of a request from outside the fleet. Needs `npm run build` first.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { connect, headers } from "@nats-io/transport-node";
import {
  decodeToJson,
  defaultRegistry,
  encodeJson,
  formatTraceparent,
  newSpanId,
  newTraceId,
  traceSubject,
} from "../services/dist/sdk/index.js";
import { EndpointLatency } from "../services/dist/sdk/latency.js";
import { Tracer } from "../services/dist/sdk/trace.js";
import {
  cli,
  median,
  nodeJson,
  processCpuMs,
  record,
  root,
  round,
  startProcess,
  stopProcess,
  waitFor,
} from "./lib.mjs";
import { startNatsServer } from "./nats.mjs";

const seconds = Number(process.env.SECONDS_PER_RUN ?? 5);
const warmupSeconds = 1;
const rounds = Number(process.env.ROUNDS ?? 3);
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
    `${warmupSeconds}s`,
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

/** A load run against process `pid`, with the CPU it spent per request (the warmup counted at the run's rate). */
async function withCpu(pid, run) {
  const before = processCpuMs(pid);
  const r = await run();
  const after = processCpuMs(pid);
  const served = r.requests * ((seconds + warmupSeconds) / seconds);
  r.service_cpu_us_per_request = before === undefined ? null : round(((after - before) * 1000) / served, 1);
  return r;
}

/** The endpoint's stats from the instance's $SRV.STATS (one instance runs at a time). */
async function endpointStats(c) {
  // generous: on a loaded shared machine the reply can take seconds
  const st = (await nc.request(`$SRV.STATS.${c.service}`, "", { timeout: 15_000 })).json();
  return st.endpoints.find((e) => e.subject === c.subject);
}

/** Whether one sampled request to the service reports a span on its trace subject. */
async function reportsSpan(c) {
  const trace = newTraceId();
  const sub = nc.subscribe(traceSubject(trace), { max: 1 });
  await nc.flush();
  const h = headers();
  h.set("traceparent", formatTraceparent(trace, newSpanId(), 1));
  await nc.request(c.subject, c.payload, { timeout: 15_000, headers: h });
  const span = await Promise.race([
    (async () => {
      for await (const m of sub) return m.json();
    })(),
    new Promise((r) => setTimeout(() => r(undefined), 2000)),
  ]);
  sub.unsubscribe();
  return span !== undefined;
}

const nsToMs = (ns) => round(ns / 1e6, 3);

/** The three builds compared: everything on (as deployed), and each feature switched off. */
const VARIANTS = {
  full: { histograms: true, tracing: true },
  without_histograms: { histograms: false, tracing: true },
  without_tracing: { histograms: true, tracing: false },
};

/** Start the service as `variant`, measure max req/s and latency at 5,000 req/s, stop it. */
async function measureService(c, variant) {
  const { histograms, tracing } = VARIANTS[variant];
  const svc = startProcess(["services/dist/main.js", c.service], {
    NATS_URL: server.url,
    GS_HEALTH_FILE: path.join(mkdtempSync(path.join(os.tmpdir(), "gs-b-")), "h"),
    GS_LATENCY_HISTOGRAMS: histograms ? "1" : "0",
    GS_TRACING: tracing ? "1" : "0",
  });
  try {
    await waitFor(nc, c.subject, c.payload);
    const max = await withCpu(svc.pid, () => closedLoop(c.subject, c.file));
    const at = await withCpu(svc.pid, () => openLoop(c.subject, c.file, 5000));
    // the switches must have done what they say, or the comparison measures nothing
    const data = (await endpointStats(c))?.data;
    if (histograms !== Boolean(data)) throw new Error(`${c.service}: latency data ${data ? "present" : "missing"}`);
    const spans = await reportsSpan(c);
    if (tracing !== spans)
      throw new Error(`${c.service}: ${spans ? "a span came" : "no span came"} with GS_TRACING=${tracing ? 1 : 0}`);
    const result = { max, at_5000_rps: at };
    // what the service itself measured over its last minute (both loads): handler time, no network
    if (data) {
      const w = data.window;
      result.self_reported_window = {
        seconds: w.seconds,
        count: w.count,
        p50_ms: nsToMs(w.p50),
        p90_ms: nsToMs(w.p90),
        p99_ms: nsToMs(w.p99),
        max_ms: nsToMs(w.max),
      };
    }
    return result;
  } finally {
    await stopProcess(svc);
  }
}

/**
 * What one record costs in this process, in ns of CPU (not wall time, which other processes stretch): a
 * million request durations spread like real ones (0.2-20 ms) into one endpoint's histograms, after a
 * warmup; the median of 5.
 */
function recordCostNs() {
  const e = new EndpointLatency(performance.now());
  const durations = Float64Array.from({ length: 4096 }, (_, i) => Math.round(200_000 * 100 ** ((i * 0.618) % 1)));
  const pass = (n) => {
    const t = process.cpuUsage();
    for (let i = 0; i < n; i++) e.record(durations[i & 4095], (i & 255) === 0);
    const used = process.cpuUsage(t);
    return ((used.user + used.system) * 1000) / n;
  };
  pass(1_000_000);
  return round(median(Array.from({ length: 5 }, () => pass(1_000_000))), 1);
}

/**
 * What tracing adds to an unsampled request in this process, in ns of CPU (median of 5 passes of a
 * million): making its hop without a traceparent (the load here), with an unsampled one to parse, and
 * formatting the header of one call it makes. No AsyncLocalStorage: only sampled hops use it.
 */
function hopCostNs() {
  const tracer = new Tracer(undefined, "bench", "instance", "0");
  const h = headers();
  h.set("traceparent", formatTraceparent(newTraceId(), newSpanId(), 0));
  const cost = (op) => {
    const pass = (n) => {
      const t = process.cpuUsage();
      let keep;
      for (let i = 0; i < n; i++) keep = op(i);
      const used = process.cpuUsage(t);
      if (keep === undefined) throw new Error("nothing measured");
      return ((used.user + used.system) * 1000) / n;
    };
    pass(200_000);
    return round(median(Array.from({ length: 5 }, () => pass(1_000_000))), 1);
  };
  return {
    hop_ns: cost((i) => tracer.hop(undefined, "s", i)),
    hop_parsing_traceparent_ns: cost((i) => tracer.hop(h, "s", i)),
    // a new hop each time, or the header would be formatted once and reused
    hop_and_one_call_header_ns: cost((i) => tracer.hop(h, "s", i).outgoing("x.y", "client").traceparent),
  };
}

/** The run whose `key` is the median (the lower middle for an even count). */
function medianRun(runs, key) {
  const sorted = [...runs].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

const registry = defaultRegistry();
const server = await startNatsServer();
const nc = await connect({ servers: server.url });
const results = {};
const recordNs = recordCostNs();
const hopCost = hopCostNs();
const overheadBudget = {
  max_throughput_loss: 0.05,
  p99_at_5000: "no higher than without the feature, beyond the spread of the build without it between rounds",
};

/** What one feature costs: everything on against the same build with only that feature off, round by round. */
function overheadOf(on, off) {
  const rps = (m) => m.max.throughput_rps;
  const p99 = (m) => m.at_5000_rps.latency_ms.p99;
  const cpu = (m) => m.max.service_cpu_us_per_request ?? NaN;
  const o = {
    rounds: on.map((m, i) => ({
      with: { throughput_rps: rps(m), cpu_us_per_request: cpu(m), p99_ms_at_5000: p99(m) },
      without: { throughput_rps: rps(off[i]), cpu_us_per_request: cpu(off[i]), p99_ms_at_5000: p99(off[i]) },
    })),
    // medians over the rounds
    throughput_ratio: round(median(on.map(rps)) / median(off.map(rps)), 3),
    cpu_us_per_request: { with: median(on.map(cpu)), without: median(off.map(cpu)) },
    p99_ms_at_5000: { with: median(on.map(p99)), without: median(off.map(p99)) },
    // the spread of the same build between rounds: a p99 difference inside it is noise
    p99_ms_at_5000_spread_without: round(Math.max(...off.map(p99)) - Math.min(...off.map(p99)), 3),
  };
  // "no more p99" means no increase this run can tell from noise: the median with the feature may pass
  // the median without it by at most what the same build varies by between rounds (its spread)
  o.p99_increase_ms = round(Math.max(0, o.p99_ms_at_5000.with - o.p99_ms_at_5000.without), 3);
  o.within_budget =
    o.throughput_ratio >= 1 - overheadBudget.max_throughput_loss &&
    o.p99_increase_ms <= o.p99_ms_at_5000_spread_without;
  return o;
}

const overheadLine = (name, o) =>
  `${"".padEnd(9)} ${name}: ${o.throughput_ratio}x the throughput without, ` +
  `CPU ${o.cpu_us_per_request.with} vs ${o.cpu_us_per_request.without} µs/req, ` +
  `p99 ${o.p99_ms_at_5000.with} vs ${o.p99_ms_at_5000.without} ms at 5000 req/s ` +
  `(medians of ${rounds}; p99 spread without: ${o.p99_ms_at_5000_spread_without} ms): ${o.within_budget ? "ok" : "OVER"}`;
try {
  for (const c of cases) {
    const rpc = registry.rpc(c.subject);
    c.payload = encodeJson(rpc.request, c.request);
    if (c.steady) {
      // the steady request: Decide's own choice as the current action (the same for every instance)
      const probe = startProcess(["services/dist/main.js", c.service], {
        NATS_URL: server.url,
        GS_HEALTH_FILE: path.join(mkdtempSync(path.join(os.tmpdir(), "gs-b-")), "h"),
      });
      const first = decodeToJson(rpc.response, (await waitFor(nc, c.subject, c.payload)).data);
      c.payload = encodeJson(rpc.request, { ...c.request, [c.steady]: first.actionId });
      await stopProcess(probe);
    }
    c.file = path.join(tmp, `${c.name}.bin`);
    writeFileSync(c.file, c.payload);

    const echoSubject = `bench.echo.${c.name}`;
    const echo = startProcess(["bench/echo-responder.mjs", server.url, echoSubject]);
    await waitFor(nc, echoSubject, c.payload);
    const echoMax = await closedLoop(echoSubject, c.file);
    const echoLat = await openLoop(echoSubject, c.file, 5000);
    await stopProcess(echo);

    const runs = Object.fromEntries(Object.keys(VARIANTS).map((v) => [v, []]));
    const order = Object.keys(VARIANTS);
    for (let r = 0; r < rounds; r++) {
      // turn the order each round, so no variant always runs on a warmer (or busier) machine
      for (const variant of [...order.slice(r % order.length), ...order.slice(0, r % order.length)]) {
        const m = await measureService(c, variant);
        runs[variant].push(m);
        console.log(
          `  ${c.name} round ${r + 1} ${variant.padEnd(18)}: ${m.max.throughput_rps} req/s ` +
            `(${m.max.service_cpu_us_per_request} µs CPU/req), p99 ${m.at_5000_rps.latency_ms.p99} ms at 5000 req/s`,
        );
      }
    }
    const rps = (m) => m.max.throughput_rps;
    const p99 = (m) => m.at_5000_rps.latency_ms.p99;
    const cpu = (m) => m.max.service_cpu_us_per_request ?? NaN;
    const pick = (ms) => ({ max: medianRun(ms, rps).max, at_5000_rps: medianRun(ms, p99).at_5000_rps });
    const svc = pick(runs.full);
    const histograms = {
      ...overheadOf(runs.full, runs.without_histograms),
      // the histograms' own cost, measured in-process, as a share of what the service spends per request
      record_ns: recordNs,
      record_share_of_cpu_per_request: round(recordNs / (median(runs.without_histograms.map(cpu)) * 1000), 4),
      self_reported_window: medianRun(runs.full, p99).self_reported_window,
    };
    const tracing = {
      ...overheadOf(runs.full, runs.without_tracing),
      // the hop's own cost, measured in-process, as a share of what the service spends per request
      in_process: hopCost,
      hop_share_of_cpu_per_request: round(hopCost.hop_ns / (median(runs.without_tracing.map(cpu)) * 1000), 4),
    };
    results[c.name] = {
      subject: c.subject,
      service: svc,
      service_without_histograms: pick(runs.without_histograms),
      service_without_tracing: pick(runs.without_tracing),
      baseline_echo: { max: echoMax, at_5000_rps: echoLat },
      throughput_ratio_to_echo: round(svc.max.throughput_rps / echoMax.throughput_rps),
      latency_histograms: histograms,
      tracing_unsampled: tracing,
    };
    console.log(
      `${c.name.padEnd(9)} ${c.subject}: ${svc.max.throughput_rps} req/s (echo ${echoMax.throughput_rps}, ${results[c.name].throughput_ratio_to_echo}x); ` +
        `at 5000 req/s p50 ${svc.at_5000_rps.latency_ms.p50} ms p99 ${svc.at_5000_rps.latency_ms.p99} ms (echo p99 ${echoLat.latency_ms.p99} ms)`,
    );
    console.log(
      overheadLine("histograms", histograms) +
        ` (a record: ${recordNs} ns, ${round(histograms.record_share_of_cpu_per_request * 100, 2)}%)`,
    );
    console.log(
      overheadLine("tracing (unsampled)", tracing) +
        ` (a hop in-process: ${hopCost.hop_ns} ns, ${round(tracing.hop_share_of_cpu_per_request * 100, 2)}%)`,
    );
  }
  const st = results.stateless.service;
  const budget = { min_rps: 15000, max_p99_ms_at_5000: 5 };
  const within = st.max.throughput_rps >= budget.min_rps && st.at_5000_rps.latency_ms.p99 <= budget.max_p99_ms_at_5000;
  const histogramsWithin = cases.every((c) => results[c.name].latency_histograms.within_budget);
  const tracingWithin = cases.every((c) => results[c.name].tracing_unsampled.within_budget);
  const file = record("service", {
    seconds_per_run: seconds,
    rounds,
    cores: os.cpus().length,
    budget,
    stateless_within_budget: within,
    latency_histograms_budget: overheadBudget,
    tracing_unsampled_budget: overheadBudget,
    latency_histograms_within_budget: histogramsWithin,
    tracing_unsampled_within_budget: tracingWithin,
    results,
  });
  console.log(
    `stateless budget (>= 15000 req/s, p99 <= 5 ms at 5000 req/s): ${within ? "ok" : "OVER"}; ` +
      `histograms (<= 5% throughput, no p99 increase beyond the rounds' spread): ${histogramsWithin ? "ok" : "OVER"}; ` +
      `unsampled tracing (the same): ${tracingWithin ? "ok" : "OVER"}; recorded in ${path.relative(root, file)}`,
  );
  process.exitCode = within && histogramsWithin && tracingWithin ? 0 : 1;
} finally {
  await nc.close();
  await server.stop();
  rmSync(tmp, { recursive: true, force: true });
}
