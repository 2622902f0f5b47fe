// Shared by the bench scripts: timing child processes, medians, recording results.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "@nats-io/transport-node";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The gs that runs `gs bench`, relative to the repo root. GS_CLI runs another build of gs (a copy of bin/ and dist/, so a rebuild elsewhere cannot change it mid-run). */
export const cli = process.env.GS_CLI ?? "bin/run.js";

/** The value after `--name` on the command line, or `dflt`. */
export function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
}

/** Run the built CLI in `cwd` as CI would; resolves (never rejects) with its exit code, output and wall time. */
export function gs(args, cwd, env = {}) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [path.join(root, "bin", "run.js"), ...args], {
      cwd,
      env: { ...process.env, CI: "true", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr, ms: performance.now() - t0 }));
  });
}

/** A scratch project in a temporary folder: the repo's gs.yaml, with services/ and proto/ linked, so `gs up` keeps its .gs/ out of the repo. */
export function scratchProject(prefix) {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  writeFileSync(path.join(dir, "gs.yaml"), readFileSync(path.join(root, "gs.yaml")));
  symlinkSync(path.join(root, "services"), path.join(dir, "services"));
  symlinkSync(path.join(root, "proto"), path.join(dir, "proto"));
  return dir;
}

/**
 * A steady load that touches every service of a running fleet: the first rpc of each, empty request.
 * Any reply counts as answered (a 400 for an empty request still came from a live instance); no
 * reply or a 5xx counts as failed. Discovery ends once `services` services have answered $SRV.INFO,
 * or after 1.5 s.
 */
export async function fleetLoad(url, perSecond, services) {
  const nc = await connect({ servers: url.split(","), maxReconnectAttempts: -1 });
  const sub = nc.subscribe(nc.options.inboxPrefix ? `${nc.options.inboxPrefix}.bench` : "_INBOX.bench");
  // (a subscription's `timeout` only covers the first message)
  const window = setTimeout(() => sub.unsubscribe(), 1500);
  nc.publish("$SRV.INFO", new Uint8Array(), { reply: sub.getSubject() });
  const found = new Map();
  for await (const m of sub) {
    const info = m.json();
    if (!found.has(info.name) && info.endpoints?.length) found.set(info.name, info.endpoints[0].subject);
    if (found.size >= services) break;
  }
  clearTimeout(window);
  sub.unsubscribe();
  const subjects = [...found.values()].sort();
  const stats = { sent: 0, answered: 0, failed: 0, errors: {} };
  const fail = (key) => {
    stats.failed++;
    stats.errors[key] = (stats.errors[key] ?? 0) + 1;
  };
  const inFlight = new Set();
  let i = 0;
  const timer = setInterval(() => {
    const subject = subjects[i++ % subjects.length];
    stats.sent++;
    const p = nc
      .request(subject, new Uint8Array(), { timeout: 5000 })
      .then((m) => {
        const code = Number(m.headers?.get("Nats-Service-Error-Code") ?? 0);
        if (code >= 500) fail(`${subject}: ${code}`);
        else stats.answered++;
      })
      .catch((err) => fail(`${subject}: ${err.message}`))
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }, 1000 / perSecond);
  return {
    subjects,
    async stop() {
      clearInterval(timer);
      await Promise.all(inFlight);
      await nc.close();
      return stats;
    },
  };
}

/** `node ...args` in the repo root (a service, a responder), logging warnings only; stdout is piped, stderr shows. */
export function startProcess(args, env = {}) {
  return spawn(process.execPath, args, {
    cwd: root,
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, GS_LOG_LEVEL: "warn", ...env },
  });
}

/** Stop a process started by startProcess and wait until it has exited (SIGKILL after `graceMs`). */
export async function stopProcess(child, graceMs = 15_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

let clockTicks;
/** CPU time (user + system) a process has used so far, in ms, from /proc; undefined where there is no /proc. */
export function processCpuMs(pid) {
  try {
    // the fields after the command name, which may itself hold spaces: utime and stime are the 12th and 13th
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    clockTicks ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
  } catch {
    return undefined;
  }
}

/** Request `subject` until it answers (200 tries, 500 ms timeout, 100 ms apart); resolves with the reply. */
export async function waitFor(nc, subject, payload) {
  for (let i = 0; i < 200; i++) {
    try {
      return await nc.request(subject, payload, { timeout: 500 });
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${subject} never answered`);
}

/** Wall time of one run of `cmd args` in ms; throws when it exits non-zero. Async, so an in-process responder keeps serving. */
export function timeRun(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    const child = spawn(cmd, args, {
      cwd: root,
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, ...opts.env },
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("exit", (code) => {
      const ms = Number(process.hrtime.bigint() - t) / 1e6;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(" ")} exited ${code}: ${stderr}`));
      else resolve(ms);
    });
  });
}

/**
 * Run `node ...args` and resolve with the JSON it prints on stdout (gs bench --json prints its result
 * even when it exits 1, e.g. every request failed: the caller reads the figures); reject with its
 * stderr when it printed none.
 */
export function nodeJson(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("exit", (code) =>
      out.trim() ? resolve(JSON.parse(out)) : reject(new Error(`node ${args.join(" ")} exited ${code}: ${err}`)),
    );
  });
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Interleave the candidates run by run, so machine noise hits them alike. */
export async function measureInterleaved(cases, runs) {
  const samples = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (const fn of Object.values(cases)) await fn(); // warm the page cache
  for (let i = 0; i < runs; i++) for (const [k, fn] of Object.entries(cases)) samples[k].push(await fn());
  return Object.fromEntries(
    Object.entries(samples).map(([k, v]) => [k, { median_ms: round(median(v)), min_ms: round(Math.min(...v)) }]),
  );
}

export const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

export function record(name, result) {
  const file = path.join(root, "bench", `${name}.json`);
  const doc = {
    bench: name,
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version },
    ...result,
  };
  writeFileSync(file, JSON.stringify(doc, null, 2) + "\n");
  return file;
}
