// `gs status` and `gs services` on an ecs target, as a user runs them (the built CLI, a child process):
// the ECS simulator served over HTTP, a real loopback nats-server with two instances of a probe
// service whose latencies the test sets. Latency: the last minute's p50/p99 of both instances
// together. Degrading: NATS unresolvable or refusing shows the platform's counts with the reason;
// the platform API refusing shows NATS's view with the reason; `--check` exits 5 in either case.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../services/sdk/log.js";
import { FleetClient } from "../../services/sdk/client.js";
import { defaultRegistry, startService, type RunningService } from "../../services/sdk/runtime.js";
import { npcProbe } from "../../services/test-support/npc-probe.js";
import { awsError, startAwsEndpoint, type AwsEndpoint } from "../../test/support/aws-endpoint.js";
import { EcsSimulator, ecsProdTarget } from "../../test/support/ecs-simulator.js";
import { startNatsServer, type TestNatsServer } from "../../test/support/nats-server.js";
import { startCli } from "../../test/support/live-process.js";
import { waitFor } from "../../test/support/local-fleet.js";
import { runCli, type CliResult } from "../../test/support/run-cli.js";
import type { ServicesJson } from "./services.js";
import type { StatusJson, StatusWatchJson } from "./status.js";

let dir: string;
let server: TestNatsServer;
let nc: NatsConnection;
const instances: RunningService[] = [];
let aws: AwsEndpoint | undefined;
let sim: EcsSimulator | undefined;

