// `gs history`, `gs rollback` and `gs scale` against an ecs target, run as a user runs them (the built
// CLI, a child process) with its SDK clients sent to the ECS simulator over HTTP, and a real loopback
// nats-server where fake services answer $SRV.INFO with the versions the test says are running.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Svcm, type Service } from "@nats-io/services";
import type { Tag } from "@aws-sdk/client-ecs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { HistoryJson } from "./history.js";
import type { RollbackJson } from "./rollback.js";
import type { ScaleJson } from "./scale.js";
import type { AwsEndpoint } from "../../test/support/aws-endpoint.js";
import { EcsSimulator } from "../../test/support/ecs-simulator.js";
import { startNatsServer, type TestNatsServer } from "../../test/support/nats-server.js";
import { runCli, type CliResult } from "../../test/support/run-cli.js";

const REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const TD = (n: number) => `arn:aws:ecs:us-east-1:123456789012:task-definition/auth-nats:${n}`;
const V = (n: number) => `0.1.0+${String(n).repeat(12)}`;
const WRITES = ["RegisterTaskDefinition", "UpdateService", "TagResource"];

let dir: string;
let config: string;
let server: TestNatsServer;
let nc: NatsConnection;
let sim: EcsSimulator | undefined;
let aws: AwsEndpoint | undefined;
const fakes: Service[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "gs-release-ecs-"));
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  config = path.join(dir, "gs.yaml");
  writeFileSync(
    config,
    [
      "project: release-ecs-test",
      "targets:",
      "  prod:",
      "    platform: ecs",
      "    region: us-east-1",
      "    cluster: gaming-system-cluster",
      `    registry: ${REGISTRY}`,
      '    serviceNameFormat: "{service}-nats"',
      "    confirm: true",
      `    nats: { url: ${server.url} }`,
      "services:",
      "  auth: {}",
      "  payment: {}",
      "",
    ].join("\n"),
  );
}, 60_000);

