// The whole fleet: all 22 services from the one entry point against one nats-server, every rpc
// answered through the built CLI, and hostile bytes to every endpoint without taking anything down.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { SERVICE_NAMES } from "../../services/catalog.js";
import { encodeJson } from "../../services/sdk/json-codec.js";
import { defaultRegistry } from "../../services/sdk/runtime.js";
import type { SubjectEntry } from "./subjects.js";
import { pingAll, startFleet, type TestFleet } from "../../test/support/fleet.js";
import { freePort } from "../../test/support/free-port.js";
import { fuzz, rssMiB } from "../../test/support/fuzz.js";
import { repoRoot, runCli } from "../../test/support/run-cli.js";

let fleet: TestFleet;
let nc: NatsConnection;
const registry = defaultRegistry();

/** The HTTP gateway against the fleet, on a free port; `stop` kills it. */
async function startGateway(url: string): Promise<{ base: string; stop(): Promise<void>; alive(): boolean }> {
  const port = await freePort();
  const gw = spawn(process.execPath, [path.join(repoRoot, "services/dist/gateway/main.js")], {
    env: { PATH: process.env.PATH, NATS_URL: url, GATEWAY_PORT: String(port), GS_LOG_LEVEL: "warn" },
    stdio: "ignore",
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (
      await fetch(`${base}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (i > 100) {
      gw.kill("SIGTERM");
      throw new Error("gateway did not start");
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const alive = () => gw.exitCode === null && gw.signalCode === null;
  // the gateway is a fleet member ($SRV.PING answers it) until its drain ends: stop waits for its exit
  const stop = async () => {
    if (!alive()) return;
    const exited = once(gw, "exit");
    gw.kill("SIGTERM");
    await exited;
  };
  return { base, stop, alive };
}

async function pool<T>(items: T[], size: number, fn: (x: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: size }, async () => {
      for (let x = queue.shift(); x !== undefined; x = queue.shift()) await fn(x);
    }),
  );
}

describe("the fleet", () => {
  beforeAll(async () => {
    fleet = await startFleet({ timeoutMs: 60_000 });
    nc = await connect({ servers: fleet.server.url });
  }, 90_000);
  afterAll(async () => {
    await nc?.close();
    await fleet?.stop();
  });

  it("runs all 22 services from one entry point, each answering $SRV.PING", async () => {
    expect(SERVICE_NAMES).toHaveLength(22);
    const names = new Set((await pingAll(nc, 2000)).map((p) => p.name));
    expect([...names].sort()).toEqual([...SERVICE_NAMES].sort());
  });

  it("answers every rpc through gs request: a reply or a 4xx error reply, never silence or a 5xx", async () => {
    const list = await runCli(["subjects", "--json"]);
    const subjects = JSON.parse(list.stdout) as SubjectEntry[];
    expect(subjects.length).toBe(registry.rpcs.length);
    const bad: string[] = [];
    await pool(subjects, 4, async (s) => {
      const r = await runCli([
        "request",
        s.subject,
        JSON.stringify(s.example),
        "-s",
        fleet.server.url,
        "--timeout",
        "10s",
        "--json",
      ]);
      if (r.code === 0) return;
      const err = JSON.parse(r.stdout || "{}").error as { code: string; message: string } | undefined;
      const status = /answered with error (\d+)/.exec(err?.message ?? "")?.[1];
      if (!(err?.code === "service_error" && status && Number(status) < 500))
        bad.push(`${s.subject}: ${r.code} ${err?.message ?? r.stderr}`);
    });
    expect(bad).toEqual([]);
  }, 240_000);

  it("answers every example of the service table in docs/messaging.md, in order, with success", async () => {
    const page = readFileSync(path.join(repoRoot, "docs/messaging.md"), "utf8");
    const table = page.slice(page.indexOf("<!-- services:start"), page.indexOf("<!-- services:end"));
    const examples = [...table.matchAll(/`gs request ([a-z-]+\.[a-z-]+)(?: '([^`]*)')?`/g)].map(
      (m) => [m[1]!, m[2] ?? ""] as const,
    );
    expect(examples).toHaveLength(22);
    const failed: string[] = [];
    for (const [subject, data] of examples) {
      const r = await runCli(["request", subject, ...(data ? [data] : []), "-s", fleet.server.url, "--timeout", "10s"]);
      if (r.code !== 0) failed.push(`${subject}: ${r.stderr.trim()}`);
    }
    expect(failed).toEqual([]);
  }, 120_000);

  it("serves every service through the HTTP gateway: JSON in, JSON out, with HTTP status codes", async () => {
    const gw = await startGateway(fleet.server.url);
    try {
      const post = (subject: string, body: unknown) =>
        fetch(`${gw.base}/v1/${subject}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      const reg = await post("auth.register", { username: "gateway-user", password: "correct-horse-battery" });
      expect(reg.status).toBe(200);
      expect(await reg.json()).toMatchObject({ username: "gateway-user" });
      const login = await post("auth.login", { username: "gateway-user", password: "wrong-password-123" });
      expect(login.status).toBe(401);
      expect((await post("auth.lgin", {})).status).toBe(404);
      expect((await post("auth.login", { nope: 1 })).status).toBe(400);
      // one request per service: every one answers through HTTP (2xx or a 4xx of its own)
      const subjects = JSON.parse((await runCli(["subjects", "--json"])).stdout) as SubjectEntry[];
      const firstPerService = [...new Map(subjects.map((s) => [s.service, s])).values()];
      expect(firstPerService).toHaveLength(22);
      const statuses = await Promise.all(
        firstPerService.map(async (s) => [s.subject, (await post(s.subject, s.example)).status] as const),
      );
      expect(statuses.filter(([, st]) => st >= 500)).toEqual([]);
    } finally {
      await gw.stop();
    }
  }, 60_000);

  it("answers random, truncated and mistyped bytes on every endpoint with a 400-class error and stays up", async () => {
    const problems: string[] = [];
    for (const rpc of registry.rpcs) {
      const valid = encodeJson(rpc.request, {});
      const payloads = [
        randomBytes(1 + Math.floor(Math.random() * 64)),
        randomBytes(512),
        Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
        Buffer.from([0x08]),
        Buffer.concat([Buffer.from(valid), Buffer.from([0x12])]),
      ];
      for (const p of payloads) {
        try {
          const reply = await nc.request(rpc.subject, p, { timeout: 5000 });
          const code = Number(reply.headers?.get("Nats-Service-Error-Code") ?? 0);
          if (code >= 500) problems.push(`${rpc.subject} answered ${code} to ${p.toString("hex").slice(0, 24)}`);
        } catch (err) {
          problems.push(`${rpc.subject}: ${(err as Error).message}`);
        }
      }
    }
    expect(problems).toEqual([]);
    const dead = [...fleet.processes].filter(([, c]) => c.exitCode !== null).map(([n]) => n);
    expect(dead).toEqual([]);
    expect(await pingAll(nc, 2000)).toHaveLength(22);
  }, 120_000);

  it("answers 10,000 hostile requests over every endpoint with errors, stays up, and keeps its memory (bench/fuzz.mjs: 100,000)", async () => {
    const pids = [...fleet.processes].map(([name, c]) => [name, c.pid!] as const);
    await fuzz(nc, registry.rpcs, { total: 2000, concurrency: 32, seed: 1 }); // warm-up: JIT, buffers, first allocations
    const before = new Map(pids.map(([n, pid]) => [n, rssMiB(pid)]));
    const r = await fuzz(nc, registry.rpcs, { total: 10_000, concurrency: 64, seed: 7 });
    const after = new Map(pids.map(([n, pid]) => [n, rssMiB(pid)]));
    console.log(
      `fuzz: ${r.sent} requests in ${r.seconds}s, error replies ${JSON.stringify(r.errorReplies)}, ok ${r.okReplies}`,
    );
    expect(r.problems, r.examples.join("\n")).toBe(0);
    const grew = pids
      .filter(([n]) => after.get(n)! - before.get(n)! > 48)
      .map(([n]) => `${n}: ${before.get(n)} -> ${after.get(n)} MiB`);
    expect(grew).toEqual([]);
    expect([...fleet.processes].filter(([, c]) => c.exitCode !== null).map(([n]) => n)).toEqual([]);
    expect(await pingAll(nc, 2000)).toHaveLength(22);
  }, 240_000);

  it("answers hostile HTTP through the gateway with 4xx and stays up: oversized, deeply nested, binary, very long strings", async () => {
    const gw = await startGateway(fleet.server.url);
    try {
      const post = (subject: string, body: string | Uint8Array, type = "application/json") =>
        fetch(`${gw.base}/v1/${subject}`, { method: "POST", headers: { "content-type": type }, body }).then(
          async (r) => ({ status: r.status, body: await r.text() }),
        );
      expect((await post("auth.login", "x".repeat(2 * 1024 * 1024))).status).toBe(413);
      const deep = "[".repeat(200_000) + "]".repeat(200_000);
      expect((await post("auth.login", deep)).status).toBe(413); // over 64 KiB: refused before parsing
      const deepSmall = '{"username":' + "[".repeat(20_000) + "]".repeat(20_000) + "}";
      expect((await post("auth.login", deepSmall)).status).toBe(400);
      const nested = '{"a":'.repeat(10_000) + "1" + "}".repeat(10_000);
      expect((await post("world-state.query-region", nested)).status).toBe(400);
      expect((await post("auth.login", Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x22]))).status).toBe(400);
      expect(
        (await post("auth.login", JSON.stringify({ username: "\u0000\ud800".repeat(1000), password: "p" }))).status,
      ).toBeLessThan(500);
      const long = await post(
        "auth.register",
        JSON.stringify({ username: "u".repeat(60_000), password: "correct-horse-battery" }),
      );
      expect(long.status).toBeGreaterThanOrEqual(400);
      expect(long.status).toBeLessThan(500);
      expect((await post("auth.login", "{}", "text/plain")).status).toBe(415);
      expect(gw.alive()).toBe(true);
      expect((await fetch(`${gw.base}/healthz`)).status).toBe(200);
    } finally {
      await gw.stop();
    }
  }, 60_000);
});
