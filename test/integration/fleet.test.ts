// The whole fleet: all 22 services from the one entry point against one nats-server, every rpc
// answered through the built CLI, and hostile bytes to every endpoint without taking anything down.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { SERVICE_NAMES } from "../../services/catalog.js";
import { encodeJson } from "../../services/sdk/json-codec.js";
import { defaultRegistry } from "../../services/sdk/runtime.js";
import type { SubjectEntry } from "../../src/commands/subjects.js";
import { startFleet, type TestFleet } from "../support/fleet.js";
import { runCli } from "../support/run-cli.js";

let fleet: TestFleet;
let nc: NatsConnection;
const registry = defaultRegistry();

async function pool<T>(items: T[], size: number, fn: (x: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: size }, async () => {
    for (let x = queue.shift(); x !== undefined; x = queue.shift()) await fn(x);
  }));
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
    const it = await nc.requestMany("$SRV.PING", "", { strategy: "stall", maxWait: 2000, stall: 300 });
    const names = new Set<string>();
    for await (const m of it) names.add(m.json<{ name: string }>().name);
    expect([...names].sort()).toEqual([...SERVICE_NAMES].sort());
  });

  it("answers every rpc through gs request: a reply or a 4xx error reply, never silence or a 5xx", async () => {
    const list = await runCli(["subjects", "--json"]);
    const subjects = JSON.parse(list.stdout) as SubjectEntry[];
    expect(subjects.length).toBe(registry.rpcs.length);
    const bad: string[] = [];
    await pool(subjects, 4, async (s) => {
      const r = await runCli(["request", s.subject, JSON.stringify(s.example), "-s", fleet.server.url, "--timeout", "10s", "--json"]);
      if (r.code === 0) return;
      const err = JSON.parse(r.stdout || "{}").error as { code: string; message: string } | undefined;
      const status = /answered with error (\d+)/.exec(err?.message ?? "")?.[1];
      if (!(err?.code === "service_error" && status && Number(status) < 500)) bad.push(`${s.subject}: ${r.code} ${err?.message ?? r.stderr}`);
    });
    expect(bad).toEqual([]);
  }, 240_000);

  it("answers random, truncated and mistyped bytes on every endpoint with a 400-class error and stays up", async () => {
    const problems: string[] = [];
    for (const rpc of registry.rpcs) {
      const valid = encodeJson(rpc.request, {});
      const payloads = [randomBytes(1 + Math.floor(Math.random() * 64)), randomBytes(512), Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), Buffer.from([0x08]), Buffer.concat([Buffer.from(valid), Buffer.from([0x12])])];
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
    const it = await nc.requestMany("$SRV.PING", "", { strategy: "stall", maxWait: 2000, stall: 300 });
    let n = 0;
    for await (const _ of it) n++;
    expect(n).toBe(22);
  }, 120_000);
});