afterEach(async () => {
  await aws?.stop();
  aws = undefined;
  sim?.restore();
  sim = undefined;
  await Promise.all(fakes.splice(0).map((f) => f.stop()));
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const image = (n: number) => `${REGISTRY}/auth@sha256:${String(n).repeat(64)}`;
const tags = (n: number, outcome?: string, extra: Tag[] = []): Tag[] => [
  { key: "gs:version", value: V(n) },
  { key: "gs:deployed-by", value: `dev${n}@laptop` },
  ...(outcome ? [{ key: "gs:outcome", value: outcome }] : []),
  ...extra,
];

/**
 * auth's family as three deploys left it: :1 the original (no gs tags), :2 v2 deployed, :3 v3 failed
 * (the service went back to :2), :4 v4 deployed and live. The ECS side is then served over HTTP.
 */
async function released(): Promise<EcsSimulator> {
  sim = new EcsSimulator({ services: { auth: 2, payment: 2 } });
  sim.addRevision("auth", { image: image(2), tags: tags(2, "deployed"), live: true, at: "2025-01-01T10:00:00Z" });
  sim.addRevision("auth", {
    image: image(3),
    tags: tags(3, "failed", [{ key: "gs:ended-at", value: "2025-01-01T11:05:00.000Z" }]),
    at: "2025-01-01T11:00:00Z",
  });
  sim.addRevision("auth", { image: image(4), tags: tags(4, "deployed"), live: true, at: "2025-01-01T12:00:00Z" });
  aws = await sim.serve();
  return sim;
}

const gs = (args: string[], env: Record<string, string> = {}): Promise<CliResult> =>
  runCli([...args, "--target", "prod", "--config", config], {
    cwd: dir,
    env: { ...aws!.env(), ...env },
    timeoutMs: 60_000,
  });

async function answer(service: string, version: string, count = 2): Promise<void> {
  for (let i = 0; i < count; i++) {
    const svc = await new Svcm(nc).add({ name: service, version, description: "fake" });
    svc.addEndpoint("ping", (_err, msg) => msg.respond());
    fakes.push(svc);
  }
}

const writes = (s: EcsSimulator) => s.calls.filter((c) => WRITES.includes(c.command));

describe("gs history --target <ecs>", () => {
  it("lists the family's revisions newest first with version, outcome, who deployed it and how long it ran", async () => {
    const s = await released();
    const r = await gs(["history", "auth", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as HistoryJson;
    expect(out).toMatchObject({ service: "auth", target: "prod", platform: "ecs" });
    expect(
      out.versions.map((v) => [v.revision, v.version, v.outcome ?? null, v.deployedBy ?? null, v.current]),
    ).toEqual([
      ["auth-nats:4", V(4), "deployed", "dev4@laptop", true],
      ["auth-nats:3", V(3), "failed", "dev3@laptop", false],
      ["auth-nats:2", V(2), "deployed", "dev2@laptop", false],
      ["auth-nats:1", image(0), null, null, false],
    ]);
    // :2 ran until :4 replaced it (the failed :3 never did); :3 until its recorded end
    expect(out.versions[2]!.ranSeconds).toBe(2 * 3600);
    expect(out.versions[1]!.ranSeconds).toBe(300);
    expect(s.calls.find((c) => c.command === "ListTaskDefinitions")!.input).toEqual({
      familyPrefix: "auth-nats",
      sort: "DESC",
      maxResults: 20,
    });
    expect(writes(s)).toEqual([]);
  });

  it("shows a table with the outcome in words, and limits the rows with -n", async () => {
    await released();
    const r = await gs(["history", "auth", "-n", "2"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^VERSION\s+REVISION\s+STARTED\s+RAN\s+OUTCOME\s+DEPLOYED BY$/m);
    expect(r.stdout).toMatch(
      new RegExp(`^${V(4).replace("+", "\\+")} \\*\\s+auth-nats:4 .*deployed\\s+dev4@laptop$`, "m"),
    );
    expect(r.stdout).toMatch(/auth-nats:3 .*failed/);
    expect(r.stdout).not.toMatch(/auth-nats:2/);
  });
});

describe("gs rollback --target <ecs>", () => {
  it("goes back to the previous good revision by UpdateService, registers nothing, tags the one it left rolled_back", async () => {
    const s = await released();
    await answer("auth", V(2));
    const r = await gs(["rollback", "auth", "--yes", "--json", "--poll-interval", "1ms"]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as RollbackJson;
    expect(out.services).toMatchObject([{ name: "auth", action: "deployed", from: V(4), to: V(2) }]);
    const w = writes(s);
    expect(w.map((c) => c.command)).not.toContain("RegisterTaskDefinition");
    expect(w.filter((c) => c.command === "UpdateService").map((c) => c.input)).toEqual([
      { cluster: "gaming-system-cluster", service: "auth-nats", taskDefinition: TD(2) },
    ]);
    const tagged = w
      .filter((c) => c.command === "TagResource")
      .map((c) => c.input as { resourceArn: string; tags: Tag[] });
    expect(tagged.map((t) => [t.resourceArn, t.tags.find((x) => x.key === "gs:outcome")?.value])).toEqual([
      [TD(2), "deployed"],
      [TD(4), "rolled_back"],
    ]);
    expect(tagged[1]!.tags.find((x) => x.key === "gs:ended-at")?.value).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
    expect(s.service("auth").taskDefinition).toBe(TD(2));
  });

  it("goes back to a named version or revision with --to", async () => {
    const s = await released();
    await answer("auth", V(2));
    const r = await gs(["rollback", "auth", "--to", "auth-nats:2", "--yes", "--poll-interval", "1ms"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^auth\s+deployed\s+\S+\s+0\.1\.0\+2{12}/m);
    expect(s.count("RegisterTaskDefinition")).toBe(0);
  });

  it("refuses an unknown version in one line listing the known ones, exit 2, nothing changed", async () => {
    const s = await released();
    const r = await gs(["rollback", "auth", "--to", "9.9.9", "--yes"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(
      /^error: auth has no version 9\.9\.9 \(known: 0\.1\.0\+3{12} \(auth-nats:3\), 0\.1\.0\+2{12} \(auth-nats:2\), .*auth-nats:1\)\) — see `gs history auth`$/,
    );
    expect(writes(s)).toEqual([]);
  });

  it("puts the service back on the revision it ran (exit 3) when the old version does not answer over NATS", async () => {
    const s = await released();
    await answer("auth", V(4)); // what ran keeps answering; the old version never does
    const r = await gs(["rollback", "auth", "--yes", "--json", "--poll-interval", "1ms", "--timeout", "1s"]);
    expect(r.code, r.stderr).toBe(3);
    const [auth] = (JSON.parse(r.stdout) as RollbackJson).services;
    expect(auth).toMatchObject({ action: "rolled_back", from: V(4), to: V(2) });
    expect(auth!.reason).toMatch(/only 0 of 2 instances answer over NATS/);
    expect(s.count("RegisterTaskDefinition")).toBe(0);
    expect(
      s.calls
        .filter((c) => c.command === "UpdateService")
        .map((c) => (c.input as { taskDefinition: string }).taskDefinition),
    ).toEqual([TD(2), TD(4)]);
    expect(s.service("auth").taskDefinition).toBe(TD(4));
  });

  it("asks for --yes on a confirm: true target without a terminal (exit 2), changing nothing", async () => {
    const s = await released();
    const r = await gs(["rollback", "auth"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/confirm: true.*pass --yes to roll back/);
    expect(writes(s)).toEqual([]);
  });
});

describe("gs scale --target <ecs>", () => {
  it("updates desiredCount and waits until the tasks run and as many instances answer over NATS", async () => {
    const s = await released();
    await answer("auth", V(4), 3);
    const r = await gs(["scale", "auth", "3", "--json", "--poll-interval", "1ms"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout) as ScaleJson).toMatchObject({
      name: "auth",
      desired: 3,
      running: 3,
      pending: 0,
      version: V(4),
      answering: 3,
      settled: true,
    });
    expect(writes(s).map((c) => c.input)).toEqual([
      { cluster: "gaming-system-cluster", service: "auth-nats", desiredCount: 3 },
    ]);
  });

  it("returns at once with --no-wait", async () => {
    const s = await released();
    const r = await gs(["scale", "auth", "5", "--no-wait", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout) as ScaleJson).toMatchObject({ name: "auth", desired: 5, settled: false });
    expect(s.count("UpdateService")).toBe(1);
  });

  it("times out (exit 4) when fewer instances answer over NATS than asked for", async () => {
    await released();
    await answer("auth", V(4), 2);
    const r = await gs(["scale", "auth", "3", "--poll-interval", "1ms", "--timeout", "2s"]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(
      /^error: auth did not reach 3 within 2s: 3 running, 0 pending, 2 answer over NATS with 0\.1\.0\+4{12} — /m,
    );
  });

  it("refuses a bad count and an unknown service (exit 2) without calling AWS", async () => {
    const s = await released();
    expect((await gs(["scale", "auth", "-1"])).code).toBe(2);
    const r = await gs(["scale", "nope", "2"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown service nope/);
    expect(s.calls).toEqual([]);
  });
});
