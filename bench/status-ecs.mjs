// The ECS part of bench/status: `gs status --watch --json --interval 2s` (the built CLI, a child
// process) against a 22-service ECS target (2 tasks each) served by the ECS simulator over HTTP
// (AWS_ENDPOINT_URL), with a real nats-server where 44 stand-in instances answer the micro protocol.
// During the run one service's deployment stays in progress for a while and then completes, and a
// task of another service crashes. Counted: the AWS calls per API (in total and per minute), and
// the dashboard's CPU. Budget: at most 2 DescribeServices per 10 services per poll, plus what the
// changes explain: after its first listing, no service the run left alone has its tasks listed or
// described again, each task definition is described once, and each crash's log lines are read once.
// Run through bench/status.mjs (--ecs-only runs this part alone).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { connect } from "@nats-io/transport-node";
import { Svcm } from "@nats-io/services";
import { tsImport } from "tsx/esm/api";
import { parse } from "yaml";
import { processCpuMs, root, round } from "./lib.mjs";

const INTERVAL_MS = 2000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The fleet's service names, from the repository's gs.yaml. */
function fleetServices() {
  const doc = parse(readFileSync(path.join(root, "gs.yaml"), "utf8"));
  return Object.keys(doc.services).filter((k) => k !== "defaults");
}

/** ECS service name (`<name>-nats`) of a task, from the simulator's own record of it. */
function serviceOfTask(sim, arn) {
  return sim.tasks
    .find((t) => t.taskArn === arn)
    ?.group?.replace(/^service:/, "")
    .replace(/-nats$/, "");
}

/** `{ DescribeServices: 3, ... }` of a stretch of the simulator's calls. */
function countByApi(calls) {
  const out = {};
  for (const c of calls) out[c.command] = (out[c.command] ?? 0) + 1;
  return out;
}

/** Calls of each service: ListTasks names it; DescribeTasks by the tasks it asks for. */
function callsByService(sim) {
  const out = {};
  for (const c of sim.calls) {
    const svc =
      c.command === "ListTasks"
        ? c.input.serviceName?.replace(/-nats$/, "")
        : c.command === "DescribeTasks"
          ? serviceOfTask(sim, c.input.tasks?.[0])
          : undefined;
    if (!svc) continue;
    out[svc] ??= { ListTasks: 0, DescribeTasks: 0 };
    out[svc][c.command]++;
  }
  return out;
}

