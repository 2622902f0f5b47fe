#!/usr/bin/env node
// bench/status: `gs status --watch` in a real terminal (tmux) against the full local fleet (every
// service, 2 instances each) under a light request load. Budgets: the dashboard process uses < 5%
// of one core on average at a 2 s interval, and its first full frame (every source answered) comes
// within 1 s beyond the cost of loading the CLI, both measured in the same run.
// The ECS part (bench/status-ecs.mjs): the same dashboard against a 22-service ECS target served by
// the ECS simulator over HTTP, counting the AWS calls it makes per API and per minute. Writes
// bench/status.json (the ECS part under `ecs`; run alone, it replaces only that section).
//   node bench/status.mjs [--seconds 30] [--runs 3] [--rate 100] [--frame docs-frame.txt]
//                         [--ecs-only | --no-ecs] [--ecs-seconds 60]
// Needs the built CLI (npm run build), nats-server and tmux (the local part).
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { arg, fleetLoad, gs, median, record, root, round, scratchProject } from "./lib.mjs";
import { ecsDashboard } from "./status-ecs.mjs";

const seconds = Number(arg("seconds", 30));
const runs = Number(arg("runs", 5));
const rate = Number(arg("rate", 100));
const frameFile = arg("frame", undefined);
const CLI = path.join(root, "bin", "run.js");
const socket = `gs-bench-status-${process.pid}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const clkTck = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

const tmux = (...args) =>
  execFileSync("tmux", ["-L", socket, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const screen = () => tmux("capture-pane", "-p", "-t", "dash");

/** CPU seconds (user + system) the process has used so far. */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / clkTck;
}

/** Run `cmd` in a fresh tmux server; resolves with the pane's pid and how long until `ready(screen)`. */
async function inTerminal(dir, cmd, ready) {
  const env = { ...process.env, NO_COLOR: "1" };
  delete env.CI;
  const t0 = performance.now();
  execFileSync(
    "tmux",
    ["-L", socket, "-f", "/dev/null", "new-session", "-d", "-s", "dash", "-x", "200", "-y", "60", "-c", dir, cmd],
    { env },
  );
  const pid = Number(tmux("display-message", "-p", "-t", "dash", "#{pane_pid}").trim());
  for (;;) {
    const s = screen();
    if (ready(s)) return { pid, ms: performance.now() - t0 };
    if (performance.now() - t0 > 30_000) throw new Error(`\`${cmd}\` did not show what was expected within 30s:\n${s}`);
    await sleep(10);
  }
}

/** The dashboard; resolves when its first full frame shows: every source answered (the header has the time of the last poll) and every service its row. */
function startDashboard(dir, services) {
  const cmd = `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} status --watch --interval 2s`;
  return inTerminal(
    dir,
    cmd,
    (s) => /last poll \d\d:\d\d:\d\d/.test(s) && s.includes(`${services}/${services} services healthy`),
  );
}

/** The cost of loading the CLI, seen the same way: `gs --version` until its output shows in the terminal. */
async function cliLoadInTerminal(dir) {
  const r = await inTerminal(
    dir,
    `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} --version; sleep 30`,
    (s) => /^gs\/\d/m.test(s),
  );
  try {
    tmux("kill-server");
  } catch {
    // gone
  }
  return r.ms;
}

async function quitDashboard(pid) {
  tmux("send-keys", "-t", "dash", "q");
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      break;
    }
    await sleep(50);
  }
  try {
    tmux("kill-server");
  } catch {
    // already gone with its only session
  }
}

