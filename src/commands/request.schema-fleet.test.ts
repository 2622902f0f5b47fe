// Types from the running fleet: every messaging command run from an empty directory (no gs.yaml, no
// proto/) with nothing but a server URL, against real service processes that serve their descriptors.
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Svcm } from "@nats-io/services";
import { startFleet, type TestFleet } from "../../test/support/fleet.js";
import { startCli } from "../../test/support/live-process.js";
import { repoRoot, runCli } from "../../test/support/run-cli.js";
import type { DescribeJson } from "./describe.js";
import type { EventsTailJsonLine } from "./events/tail.js";
import type { RequestJson } from "./request.js";
import type { TraceJson } from "./trace.js";

let fleet: TestFleet;
let nc: NatsConnection;
let empty: string;
let cache: string;
let server: string;
const gs = (args: string[]) =>
  runCli([...args, "--server", server], { cwd: empty, env: { XDG_CACHE_HOME: cache }, timeoutMs: 60_000 });

beforeAll(async () => {
  fleet = await startFleet({ services: ["auth", "payment"] });
  server = fleet.server.url;
  nc = await connect({ servers: server });
  empty = mkdtempSync(path.join(os.tmpdir(), "gs-empty-"));
  cache = mkdtempSync(path.join(os.tmpdir(), "gs-cache-"));
}, 120_000);

afterAll(async () => {
  await nc?.close();
  await fleet?.stop();
  for (const d of [empty, cache]) if (d) rmSync(d, { recursive: true, force: true });
});

