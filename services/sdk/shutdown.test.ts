// Graceful shutdown and the health check, with real service processes (services/test-support/probe-service.ts)
// on a real nats-server: SIGTERM drains (no request lost, in-flight work answered, exit 0).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startNatsServer, type TestNatsServer } from "../../test/support/nats-server.js";
import { freePort } from "../../test/support/free-port.js";
import { FleetClient } from "./client.js";
import { ServiceError } from "./errors.js";
import { checkHealth } from "./health.js";
import { defaultRegistry } from "./runtime.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Probe {
  child: ChildProcess;
  pid: number;
  healthFile: string;
  /** stdout so far: the service's JSON log lines */
  logs(): Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

let server: TestNatsServer;
let nc: NatsConnection;
let client: FleetClient;
let tmp: string;
const probes: Probe[] = [];
let probeCount = 0;

function recordOf(file: string): { name: string; id: string; pid: number } | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
}

async function startProbe(env: Record<string, string> = {}): Promise<Probe> {
  const healthFile = path.join(tmp, `probe-${++probeCount}.json`);
  const child = spawn(process.execPath, ["--import", "tsx", "services/test-support/probe-service.ts"], {
    cwd: root,
    env: { ...process.env, NATS_URL: server.url, GS_HEALTH_FILE: healthFile, GS_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const probe: Probe = {
    child,
    pid: child.pid!,
    healthFile,
    exited,
    logs: () =>
      out
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
  probes.push(probe);
  const deadline = Date.now() + 30_000;
  // the health file is written once the service answers, right before the signal handlers are installed;
  // writeFileSync is not atomic, so wait until it holds the whole record, not merely until it exists
  while (!(recordOf(healthFile)?.pid === probe.pid && probe.logs().some((l) => l.msg === "started"))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`probe did not start (exit ${child.exitCode}): ${err.trim() || out.trim()}`);
    }
    await sleep(25);
  }
  return probe;
}

/** Requests Decide at `rate` per second for `durationMs`; `at(ms)` callbacks fire during the run. */
async function load(rate: number, durationMs: number, at: Record<number, () => void>) {
  type Result =
    { ok: true; pid: string; sent: number; done: number } | { ok: false; error: string; sent: number; done: number };
  const calls: Promise<Result>[] = [];
  const start = Date.now();
  const pending = Object.entries(at).map(([ms, fn]) => ({ ms: Number(ms), fn, fired: false }));
  let sent = 0;
  while (Date.now() - start < durationMs) {
    const elapsed = Date.now() - start;
    for (const p of pending) {
      if (p.fired || elapsed < p.ms) continue;
      p.fired = true;
      p.fn();
    }
    const due = Math.floor((elapsed * rate) / 1000);
    for (; sent < due; sent++) {
      const t = Date.now();
      calls.push(
        client.call<{ reason: string }>("npc-behavior.decide", { npcId: `npc-${sent}` }, { timeout: 10_000 }).then(
          (r) => ({ ok: true as const, pid: r.reason, sent: t, done: Date.now() }),
          (e: Error) => ({
            ok: false as const,
            error: e instanceof ServiceError ? `${e.code} ${e.message}` : e.message,
            sent: t,
            done: Date.now(),
          }),
        ),
      );
    }
    await sleep(5);
  }
  return Promise.all(calls);
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "gs-shutdown-"));
  server = await startNatsServer({ jetstream: true });
  nc = await connect({ servers: server.url });
  client = new FleetClient(nc, defaultRegistry());
});