/** a loopback port nothing listens on */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** gs.yaml with the prod target's NATS at `natsUrl`. */
function config(natsUrl: string): string {
  const file = path.join(dir, `gs-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    ["project: status-ecs-test", ...ecsProdTarget({ natsUrl }), "services:", "  npc-behavior: {}", ""].join("\n"),
  );
  return file;
}

const gs = (args: string[], cfg: string): Promise<CliResult> =>
  runCli([...args, "--target", "prod", "--config", cfg], { cwd: dir, env: aws!.env(), timeoutMs: 60_000 });

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "gs-status-ecs-"));
  server = await startNatsServer({ jetstream: true });
  nc = await connect({ servers: server.url });
  const quiet = createLogger({}, { write: () => undefined });
  for (let i = 0; i < 2; i++) {
    // each instance on its own connection, as in production
    const own = await connect({ servers: server.url });
    instances.push(await startService(npcProbe(), { nc: own, log: quiet }));
  }
  // 100 requests, 95 at once and 5 that work 30 ms: p50 well under 10 ms, p99 among the slow ones
  const client = new FleetClient(nc, defaultRegistry());
  const ask = (npcId: string) => client.call("npc-behavior.decide", { npcId });
  for (let i = 0; i < 100; i++) await ask(i % 20 === 19 ? "wait-30" : `n${i}`);
}, 60_000);

afterEach(async () => {
  await aws?.stop();
  aws = undefined;
  sim?.restore();
  sim = undefined;
});

afterAll(async () => {
  for (const s of instances) await s.stop(2000).catch(() => undefined);
  await nc?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function healthyEcs(): Promise<void> {
  sim = new EcsSimulator({ services: { "npc-behavior": 2 } });
  aws = await sim.serve();
}

describe("latency percentiles through the CLI", () => {
  it("gs services --json gives the last minute's p50/p99 of both instances together, per endpoint and per instance", async () => {
    const r = await runCli(["services", "-s", server.url, "--json"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const npc = (JSON.parse(r.stdout) as ServicesJson).services.find((s) => s.name === "npc-behavior")!;
    expect(npc.instances).toHaveLength(2);
    const l = npc.latency!;
    expect([l.requests, l.errors]).toEqual([100, 0]);
    expect(l.p50_ms!).toBeLessThan(10);
    // the 99th of 100 requests is one of the 5 slow ones: a 30 ms timer (Node may fire it 1 ms early), plus load
    expect(l.p99_ms!).toBeGreaterThanOrEqual(29);
    expect(l.p99_ms!).toBeLessThan(100);
    expect(l.max_ms!).toBeGreaterThanOrEqual(l.p99_ms!);
    const decide = npc.endpoints.find((e) => e.subject === "npc-behavior.decide")!;
    expect(decide.latency).toEqual(l);
    // each instance has its own share of the requests
    expect(npc.instances.reduce((n, i) => n + i.latency!.requests, 0)).toBe(100);
    const plain = await runCli(["services", "-s", server.url], { cwd: dir });
    expect(plain.stdout).toMatch(/^SERVICE\s+VERSION\s+INSTANCES\s+REQUESTS\s+ERRORS\s+AVG\s+P50\s+P99$/m);
    expect(plain.stdout).toMatch(/^npc-behavior\s+0\.1\.0\s+2\s+100\s+0\s+\S+\s+\S+\s+\d+ms$/m);
  });

  it("gs status --json gives each service's p50/p99 beside the platform's counts", async () => {
    await healthyEcs();
    const r = await gs(["status", "--json", "--check"], config(server.url));
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as StatusJson;
    expect(doc.platform).toEqual({ available: true });
    expect(doc.nats).toMatchObject({ available: true });
    const npc = doc.services[0]!;
    expect(npc).toMatchObject({ name: "npc-behavior", desired: 2, running: 2, responding: 2, state: "steady" });
    expect(npc.p50Ms!).toBeLessThan(10);
    expect(npc.p99Ms!).toBeGreaterThanOrEqual(29);
    expect(npc.p99Ms!).toBeLessThan(100);
    const plain = await gs(["status"], config(server.url));
    expect(plain.stdout).toMatch(
      /^SERVICE\s+DESIRED\s+RUNNING\s+PENDING\s+RESPONDING\s+RESTARTS\s+VERSION\s+STATE\s+P50\s+P99$/m,
    );
    expect(plain.stdout).toMatch(/^npc-behavior\s+2\s+2\s+0\s+2\s+0\s+\S+\s+steady\s+\S+\s+\d+ms$/m);
  });
});

describe("gs status degrades when NATS cannot be reached", () => {
  it("prints the platform's counts with the NATS problem in one note (exit 0; --check 5)", async () => {
    await healthyEcs();
    const cfg = config("nats://nats.gs-test.invalid:4222");
    const r = await gs(["status"], cfg);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^npc-behavior\s+2\s+2\s+0\s+n\/a\s+0\s+\S+\s+steady\s+n\/a\s+n\/a$/m);
    const notes = r.stderr.split("\n").filter((l) => l.startsWith("NATS unavailable: "));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(
      /^NATS unavailable: cannot connect to NATS at nats:\/\/nats\.gs-test\.invalid:4222: .+ — showing the platform's view only$/,
    );
    expect(r.stderr).toContain("1/1 services healthy, 2/2 instances running (target prod)");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const check = await gs(["status", "--check"], cfg);
    expect(check.code).toBe(5);
    expect(check.stdout).toMatch(/^npc-behavior\s+2\s+2\s/m);
  });

  it("--json has the platform's fields and nats: {available: false, reason}", async () => {
    await healthyEcs();
    const port = await closedPort();
    const r = await gs(["status", "--json"], config(`nats://127.0.0.1:${port}`));
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as StatusJson;
    expect(doc.platform).toEqual({ available: true });
    expect(doc.nats.available).toBe(false);
    expect(doc.nats.reason).toMatch(new RegExp(`^cannot connect to NATS at nats://127\\.0\\.0\\.1:${port}: .*refused`));
    expect(doc.services).toEqual([
      {
        name: "npc-behavior",
        desired: 2,
        running: 2,
        pending: 0,
        responding: null,
        // the platform's: the image the task definition runs
        version: expect.stringContaining("/npc-behavior@sha256:"),
        restarts: 0,
        state: "steady",
        p50Ms: null,
        p99Ms: null,
      },
    ]);
    // the ECS calls were made: the view is ECS's
    expect(aws!.calls.map((c) => c.operation)).toContain("DescribeServices");
  });

  it("--watch --json shows the platform's view each poll, with NATS unavailable and why", async () => {
    await healthyEcs();
    const live = startCli(
      [
        "status",
        "--watch",
        "--json",
        "--interval",
        "1s",
        "--target",
        "prod",
        "--config",
        config("nats://nats.gs-test.invalid:4222"),
      ],
      { cwd: dir, env: aws!.env(), timeoutMs: 60_000 },
    );
    await live.waitFor("stdout", /\n.*\n/, 30_000);
    live.signal("SIGINT");
    const { code } = await live.exit;
    const doc = JSON.parse(live.stdout().split("\n")[0]!) as StatusWatchJson;
    expect(doc.nats).toMatchObject({
      available: false,
      down: true,
      reason: expect.stringMatching(/^cannot connect to NATS/),
    });
    expect(doc.services[0]).toMatchObject({ name: "npc-behavior", desired: 2, running: 2, responding: null });
    expect(code).toBe(0);
  });

  it("--watch keeps its NATS connection: NATS down while the server is gone, the fleet back when it returns", async () => {
    await healthyEcs();
    const own = await startNatsServer({ jetstream: true });
    let again: TestNatsServer | undefined;
    let probeConn: NatsConnection | undefined;
    let probe: RunningService | undefined;
    let live: ReturnType<typeof startCli> | undefined;
    try {
      probeConn = await connect({ servers: own.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
      probe = await startService(npcProbe(), { nc: probeConn, log: createLogger({}, { write: () => undefined }) });
      const watch = startCli(
        ["status", "--watch", "--json", "--interval", "500ms", "--target", "prod", "--config", config(own.url)],
        { cwd: dir, env: aws!.env(), timeoutMs: 90_000 },
      );
      live = watch;
      const docs = (from = 0) =>
        watch
          .stdout()
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .slice(from)
          .map((l) => JSON.parse(l) as StatusWatchJson);
      const answering = (d: StatusWatchJson) => !d.nats.down && d.services[0]?.responding === 1;
      await waitFor("the probe answering", () => docs().some(answering) || undefined, 30_000, 100);
      await own.stop();
      await waitFor("NATS down", () => docs().some((d) => d.nats.down && d.nats.available) || undefined, 30_000, 100);
      const seen = docs().length;
      again = await startNatsServer({ jetstream: true, port: own.port });
      await waitFor("NATS back, the probe answering", () => docs(seen).some(answering) || undefined, 30_000, 100);
    } finally {
      live?.signal("SIGINT");
      await live?.exit;
      await probe?.stop(500).catch(() => undefined);
      await probeConn?.close().catch(() => undefined);
      await own.stop();
      await again?.stop();
    }
  });
});