describe("types from the fleet, from an empty directory", () => {
  it("requests with the descriptors auth serves and caches them by digest", async () => {
    const r = await gs(["request", "auth.register", '{"username":"fleet-ada","password":"correct-horse-battery"}']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ username: "fleet-ada", playerId: expect.any(String) });
    // the set the build compiled for auth, under its sha256, and its converted form beside it
    const built = readFileSync(path.join(repoRoot, "services/dist/schemas/auth.binpb"));
    const digest = createHash("sha256").update(built).digest("hex");
    const dir = path.join(cache, "gs", "schemas");
    expect(readdirSync(dir).sort()).toEqual(expect.arrayContaining([`${digest}.binpb`, `${digest}.json`]));
    expect(readFileSync(path.join(dir, `${digest}.binpb`)).equals(built)).toBe(true);

    // warm: the same from the cache, decoded alike
    const again = await gs([
      "request",
      "auth.login",
      '{"username":"fleet-ada","password":"correct-horse-battery"}',
      "--json",
    ]);
    expect(again.code).toBe(0);
    const reply = (JSON.parse(again.stdout) as RequestJson).replies[0]!.reply as { session: { username: string } };
    expect(reply.session.username).toBe("fleet-ada");
  });

  it("lists the subjects the fleet serves, and describes an rpc with its comments", async () => {
    const subjects = await gs(["subjects", "--json"]);
    expect(subjects.code).toBe(0);
    const entries = JSON.parse(subjects.stdout) as { subject: string; example: Record<string, unknown> }[];
    const list = entries.map((s) => s.subject);
    // the curated examples travel in the descriptors' comments
    expect(entries.find((e) => e.subject === "auth.login")?.example).toMatchObject({ username: "ada" });
    expect(list).toEqual(expect.arrayContaining(["auth.login", "payment.get-balance"]));
    expect(list.some((s) => s.startsWith("quest-system."))).toBe(false); // not running: not listed

    const d = await gs(["describe", "auth.login"]);
    expect(d.code).toBe(0);
    expect(d.stdout).toContain("// Verifies credentials and issues a session token with a TTL.");
    expect(d.stdout).toContain("rpc Login(LoginRequest) returns (LoginResponse);");
    expect(d.stdout).toMatch(/message LoginRequest \{[\s\S]*google\.protobuf\.Duration ttl = 3;/);
    const json = JSON.parse((await gs(["describe", "auth.login", "--json"])).stdout) as DescribeJson;
    expect(json.schema.source).toBe("fleet");
    expect(json.schema.services?.[0]).toMatchObject({
      service: "auth",
      digest: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(json.descriptor).toMatchObject({ name: "Login", inputType: ".auth.v1.LoginRequest" });
    expect(json.example).toMatchObject({ username: "ada" });
  });

  it("publishes, subscribes and benchmarks with the fleet's types", async () => {
    const sub = startCli(["subscribe", "events.payment.>", "--count", "1", "--server", server], {
      cwd: empty,
      env: { XDG_CACHE_HOME: cache },
    });
    await sub.waitFor("stderr", /listening on events\.payment\.>/, 30_000);
    const pub = await gs(["publish", "events.payment.purchase-completed", '{"playerId":"p-fleet"}']);
    expect(pub.code).toBe(0);
    expect((await sub.exit).code).toBe(0);
    expect(sub.stdout()).toMatch(
      /events\.payment\.purchase-completed payment\.v1\.PurchaseCompletedEvent .*"playerId":"p-fleet"/,
    );

    const bench = await gs(["bench", "auth.validate", '{"sessionToken":"none"}', "--requests", "50", "--json"]);
    expect(bench.code).toBe(0);
    expect(JSON.parse(bench.stdout)).toMatchObject({ requests: 50, errors: 0 });
  });

  it("traces a request and reads its events with the fleet's types", async () => {
    // each with a cache of its own: the set it fetched from payment lands there
    const caches: string[] = [];
    const fresh = (args: string[]) => {
      const dir = mkdtempSync(path.join(os.tmpdir(), "gs-cache-"));
      caches.push(dir);
      return runCli([...args, "--server", server], { cwd: empty, env: { XDG_CACHE_HOME: dir }, timeoutMs: 60_000 });
    };
    const built = readFileSync(path.join(repoRoot, "services/dist/schemas/payment.binpb"));
    const digest = createHash("sha256").update(built).digest("hex");
    const fetched = (dir: string) => existsSync(path.join(dir, "gs", "schemas", `${digest}.binpb`));
    const trace = await fresh([
      "trace",
      "payment.deposit",
      '{"playerId":"p-traced","amount":{"currency":"GOLD","minorUnits":"7"},"idempotencyKey":"traced-1"}',
      "--json",
    ]);
    expect(trace.code, trace.stderr).toBe(0);
    const report = JSON.parse(trace.stdout) as TraceJson;
    expect(report.reply).toMatchObject({ transaction: { playerId: "p-traced" } });
    const spans = (n: TraceJson["root"]): string[] => [`${n.service} ${n.subject}`, ...n.children.flatMap(spans)];
    expect(spans(report.root)).toEqual(
      expect.arrayContaining(["payment payment.deposit", "payment events.payment.funds-deposited"]),
    );

    const tail = await fresh(["events", "tail", "--subject", "events.payment.funds-deposited", "--json"]);
    expect(tail.code, tail.stderr).toBe(0);
    const events = tail.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as EventsTailJsonLine);
    expect(events).toContainEqual(
      expect.objectContaining({
        type: "payment.v1.FundsDepositedEvent",
        data: expect.objectContaining({ playerId: "p-traced", amount: { currency: "GOLD", minorUnits: "7" } }),
      }),
    );
    // an event subject the fleet's types do not have: refused before reading
    const bad = await gs(["events", "tail", "--subject", "events.payment.funds-deposted"]);
    expect(bad.code).toBe(2);
    expect(caches.map(fetched)).toEqual([true, true]);
    for (const d of caches) rmSync(d, { recursive: true, force: true });
  });

  it("refuses a subject the fleet does not serve with exit 2, suggests, and sends nothing", async () => {
    const seen: string[] = [];
    const spy = nc.subscribe("auth.>", { callback: (_e, m) => void seen.push(m.subject) });
    await nc.flush();
    const r = await gs(["request", "auth.logn", "{}"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/unknown subject auth\.logn \(did you mean auth\.login/);
    const s = await gs(["request", "nosuch.login", "{}"]);
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/the fleet serves no subject nosuch\.login \(did you mean auth\.login/);
    await nc.flush();
    spy.unsubscribe();
    expect(seen).toEqual([]);
  });

  it("refuses a service that serves no schema with exit 2", async () => {
    const legacyConn = await connect({ servers: server });
    const legacy = await new Svcm(legacyConn).add({ name: "legacy", version: "1.0.0", queue: "gs" });
    legacy.addEndpoint("ping", { subject: "legacy.ping", handler: (_e, m) => m.respond("pong") });
    await legacyConn.flush();
    try {
      const r = await gs(["request", "legacy.ping", "{}"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/legacy does not serve its schema/);
      // raw bytes need no types: still allowed
      const raw = await gs(["request", "legacy.ping", "hi", "--raw"]);
      expect(raw.code).toBe(0);
      expect(raw.stdout).toBe("pong");
    } finally {
      await legacy.stop();
      await legacyConn.close();
    }
  });

  it("exits 1 when the fleet cannot be reached", async () => {
    const r = await runCli(["request", "auth.login", "{}", "--server", "nats://127.0.0.1:1"], {
      cwd: empty,
      env: { XDG_CACHE_HOME: cache },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot connect to NATS/);
  });

  it("uses local .proto files inside a project, and --schema fleet there too", async () => {
    // the repository has proto/: auto is local, so no cache is written for a fresh cache dir
    const fresh = mkdtempSync(path.join(os.tmpdir(), "gs-cache-"));
    try {
      const local = await runCli(["request", "auth.validate", '{"sessionToken":"x"}', "--server", server], {
        env: { XDG_CACHE_HOME: fresh },
      });
      expect(local.code).toBe(0);
      expect(existsSync(path.join(fresh, "gs"))).toBe(false);
      const fromFleet = await runCli(
        ["request", "auth.validate", '{"sessionToken":"x"}', "--server", server, "--schema", "fleet"],
        { env: { XDG_CACHE_HOME: fresh } },
      );
      expect(fromFleet.code).toBe(0);
      expect(fromFleet.stdout).toBe(local.stdout);
      expect(readdirSync(path.join(fresh, "gs", "schemas")).length).toBeGreaterThan(0);
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });
});
