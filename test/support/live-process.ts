// A child process a test talks to while it runs: wait for what it prints, send it signals, then
// read how it ended. For long-running commands (bench, subscribe) and their Ctrl-C handling.
import { spawn, type ChildProcess } from "node:child_process";
import { cliEnv, cliPath, repoRoot } from "./run-cli.js";

export interface LiveProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** resolves once stdout or stderr (as chosen) matches */
  waitFor(stream: "stdout" | "stderr", pattern: RegExp, timeoutMs?: number): Promise<void>;
  signal(sig: NodeJS.Signals): void;
  /** how it ended: its exit code, or the signal that killed it */
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startProcess(
  command: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): LiveProcess {
  const child = spawn(command, args, { cwd: opts.cwd ?? repoRoot, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
  const out = { stdout: "", stderr: "" };
  const waiting = new Set<() => void>();
  const check = () => {
    for (const w of waiting) w();
  };
  child.stdout!.on("data", (d: Buffer) => ((out.stdout += d.toString()), check()));
  child.stderr!.on("data", (d: Buffer) => ((out.stderr += d.toString()), check()));
  const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      check();
      resolve({ code, signal });
    }),
  );
  return {
    child,
    stdout: () => out.stdout,
    stderr: () => out.stderr,
    waitFor(stream, pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          waiting.delete(w);
          reject(new Error(`${stream} never matched ${pattern}; stdout: ${out.stdout}\nstderr: ${out.stderr}`));
        }, timeoutMs);
        const w = () => {
          if (pattern.test(out[stream])) {
            clearTimeout(t);
            waiting.delete(w);
            resolve();
          } else if (child.exitCode !== null || child.signalCode !== null) {
            clearTimeout(t);
            waiting.delete(w);
            reject(
              new Error(`exited before ${stream} matched ${pattern}; stdout: ${out.stdout}\nstderr: ${out.stderr}`),
            );
          }
        };
        waiting.add(w);
        w();
      });
    },
    signal: (sig) => void child.kill(sig),
    exit,
  };
}

/** The built CLI, in the clean non-TTY, CI-like environment runCli gives it (cliEnv). */
export function startCli(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): LiveProcess {
  return startProcess(process.execPath, [cliPath, ...args], {
    cwd: opts.cwd,
    env: cliEnv(opts.env),
    timeoutMs: opts.timeoutMs,
  });
}
