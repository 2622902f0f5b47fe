// `gs trace` as a user runs it (the built CLI) against real service processes on a real nats-server:
// environmental-narrative calling world-state, time-manager and weather-manager, and an orchestration
// saga whose second step fails and is compensated. Checks the span tree: who is under whom, the
// services named, and each span's time within its parent's.
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SpanNode } from "../lib/trace/span-tree.js";
import type { TraceJson } from "./trace.js";
import { startFleet, type TestFleet } from "../../test/support/fleet.js";
import { cliPath, runCli } from "../../test/support/run-cli.js";
import { hasTmux, terminalEnv, tmuxTerminal } from "../../test/support/terminal.js";
import { waitFor } from "../../test/support/local-fleet.js";

/**
 * Spans of different processes are placed by each process's own clock (performance.timeOrigin), and a
 * hop ends its span just after its reply is out: on this shared machine a child may stick out of its
 * parent by that much.
 */
const SKEW_MS = 3;

const describeReq = JSON.stringify({ regionId: "elder", locale: "en", playerId: "p1" });

function all(n: SpanNode): SpanNode[] {
  return [n, ...n.children.flatMap(all)];
}

/** Every child starts and ends within its parent, give or take the clock skew between processes. */
function expectNested(n: SpanNode): void {
  for (const c of n.children) {
    if (!c.orphan) {
      expect(c.offset_ms, `${c.kind} ${c.subject} starts within ${n.kind} ${n.subject}`).toBeGreaterThanOrEqual(
        n.offset_ms - SKEW_MS,
      );
      expect(
        c.offset_ms + c.duration_ms,
        `${c.kind} ${c.subject} ends within ${n.kind} ${n.subject}`,
      ).toBeLessThanOrEqual(n.offset_ms + n.duration_ms + SKEW_MS);
    }
    expectNested(c);
  }
}

/** The call to `subject` under `parent`, and the hop that served it. */
function call(parent: SpanNode, subject: string): { client: SpanNode; server: SpanNode } {
  const client = parent.children.find((c) => c.kind === "client" && c.subject === subject);
  expect(client, `a call to ${subject} under ${parent.subject}`).toBeDefined();
  const server = client!.children.find((c) => c.kind === "server");
  expect(server, `the hop that served ${subject}`).toBeDefined();
  return { client: client!, server: server! };
}

