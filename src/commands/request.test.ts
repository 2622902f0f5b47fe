import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { createLogger } from "../../services/sdk/log.js";
import { startService, type RunningService } from "../../services/sdk/runtime.js";
import type { RequestJson } from "./request.js";
import type { ServicesJson } from "./services.js";
import type { SubjectsJson, SubjectEntry } from "./subjects.js";
import { startNatsServer, type TestNatsServer } from "../../test/support/nats-server.js";
import { npcProbe } from "../../services/test-support/npc-probe.js";
import { repoRoot, runCli } from "../../test/support/run-cli.js";

let server: TestNatsServer;
let nc: NatsConnection;
let svc: RunningService;

const lines = (s: string) => s.trim().split("\n").filter(Boolean);

describe("gs messaging commands, run as a user runs them", () => {
  beforeAll(async () => {
    if (!existsSync(path.join(repoRoot, "dist/cli.js"))) throw new Error("build first: npm run build");
    server = await startNatsServer({ jetstream: true });
    nc = await connect({ servers: server.url });
    svc = await startService(npcProbe(), { nc, log: createLogger({}, { write: () => undefined }) });
  });
  afterAll(async () => {
    await svc?.stop(1000);
    await nc?.close();
    await server?.stop();
  });

  it("gs request prints the decoded reply on one line when not a TTY, and the round trip on stderr", async () => {
    const r = await runCli(["request", "npc-behavior.decide", '{"npcId":"n1"}', "-s", server.url]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ npcId: "n1", actionId: "eat" });
    expect(lines(r.stdout)).toHaveLength(1);
    expect(r.stderr).toMatch(/^← npc-behavior\.decide [\d.]+(µs|ms) \d+B/);
  });

  it("gs request --json prints the documented result document", async () => {
    const r = await runCli([
      "request",
      "npc-behavior.decide",
      '{"npcId":"n2"}',
      "-s",
      server.url,
      "--json",
      "--count",
      "2",
    ]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as RequestJson;
    expect(doc).toMatchObject({
      subject: "npc-behavior.decide",
      request_type: "npc_behavior.v1.DecideRequest",
      response_type: "npc_behavior.v1.DecideResponse",
    });
    expect(doc.replies).toHaveLength(2);
    expect(doc.replies[0]!.rtt_ms).toBeGreaterThan(0);
  });

  it("gs request reads DATA from stdin with --data-file -", async () => {
    const r = await runCli(["request", "npc-behavior.decide", "--data-file", "-", "-s", server.url], {
      input: '{"npc_id":"from-stdin"}',
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).npcId).toBe("from-stdin");
  });

  it("gs request uses NATS_URL when no flag is given", async () => {
    const r = await runCli(["request", "npc-behavior.decide", '{"npcId":"env"}'], { env: { NATS_URL: server.url } });
    expect(r.code).toBe(0);
  });

  it("an error reply prints its code and message in one line and exits 1", async () => {
    const r = await runCli(["request", "npc-behavior.decide", '{"npcId":"missing"}', "-s", server.url]);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual(["error: npc-behavior.decide answered with error 404: no npc missing"]);
    expect(r.stdout).toBe("");
  });

  it("an error under --json is a JSON document on stdout", async () => {
    const r = await runCli(["request", "npc-behavior.decide", '{"npcId":"missing"}', "-s", server.url, "--json"]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({
      error: {
        code: "service_error",
        message: "npc-behavior.decide answered with error 404: no npc missing",
        exitCode: 1,
      },
    });
  });

  it.each([
    [
      ["npc-behavior.decide", '{"npcId": }'],
      /^error: DATA is not valid JSON at line 1, column 11: value expected near "}"/,
    ],
    [["npc-behavior.decide", '{"npcid":"x"}'], /^error: invalid npc_behavior\.v1\.DecideRequest: npcid: unknown field/],
    [["npc-behavior.decid", "{}"], /^error: unknown subject npc-behavior\.decid \(did you mean npc-behavior\.decide/],
    [["npc-behavior.decide", "--header", "oops"], /^error: bad --header "oops": expected KEY=VALUE/],
    [["npc-behavior.decide", "{}", "--timeout", "soon"], /^error: .*bad duration "soon"/],
  ])("bad input %j gets one line and exit 2, and nothing is sent", async (args, message) => {
    const r = await runCli(["request", ...args, "-s", "nats://127.0.0.1:1"]);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  it("an unreachable server is one line naming the URL and exits 1 within the timeout", async () => {
    const started = Date.now();
    const r = await runCli(["request", "npc-behavior.decide", "{}", "-s", "nats://127.0.0.1:1", "--timeout", "1s"]);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: cannot connect to NATS at nats:\/\/127\.0\.0\.1:1: connection refused/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("gs publish then gs subscribe --count decodes an event by its subject", async () => {
    const sub = runCli(["subscribe", "events.npc-behavior.>", "--count", "1", "--json", "-s", server.url]);
    await new Promise((r) => setTimeout(r, 800)); // let the subscriber start
    const pub = await runCli(["publish", "events.npc-behavior.npc-action-changed", '{"npcId":"n9"}', "-s", server.url]);
    expect(pub.code).toBe(0);
    expect(pub.stderr).toMatch(
      /^published 1 × \d+B to events\.npc-behavior\.npc-action-changed \(npc_behavior\.v1\.NpcActionChangedEvent\)/,
    );
    const r = await sub;
    expect(r.code).toBe(0);
    const msg = JSON.parse(lines(r.stdout)[0]!);
    expect(msg).toMatchObject({
      subject: "events.npc-behavior.npc-action-changed",
      type: "npc_behavior.v1.NpcActionChangedEvent",
      data: { npcId: "n9" },
    });
  });

  it("gs services lists discovered services with their stats", async () => {
    const r = await runCli(["services", "-s", server.url, "--json"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as ServicesJson;
    const npc = doc.services.find((s) => s.name === "npc-behavior")!;
    expect(npc.instances).toHaveLength(1);
    expect(npc.requests).toBeGreaterThan(0);
    const plain = await runCli(["services", "-s", server.url, "--endpoints"]);
    expect(plain.stdout).toMatch(
      /^SERVICE\s+VERSION\s+INSTANCES\s+REQUESTS\s+ERRORS\s+AVG\s+P50\s+P99\nnpc-behavior\s+0\.1\.0\s+1/,
    );
    expect(plain.stdout).toMatch(
      /npc-behavior\.decide\s+npc_behavior\.v1\.DecideRequest\s+npc_behavior\.v1\.DecideResponse/,
    );
  });

  it("gs subjects --json gives every rpc with an example request that encodes", async () => {
    const r = await runCli(["subjects", "--json"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as SubjectsJson as SubjectEntry[];
    expect(doc.length).toBeGreaterThanOrEqual(66);
    expect(doc.find((s) => s.subject === "auth.login")).toMatchObject({
      service: "auth",
      rpc: "auth.v1.AuthService.Login",
      request: "auth.v1.LoginRequest",
      response: "auth.v1.LoginResponse",
    });
    // every example is a valid request: gs request accepts it (and fails only at the connection)
    const sample = doc.filter((_, i) => i % 9 === 0);
    for (const s of sample) {
      const rr = await runCli([
        "request",
        s.subject,
        JSON.stringify(s.example),
        "-s",
        "nats://127.0.0.1:1",
        "--timeout",
        "500ms",
      ]);
      expect(rr.stderr, s.subject).toMatch(/cannot connect to NATS/);
    }
  });
});