export async function ecsDashboard({ seconds = 60, log = (l) => process.stderr.write(`${l}\n`) } = {}) {
  const { EcsSimulator } = await tsImport("../test/support/ecs-simulator.ts", import.meta.url);
  const { startNatsServer } = await tsImport("../test/support/nats-server.ts", import.meta.url);
  const { freePort } = await tsImport("../test/support/free-port.ts", import.meta.url);
  const services = fleetServices();
  const [deployed, crashed] = ["payment", "auth"];
  const newImage = `123456789012.dkr.ecr.us-east-1.amazonaws.com/${deployed}@sha256:${"c".repeat(64)}`;
  // the new deployment's tasks stay PENDING until `release`, then start: in progress part of the time
  let stuck = true;
  const sim = new EcsSimulator({
    services: Object.fromEntries(services.map((s) => [s, 2])),
    behavior: (image) => (image === newImage && stuck ? "stuck" : "healthy"),
  });
  const aws = await sim.serve();
  const monitorPort = await freePort();
  const nats = await startNatsServer({ args: ["-m", String(monitorPort)] });
  const nc = await connect({ servers: nats.url });
  const instances = [];
  const dir = mkdtempSync(path.join(os.tmpdir(), "gs-bench-status-ecs-"));
  let child;
  try {
    for (const s of services)
      for (let i = 0; i < 2; i++) {
        const svc = await new Svcm(nc).add({ name: s, version: "1.0.0", description: "bench stand-in" });
        svc.addEndpoint("ping", (_err, msg) => msg.respond());
        instances.push(svc);
      }
    writeFileSync(
      path.join(dir, "gs.yaml"),
      [
        "project: bench-status-ecs",
        "defaultTarget: prod",
        "targets:",
        "  prod:",
        "    platform: ecs",
        `    region: ${sim.region}`,
        `    cluster: ${sim.cluster}`,
        `    registry: ${sim.registry}`,
        '    serviceNameFormat: "{service}-nats"',
        `    nats: { url: ${nats.url}, monitoring: [http://127.0.0.1:${monitorPort}] }`,
        "services:",
        ...services.map((s) => `  ${s}: {}`),
        "",
      ].join("\n"),
    );

    const t0 = performance.now();
    const at = () => (performance.now() - t0) / 1000;
    child = spawn(
      process.execPath,
      [path.join(root, "bin", "run.js"), "status", "--watch", "--json", "--interval", `${INTERVAL_MS / 1000}s`],
      { cwd: dir, env: { ...process.env, CI: "true", ...aws.env() }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let docs = 0;
    let firstDocAt;
    let last;
    let buf = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      buf += d;
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (!line.trim()) continue;
        docs++;
        firstDocAt ??= at();
        last = JSON.parse(line);
      }
    });
    child.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));

    // the timeline: a deployment at 25% of the run, its tasks start at 60%; a crash at 75%
    const events = [
      { at_s: round(seconds * 0.25, 1), what: `deployment of ${deployed} started (its new tasks stay pending)` },
      { at_s: round(seconds * 0.6, 1), what: `${deployed}'s new tasks start; the deployment completes` },
      { at_s: round(seconds * 0.75, 1), what: `a running task of ${crashed} crashed (exit 1)` },
    ];
    const actions = [
      () => sim.startDeployment(deployed, newImage),
      () => (stuck = false),
      () => sim.crashTask(crashed),
    ];
    let cpu0;
    for (const [i, e] of events.entries()) {
      while (at() < e.at_s) {
        if (cpu0 === undefined && docs > 0) cpu0 = { ms: processCpuMs(child.pid), t: at() };
        await sleep(50);
      }
      actions[i]();
      log(`  ${round(at(), 1)}s: ${e.what}`);
    }
    while (at() < seconds) await sleep(50);
    const cpu1 = { ms: processCpuMs(child.pid), t: at() };
    const wall = at();
    child.kill("SIGINT");
    const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    const end = await exited;
    clearTimeout(killer);
    if (!docs) throw new Error(`the dashboard printed nothing (exit ${end.code ?? end.signal}): ${stderr.trim()}`);

    const calls = sim.countsByApi();
    const perService = callsByService(sim);
    const batches = Math.ceil(services.length / 10);
    // the first poll lists every service's tasks (what the first frame shows); it ends where the
    // second poll's first DescribeServices begins
    const second = sim.calls.filter((c) => c.command === "DescribeServices")[batches];
    const firstPollEnd = second ? sim.calls.indexOf(second) : sim.calls.length;
    const laterMinutes = (wall - (firstDocAt ?? 0)) / 60;
    const polls = Math.round((calls.DescribeServices ?? 0) / batches);
    const distinctRevisions = sim.taskDefinitions.size;
    const crashes = 1;
    // what no change explains: a quiet service listed beyond its first listing (ListTasks RUNNING and
    // STOPPED, a DescribeTasks for each non-empty list), a revision described twice, a log read twice
    const quiet = services.filter((s) => s !== deployed && s !== crashed);
    const unexplained = {
      ListTasks: quiet.reduce((n, s) => n + Math.max(0, (perService[s]?.ListTasks ?? 0) - 2), 0),
      DescribeTasks: quiet.reduce((n, s) => n + Math.max(0, (perService[s]?.DescribeTasks ?? 0) - 2), 0),
      DescribeTaskDefinition: Math.max(0, (calls.DescribeTaskDefinition ?? 0) - distinctRevisions),
      GetLogEvents: Math.max(0, (calls.GetLogEvents ?? 0) - crashes),
    };
    const describeServicesPerPoll = polls ? (calls.DescribeServices ?? 0) / polls : 0;
    const budgetPerPoll = (2 * services.length) / 10;
    const unexplainedTotal = Object.values(unexplained).reduce((a, b) => a + b, 0);
    const minutes = wall / 60;
    const result = {
      date: new Date().toISOString(),
      setup: {
        services: services.length,
        tasks: services.length * 2,
        interval: `${INTERVAL_MS / 1000}s`,
        seconds_measured: round(wall, 1),
        aws: "the ECS simulator over HTTP (AWS_ENDPOINT_URL), the CLI's own SDK clients",
        nats: "nats-server with 44 stand-in micro instances and its monitoring endpoint",
        events,
      },
      budget: {
        describe_services_per_poll: budgetPerPoll,
        unexplained_calls: 0,
        explained_by: `${deployed} (deployment) and ${crashed} (crash): their tasks listed while their counts move; new revisions described once; the crash's log lines read once`,
      },
      polls,
      documents: docs,
      calls,
      calls_per_minute: Object.fromEntries(Object.entries(calls).map(([k, v]) => [k, round(v / minutes, 1)])),
      first_poll: countByApi(sim.calls.slice(0, firstPollEnd)),
      calls_per_minute_after_first_poll: Object.fromEntries(
        Object.entries(countByApi(sim.calls.slice(firstPollEnd))).map(([k, v]) => [k, round(v / laterMinutes, 1)]),
      ),
      tasks_listed_per_service: {
        [deployed]: perService[deployed] ?? {},
        [crashed]: perService[crashed] ?? {},
        each_quiet_service: {
          ListTasks: Math.max(...quiet.map((s) => perService[s]?.ListTasks ?? 0)),
          DescribeTasks: Math.max(...quiet.map((s) => perService[s]?.DescribeTasks ?? 0)),
        },
      },
      describe_services_per_poll: round(describeServicesPerPoll, 2),
      unexplained_calls: unexplained,
      cpu_percent_of_one_core:
        cpu0?.ms !== undefined && cpu1.ms !== undefined
          ? round(((cpu1.ms - cpu0.ms) / ((cpu1.t - cpu0.t) * 1000)) * 100)
          : null,
      last_document: {
        healthy: last?.totals?.healthy ?? null,
        services: last?.services?.length ?? null,
        crashed_service_restarts: last?.services?.find((s) => s.name === crashed)?.restarts ?? null,
      },
      within_budget: polls > 0 && describeServicesPerPoll <= budgetPerPoll && unexplainedTotal === 0,
    };
    const perMinute = (o) =>
      Object.entries(o)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ");
    log(`ecs dashboard            ${polls} polls in ${result.setup.seconds_measured}s`);
    log(`  first poll             ${perMinute(result.first_poll)}`);
    log(`  calls/min after it     ${perMinute(result.calls_per_minute_after_first_poll)}`);
    log(
      `  DescribeServices/poll  ${result.describe_services_per_poll} (budget <= ${budgetPerPoll}); unexplained calls ${unexplainedTotal}; CPU ${result.cpu_percent_of_one_core}% of one core`,
    );
    return result;
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await Promise.all(instances.map((s) => s.stop().catch(() => undefined)));
    await nc.close();
    await nats.stop();
    await aws.stop();
    sim.restore();
    rmSync(dir, { recursive: true, force: true });
  }
}