describe("gs trace", () => {
  let fleet: TestFleet;
  let nc: NatsConnection;
  const gs = (args: string[]) => runCli([...args, "-s", fleet.server.url, "--timeout", "15s"], { timeoutMs: 60_000 });
  const request = (subject: string, data: unknown) =>
    gs(["request", subject, JSON.stringify(data), "--json"]).then((r) => {
      expect(r.code, r.stderr).toBe(0);
    });

  beforeAll(async () => {
    fleet = await startFleet({
      services: [
        "environmental-narrative",
        "world-state",
        "time-manager",
        "weather-manager",
        "orchestration",
        "payment",
      ],
      timeoutMs: 90_000,
    });
    nc = await connect({ servers: fleet.server.url });
    await request("world-state.define-region", {
      region: {
        regionId: "elder",
        name: "Elderwood",
        biome: "forest",
        min: { x: 0, y: 0, z: 0 },
        max: { x: 9, y: 9, z: 9 },
      },
    });
    await request("payment.deposit", {
      playerId: "bob",
      amount: { currency: "GOLD", minorUnits: "1000" },
      idempotencyKey: "seed-bob",
    });
  }, 120_000);

  afterAll(async () => {
    await nc?.close();
    await fleet?.stop();
  });

  it("shows environmental-narrative.describe calling world-state, time-manager and weather-manager, with their times", async () => {
    const r = await gs(["trace", "environmental-narrative.describe", describeReq, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const t = JSON.parse(r.stdout) as TraceJson;
    expect(t).toMatchObject({ subject: "environmental-narrative.describe", status: "ok" });
    expect(t.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(t.reply).toMatchObject({ regionId: "elder", degraded: false });
    expect(t.root).toMatchObject({ kind: "client", service: "gs", parent_id: "", offset_ms: 0 });
    expect(t.root.duration_ms).toBe(t.duration_ms);
    // gs -> the narrative's hop -> a call to each source -> the source's hop
    expect(t.root.children).toHaveLength(1);
    const hop = t.root.children[0]!;
    expect(hop).toMatchObject({ kind: "server", service: "environmental-narrative", parent_id: t.root.span_id });
    for (const [subject, service] of [
      ["world-state.query-region", "world-state"],
      ["time-manager.get-time", "time-manager"],
      ["weather-manager.get-weather", "weather-manager"],
    ] as const) {
      const { client, server } = call(hop, subject);
      expect(client).toMatchObject({ service: "environmental-narrative", status: "ok" });
      expect(server).toMatchObject({ service, status: "ok", parent_id: client.span_id });
      expect(server.instance).toMatch(/\w{8,}/);
      expect(server.duration_ms).toBeGreaterThan(0);
    }
    // the weather needs the clock's game time: it is asked after time-manager answered
    const clock = call(hop, "time-manager.get-time").client;
    const weather = call(hop, "weather-manager.get-weather").client;
    expect(weather.offset_ms).toBeGreaterThanOrEqual(clock.offset_ms + clock.duration_ms - SKEW_MS);
    expect(hop.children.find((c) => c.kind === "producer")?.subject).toBe(
      "events.environmental-narrative.region-described",
    );
    expectNested(t.root);
    expect(t.span_count).toBe(all(t.root).length - 1);
    expect(all(t.root).every((s) => s.trace_id === t.trace_id && !s.orphan)).toBe(true);
  }, 60_000);

  it("shows each step of an orchestration saga and the compensation of the charge when the grant fails", async () => {
    // bob has no inventory region: the grant step fails, the charge is refunded
    const flow = {
      flowName: "purchase-item",
      params: { playerId: "bob", sku: "shield", currency: "GOLD", price: "250" },
      wait: true,
    };
    const r = await gs(["trace", "orchestration.start-flow", JSON.stringify(flow), "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const t = JSON.parse(r.stdout) as TraceJson;
    expect((t.reply as { run: { status: string } }).run.status).toBe("RUN_STATUS_COMPENSATED");
    const hop = t.root.children[0]!;
    expect(hop).toMatchObject({ kind: "server", service: "orchestration", subject: "orchestration.start-flow" });
    const calls = hop.children.filter((c) => c.kind === "client");
    expect(calls.map((c) => [c.subject, c.children[0]?.service, c.children[0]?.status])).toEqual([
      ["payment.purchase", "payment", "ok"], // step 1: charge
      ["world-state.query-region", "world-state", "error"], // step 2: grant, fails (no such region)
      ["payment.refund", "payment", "ok"], // compensation of step 1
    ]);
    expect(calls[1]!.children[0]!.error?.code).toBe(404);
    // in that order, one after the other
    for (let i = 1; i < calls.length; i++)
      expect(calls[i]!.offset_ms).toBeGreaterThanOrEqual(calls[i - 1]!.offset_ms + calls[i - 1]!.duration_ms - SKEW_MS);
    // the saga's events, and the ones payment published while serving the charge and the refund
    const published = all(t.root)
      .filter((s) => s.kind === "producer")
      .map((s) => s.subject);
    expect(published).toEqual(
      expect.arrayContaining([
        "events.orchestration.flow-started",
        "events.orchestration.flow-compensated",
        "events.payment.purchase-completed",
        "events.payment.purchase-refunded",
      ]),
    );
    expectNested(t.root);
  }, 60_000);

  it("prints the waterfall as plain lines without a terminal", async () => {
    const r = await gs(["trace", "environmental-narrative.describe", describeReq]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^trace [0-9a-f]{32} {2}environmental-narrative\.describe {2}\S+ {2}8 spans$/);
    expect(lines).toHaveLength(6);
    expect(lines[1]).toMatch(
      /^\s*\+\S+\s+\S+.*\s{2}environmental-narrative\.describe\s+environmental-narrative \w{8}\s+ok$/,
    );
    for (const service of ["world-state", "time-manager", "weather-manager"])
      expect(r.stdout).toMatch(
        new RegExp(`^\\s*\\+\\S+\\s+.*\\s{4}${service}\\.\\S+\\s+${service} \\w{8}\\s+ok$`, "m"),
      );
    expect(r.stdout).toMatch(/publish events\.environmental-narrative\.region-described/);
  }, 60_000);

  it("still shows the trace of an error reply, then exits 1 with the error in one line", async () => {
    const r = await gs(["trace", "environmental-narrative.describe", '{"regionId":"nowhere"}', "--json"]);
    expect(r.code).toBe(1);
    const t = JSON.parse(r.stdout) as TraceJson;
    expect(t).toMatchObject({ status: "error", error: { code: "service_error" } });
    expect(t.root.error?.code).toBe(404);
    const hop = t.root.children[0]!;
    expect(hop).toMatchObject({ service: "environmental-narrative", status: "error", error: { code: 404 } });
    expect(call(hop, "world-state.query-region").server).toMatchObject({ status: "error", error: { code: 404 } });

    const plain = await gs(["trace", "environmental-narrative.describe", '{"regionId":"nowhere"}']);
    expect(plain.code).toBe(1);
    expect(plain.stdout).toMatch(/^trace [0-9a-f]{32}/);
    expect(plain.stderr.trim().split("\n")).toHaveLength(1);
    expect(plain.stderr).toMatch(/environmental-narrative\.describe answered with error 404/);
  }, 60_000);

  it("refuses bad input in one line with exit 2, and says so when nobody answers (exit 1)", async () => {
    const unknown = await gs(["trace", "environmental-narative.describe", "{}"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(
      /unknown subject environmental-narative\.describe \(did you mean environmental-narrative\.describe/,
    );
    const badJson = await gs(["trace", "environmental-narrative.describe", "{regionId:1}"]);
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toMatch(/DATA is not valid JSON/);
    const badWait = await gs(["trace", "environmental-narrative.describe", "--wait", "soon"]);
    expect(badWait.code).toBe(2);
    expect(badWait.stderr).toMatch(/--wait: bad duration "soon"/);
    const nobody = await gs(["trace", "auth.login", '{"username":"ada"}']);
    expect(nobody.code).toBe(1);
    expect(nobody.stdout).toBe("");
    expect(nobody.stderr.trim().split("\n")).toHaveLength(1);
    expect(nobody.stderr).toMatch(/no service answers auth\.login/);
    for (const r of [unknown, badJson, badWait, nobody]) expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);

  it("leaves unsampled requests without a single span on the trace subjects", async () => {
    const spans: unknown[] = [];
    const sub = nc.subscribe("gs.trace.>", { callback: (_e, m) => void spans.push(m.string()) });
    await nc.flush();
    await request("environmental-narrative.describe", JSON.parse(describeReq));
    await request("orchestration.start-flow", {
      flowName: "purchase-item",
      params: { playerId: "bob", sku: "hat", currency: "GOLD", price: "5" },
      wait: true,
    });
    // a span would follow its hop's reply within milliseconds; give a loaded machine a second
    await new Promise((r) => setTimeout(r, 1000));
    await nc.flush();
    sub.unsubscribe();
    expect(spans).toEqual([]);
    // and the same subscription sees a sampled one (it can fail)
    const seen: unknown[] = [];
    const again = nc.subscribe("gs.trace.>", { callback: (_e, m) => void seen.push(m.string()) });
    await nc.flush();
    const r = await gs(["trace", "environmental-narrative.describe", describeReq, "--json"]);
    again.unsubscribe();
    expect(r.code, r.stderr).toBe(0);
    expect(seen).toHaveLength((JSON.parse(r.stdout) as TraceJson).span_count);
  }, 60_000);

  describe.runIf(hasTmux)("on a terminal", () => {
    const term = tmuxTerminal("gs-trace");
    afterAll(() => term.close());

    it("draws the waterfall with bars and keeps it on screen", async () => {
      const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(cliPath)} trace environmental-narrative.describe '${describeReq}' -s ${fleet.server.url} --timeout 15s; echo "gs exited with $?"; sleep 60`;
      term.start(cmd, { cwd: process.cwd(), env: terminalEnv(), columns: 140, rows: 30 });
      const screen = await waitFor(
        "the waterfall and the exit",
        () => {
          const s = term.screen();
          return /gs exited with \d+/.test(s) ? s : undefined;
        },
        45_000,
        200,
      );
      expect(screen).toMatch(/gs exited with 0/);
      expect(screen).toMatch(/^trace [0-9a-f]{32} {2}environmental-narrative\.describe {2}\S+ {2}8 spans$/m);
      for (const subject of ["world-state.query-region", "time-manager.get-time", "weather-manager.get-weather"])
        expect(screen).toMatch(
          new RegExp(`^ {2}${subject.replace(/\./g, "\\.")}\\s+\\S+ \\w{8}\\s+\\S+\\s+░*█+░*\\s*$`, "m"),
        );
      expect(screen).toContain("█ served  ░ caller waiting");
      // the final frame only: no "collecting" left over
      expect(screen).not.toContain("collecting spans");
    }, 60_000);
  });
});