afterAll(async () => {
  for (const p of probes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
  await nc?.close().catch(() => undefined);
  await server?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("graceful shutdown of a service process", () => {
  it("loses no request when one of two instances gets SIGTERM under steady load, and exits 0", async () => {
    // 100 ms of work per request: about 10 are in flight at the instance when it gets SIGTERM
    const [a, b] = await Promise.all([startProbe({ PROBE_DELAY_MS: "100" }), startProbe({ PROBE_DELAY_MS: "100" })]);
    let termAt = 0;
    const results = await load(200, 2000, {
      700: () => {
        termAt = Date.now();
        a.child.kill("SIGTERM");
      },
    });
    const exit = await Promise.race([a.exited, sleep(10_000).then(() => null)]);
    expect(exit, "the drained instance exits within 10 s").not.toBeNull();
    expect([exit!.code, exit!.signal]).toEqual([0, null]);
    expect(exit!.at - termAt).toBeLessThan(10_000);

    const failures = results.filter((r) => !r.ok);
    expect(failures, JSON.stringify(failures.slice(0, 5))).toEqual([]);
    expect(results.length).toBeGreaterThanOrEqual(380);
    const byA = results.filter((r) => r.ok && r.pid === `pid ${a.pid}`);
    const byB = results.filter((r) => r.ok && r.pid === `pid ${b.pid}`);
    expect(byA.length + byB.length).toBe(results.length);
    expect(byA.length).toBeGreaterThan(0);
    // the draining instance finished what it had been given
    expect(byA.some((r) => r.sent < termAt && r.done > termAt)).toBe(true);
    // after the drain, the surviving instance takes everything
    expect(byB.some((r) => r.sent > exit!.at)).toBe(true);
    expect(byA.every((r) => r.sent <= exit!.at)).toBe(true);
    const logs = a.logs();
    expect(logs.find((l) => l.msg === "stopped")).toMatchObject({ clean: true });
    expect(existsSync(a.healthFile), "a stopped instance removes its health record").toBe(false);

    b.child.kill("SIGTERM");
    expect(await b.exited).toMatchObject({ code: 0, signal: null });
  });

  it("answers a request that is in flight when SIGTERM arrives, then exits 0", async () => {
    const p = await startProbe();
    const sent = Date.now();
    const reply = client
      .call<{ npcId: string; reason: string }>("npc-behavior.decide", { npcId: "wait-1000" }, { timeout: 5000 })
      .then((r) => ({ r, at: Date.now() }));
    await sleep(200); // the request is being worked on
    p.child.kill("SIGTERM");
    const { r, at } = await reply;
    expect(r).toMatchObject({ npcId: "wait-1000", reason: `pid ${p.pid}` });
    expect(at - sent).toBeGreaterThanOrEqual(1000);
    const exit = await p.exited;
    expect([exit.code, exit.signal]).toEqual([0, null]);
    expect(exit.at).toBeGreaterThanOrEqual(at - 50);
    const draining = p.logs().find((l) => l.msg === "draining");
    expect(draining).toMatchObject({ signal: "SIGTERM", inFlight: 1 });
  });
});

describe("the health check (checkHealth)", () => {
  it("is healthy while the instance named in its health file answers over NATS", async () => {
    const p = await startProbe();
    const env = { NATS_URL: server.url, GS_HEALTH_FILE: p.healthFile };
    const r = await checkHealth(env, 2000);
    expect(r.ok).toBe(true);
    const { id } = recordOf(p.healthFile)!;
    expect(r.reason).toBe(`npc-behavior ${id} answers`);

    // killed without a chance to clean up: the file stays, but nobody answers for that instance
    p.child.kill("SIGKILL");
    expect((await p.exited).signal).toBe("SIGKILL");
    expect(existsSync(p.healthFile)).toBe(true);
    const stale = await checkHealth(env, 1000);
    expect(stale.ok).toBe(false);
    expect(stale.reason.startsWith(`npc-behavior ${id} does not answer: `), stale.reason).toBe(true);
    expect(stale.reason).not.toContain("\n");
  });

  it("is unhealthy with a one-line reason when there is no health file", async () => {
    const file = path.join(tmp, "never-started.json");
    const r = await checkHealth({ NATS_URL: server.url, GS_HEALTH_FILE: file }, 1000);
    expect(r).toEqual({ ok: false, reason: `no instance record at ${file} (not started yet?)` });
  });

  it("is unhealthy with a one-line reason when NATS cannot be reached", async () => {
    const p = await startProbe();
    const port = await freePort();
    const r = await checkHealth({ NATS_URL: `nats://127.0.0.1:${port}`, GS_HEALTH_FILE: p.healthFile }, 1000);
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/^cannot reach NATS: /);
    expect(r.reason).not.toContain("\n");
    p.child.kill("SIGTERM");
    expect((await p.exited).code).toBe(0);
  });
});
