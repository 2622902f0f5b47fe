// Runs the built CLI (bin/run.js) as a user would: a child process, its stdout, stderr and exit code.
// The one runner of the tests (a child the test talks to while it runs is live-process.ts's startCli).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export const repoRoot = path.resolve(import.meta.dirname, "../..");
/** the built CLI's entry point */
export const cliPath = path.join(repoRoot, "bin", "run.js");

export interface CliResult {
  /** null when a signal ended it (e.g. the timeout's SIGKILL) */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** default: the repository */
  cwd?: string;
  /** on top of cliEnv's clean environment */
  env?: NodeJS.ProcessEnv;
  /** what it reads on stdin (default: nothing, stdin closed) */
  input?: string;
  /** SIGKILL after this long (default 180 s: `gs up` or a deploy may take minutes; a test's own timeout ends sooner) */
  timeoutMs?: number;
}

/**
 * A clean, non-TTY, CI-like environment, the same on every machine: nothing inherited that would change
 * what gs does (NATS_URL, GS_TARGET, GS_CONFIG, GS_HOME, FORCE_COLOR ...), only where to find programs.
 */
export function cliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { CI: "true", NO_COLOR: "1", XDG_CACHE_HOME: testCacheDir() };
  // GS_NATS_SERVER: where nats-server is when it is not on PATH, as `gs up` looks for it
  for (const k of ["PATH", "HOME", "TMPDIR", "GS_NATS_SERVER"]) if (process.env[k]) env[k] = process.env[k];
  return { ...env, ...extra };
}

let cacheDir: string | undefined;
/** One cache folder per test process (schemas fetched from a fleet land there), removed when it exits: never the user's ~/.cache. */
function testCacheDir(): string {
  if (!cacheDir) {
    const dir = (cacheDir = mkdtempSync(path.join(os.tmpdir(), "gs-test-cache-")));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  return cacheDir;
}

/** Run the built CLI to its end; rejects only when it cannot be started. */
export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      cwd: opts.cwd ?? repoRoot,
      env: cliEnv(opts.env),
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 180_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? "");
  });
}
