// Shared by the bench scripts: timing child processes, medians, recording results.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Wall time of one run of `cmd args` in ms; throws when it exits non-zero. Async, so an in-process responder keeps serving. */
export function timeRun(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    const child = spawn(cmd, args, { cwd: root, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...opts.env } });
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
    child.on("exit", (code) => (out.trim() ? resolve(JSON.parse(out)) : reject(new Error(`node ${args.join(" ")} exited ${code}: ${err}`))));
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
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, { median_ms: round(median(v)), min_ms: round(Math.min(...v)) }]));
}

export const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

export function record(name, result) {
  const file = path.join(root, "bench", `${name}.json`);
  const doc = { bench: name, date: new Date().toISOString(), machine: { cpus: os.cpus().length, node: process.version }, ...result };
  writeFileSync(file, JSON.stringify(doc, null, 2) + "\n");
  return file;
}
