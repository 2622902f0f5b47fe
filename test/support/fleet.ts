// The whole fleet as real processes (`node services/dist/main.js <service>`, the entry point images use)
// against one nats-server with JetStream, for fleet-wide tests.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { SERVICE_NAMES } from "../../services/catalog.js";
import { startNatsServer, type TestNatsServer } from "./nats-server.js";
import { repoRoot } from "./run-cli.js";

export interface TestFleet {
  server: TestNatsServer;
  processes: Map<string, ChildProcess>;
  logs: Map<string, string[]>;
  stop(): Promise<void>;
}

/** Every micro instance answering $SRV.PING (none yet is an empty list, not an error). */
export async function pingAll(
  nc: NatsConnection,
  maxWait = 1000,
): Promise<{ name: string; id: string; version: string }[]> {
  const out: { name: string; id: string; version: string }[] = [];
  try {
    const it = await nc.requestMany("$SRV.PING", "", { strategy: "stall", maxWait, stall: 200 });
    for await (const m of it) out.push(m.json());
  } catch (err) {
    if (!/no responders/i.test((err as Error).message)) throw err;
  }
  return out;
}

/** Start every service (one instance each) and wait until all answer $SRV.PING. */
export async function startFleet(opts: { services?: string[]; timeoutMs?: number } = {}): Promise<TestFleet> {
  const names = opts.services ?? SERVICE_NAMES;
  const server = await startNatsServer({ jetstream: true });
  const tmp = mkdtempSync(path.join(os.tmpdir(), "gs-fleet-"));
  const processes = new Map<string, ChildProcess>();
  const logs = new Map<string, string[]>();
  for (const name of names) {
    const child = spawn(process.execPath, [path.join(repoRoot, "services/dist/main.js"), name], {
      env: {
        PATH: process.env.PATH,
        NATS_URL: server.url,
        GS_HEALTH_FILE: path.join(tmp, `${name}.health`),
        GS_LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const lines: string[] = [];
    const keep = (d: Buffer) => {
      lines.push(...d.toString().split("\n").filter(Boolean));
      if (lines.length > 200) lines.splice(0, lines.length - 200);
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    processes.set(name, child);
    logs.set(name, lines);
  }
  const stop = async () => {
    await Promise.all(
      [...processes.values()].map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once("exit", () => resolve());
            c.kill("SIGTERM");
            setTimeout(() => c.kill("SIGKILL"), 5000).unref();
          }),
      ),
    );
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  };
  const nc = await connect({ servers: server.url });
  try {
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    for (;;) {
      const seen = new Set((await pingAll(nc)).map((p) => p.name));
      const missing = names.filter((n) => !seen.has(n));
      if (missing.length === 0) break;
      const dead = missing.filter((n) => processes.get(n)!.exitCode !== null);
      if (dead.length || Date.now() > deadline) {
        await stop();
        const why = (dead.length ? dead : missing)
          .map((n) => `${n}: ${(logs.get(n) ?? []).slice(-3).join(" | ")}`)
          .join("\n");
        throw new Error(`services did not start: ${why}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await nc.close();
  }
  return { server, processes, logs, stop };
}