/** The local part: first frame and CPU against the local fleet; resolves with its figures (undefined when it failed). */
async function localDashboard() {
  const dir = scratchProject("gs-bench-status-");
  let load;
  try {
    const up = await gs(["up", "--detach", "--timeout", "5m", "--replicas", "2"], dir);
    if (up.code !== 0) throw new Error(`gs up failed (${up.code}): ${up.stderr.trim().split("\n").pop()}`);
    const status = JSON.parse((await gs(["status", "--json"], dir)).stdout);
    const services = status.totals.services;
    const fleetRecord = JSON.parse(readFileSync(path.join(dir, ".gs", "local.json"), "utf8"));
    load = await fleetLoad(fleetRecord.nats.url, rate, services);

    // baselines, in the same run: node itself, loading the CLI (in the terminal, as the dashboard is
    // measured, and as a plain child process), and one plain `gs status`
    const base = { node: [], cliLoad: [], cliLoadPiped: [], statusOnce: [] };
    for (let i = 0; i < 5; i++) {
      base.node.push(
        await new Promise((r) => {
          const t = performance.now();
          spawn(process.execPath, ["-e", "0"]).on("close", () => r(performance.now() - t));
        }),
      );
      base.cliLoad.push(await cliLoadInTerminal(dir));
      base.cliLoadPiped.push((await gs(["--version"], dir)).ms);
      base.statusOnce.push((await gs(["status"], dir)).ms);
    }
    const cliLoadMs = median(base.cliLoad);

    const firstFrames = [];
    for (let i = 0; i < runs; i++) {
      const d = await startDashboard(dir, services);
      firstFrames.push(d.ms);
      await quitDashboard(d.pid);
    }

    // CPU: a steady stretch after the first frame
    const d = await startDashboard(dir, services);
    await sleep(2000);
    const c0 = cpuSeconds(d.pid);
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const c1 = cpuSeconds(d.pid);
    const wall = (performance.now() - t0) / 1000;
    const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${d.pid}/status`, "utf8"))?.[1] ?? 0);
    const frame = screen()
      .replace(/[ \t]+$/gm, "")
      .trimEnd();
    if (frameFile) writeFileSync(path.resolve(frameFile), frame + "\n");
    await quitDashboard(d.pid);

    const cpuPercent = ((c1 - c0) / wall) * 100;
    const firstFrameMs = median(firstFrames);
    const beyondCli = firstFrameMs - cliLoadMs;
    const result = {
      setup: {
        services,
        instances: status.totals.desired,
        interval: "2s",
        terminal: "tmux 200x60",
        load_rps: rate,
        load_subjects: load.subjects.length,
        seconds_measured: round(wall, 1),
        runs,
      },
      budget: { cpu_percent_of_one_core: 5, first_frame_beyond_cli_load_ms: 1000 },
      baseline: {
        node_e0_ms: round(median(base.node)),
        cli_load_in_terminal_ms: round(cliLoadMs),
        cli_load_piped_ms: round(median(base.cliLoadPiped)),
        gs_status_once_ms: round(median(base.statusOnce)),
      },
      cpu_percent_of_one_core: round(cpuPercent),
      rss_mib: round(rss / 1024, 1),
      first_full_frame_ms: { median: round(firstFrameMs), samples: firstFrames.map((x) => round(x)) },
      first_frame_beyond_cli_load_ms: round(beyondCli),
      within_budget: cpuPercent < 5 && beyondCli <= 1000,
    };
    console.log(
      `dashboard CPU            ${result.cpu_percent_of_one_core}% of one core over ${result.setup.seconds_measured}s (budget < 5%)`,
    );
    console.log(
      `first full frame         ${result.first_full_frame_ms.median} ms; CLI load (gs --version, in the terminal) ${result.baseline.cli_load_in_terminal_ms} ms`,
    );
    console.log(`  beyond the CLI load    ${result.first_frame_beyond_cli_load_ms} ms (budget <= 1000 ms)`);
    return result;
  } catch (err) {
    process.stderr.write(`bench/status: ${err.message}\n`);
    return undefined;
  } finally {
    try {
      tmux("kill-server");
    } catch {
      // not running
    }
    await load?.stop();
    await gs(["down", "--purge"], dir);
    rmSync(dir, { recursive: true, force: true });
    // each tmux server of this run left its socket file behind
    rmSync(path.join(process.env.TMUX_TMPDIR ?? os.tmpdir(), `tmux-${process.getuid()}`, socket), { force: true });
  }
}

const runLocal = !process.argv.includes("--ecs-only");
const runEcs = !process.argv.includes("--no-ecs");
let exitCode = 0;
const local = runLocal ? await localDashboard() : undefined;
let ecs;
if (runEcs) {
  try {
    ecs = await ecsDashboard({ seconds: Number(arg("ecs-seconds", 60)) });
  } catch (err) {
    process.stderr.write(`bench/status (ecs): ${err.message}\n`);
  }
}
if ((runLocal && !local) || (runEcs && !ecs)) exitCode = 1;
const file = path.join(root, "bench", "status.json");
// top-level figures and within_budget are the local part's; the ECS part has its own under `ecs`
if (local) record("status", { ...local, ...(ecs ? { ecs } : {}) });
else if (ecs && !runLocal) {
  // the ECS part alone: the local figures of the last full run stay as they were
  const prev = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : { bench: "status" };
  writeFileSync(file, JSON.stringify({ ...prev, ecs }, null, 2) + "\n");
}
if (local || (ecs && !runLocal)) console.log(`recorded in ${path.relative(root, file)}`);
if ((local && !local.within_budget) || (ecs && !ecs.within_budget)) exitCode = 1;
process.exit(exitCode);
