// Runs a command class in this process, as `gs <command> ...argv` would, capturing stdout, stderr and
// the exit code. In-process because the AWS simulator (aws-sdk-client-mock) patches the SDK clients of
// this process; the built CLI bundles its own copy of the SDK.
import { format } from "node:util";
import type { Command } from "@oclif/core";
import { repoRoot } from "./run-cli.js";

export interface CommandRun {
  code: number;
  stdout: string;
  stderr: string;
}

type CommandClass = { run(argv?: string[], opts?: { root: string }): Promise<unknown> } & typeof Command;

export async function runCommand(
  cmd: CommandClass,
  argv: string[],
  env: Record<string, string | undefined> = {},
): Promise<CommandRun> {
  const saved = new Map<string, string | undefined>();
  const wanted: Record<string, string | undefined> = {
    CI: "true",
    NO_COLOR: "1",
    GITHUB_ACTIONS: undefined,
    GS_TARGET: undefined,
    GS_CONFIG: undefined,
    NATS_URL: undefined,
    ...env,
  };
  for (const [k, v] of Object.entries(wanted)) {
    saved.set(k, process.env[k]);
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  let stdout = "";
  let stderr = "";
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => (
    (stdout += chunk.toString()),
    true
  )) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => (
    (stderr += chunk.toString()),
    true
  )) as typeof process.stderr.write;
  // oclif prints --json documents with console.log, which vitest intercepts
  const log = console.log;
  const error = console.error;
  console.log = (...args: unknown[]) => void (stdout += format(...args) + "\n");
  console.error = (...args: unknown[]) => void (stderr += format(...args) + "\n");
  process.exitCode = undefined;
  try {
    await cmd.run(argv, { root: repoRoot });
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    console.log = log;
    console.error = error;
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  const code = typeof process.exitCode === "number" ? process.exitCode : Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { code, stdout, stderr };
}