describe("gs status degrades when the platform API cannot be reached", () => {
  it("prints NATS's view with the platform's problem in one note (exit 0; --check 5; --json platform.available false)", async () => {
    aws = await startAwsEndpoint(() =>
      awsError(
        "AccessDeniedException",
        "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecs:DescribeServices",
      ),
    );
    const cfg = config(server.url);
    const r = await gs(["status"], cfg);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^npc-behavior\s+n\/a\s+n\/a\s+n\/a\s+2\s+n\/a\s+0\.1\.0\s+n\/a\s+\S+\s+\d+ms$/m);
    const notes = r.stderr.split("\n").filter((l) => l.startsWith("platform unavailable: "));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/DescribeServices/);
    expect(notes[0]).toMatch(/ — showing what NATS sees only$/);
    expect(r.stderr).toContain("1 services answer on NATS (target prod)");
    expect((await gs(["status", "--check"], cfg)).code).toBe(5);
    const doc = JSON.parse((await gs(["status", "--json"], cfg)).stdout) as StatusJson;
    expect(doc.platform.available).toBe(false);
    expect(doc.platform.reason).toMatch(/DescribeServices/);
    expect(doc.nats.available).toBe(true);
    expect(doc.services[0]).toMatchObject({ name: "npc-behavior", desired: null, running: null, responding: 2 });
  });

  it("fails with both reasons when neither view can be read (exit 1; --check 5)", async () => {
    aws = await startAwsEndpoint(() =>
      awsError("AccessDeniedException", "not authorized to perform: ecs:DescribeServices"),
    );
    const cfg = config("nats://nats.gs-test.invalid:4222");
    const r = await gs(["status"], cfg);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^error: neither view of the fleet is available: platform: .+; NATS: cannot connect to NATS/,
    );
    expect((await gs(["status", "--check"], cfg)).code).toBe(5);
  });
});
