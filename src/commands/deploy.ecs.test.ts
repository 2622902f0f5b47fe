// `gs deploy`, `gs diff` and `gs logs` against an ecs target, run as a user runs them (the built CLI, a
// child process: argv in; stdout, stderr, exit code out) with its own SDK clients sent to the
// ECS/ECR/CloudWatch simulator over HTTP (AWS_ENDPOINT_URL), with a real loopback nats-server where fake
// services answer $SRV.INFO with the version gs deployed (or not). Images are found in the
// (simulated) registry, so nothing is built: the builder never probes for an engine.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Svcm, type Service } from "@nats-io/services";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { DeployJson, DeployPlanJson } from "./deploy.js";
import type { LogsJson } from "./logs.js";
import { imageProject } from "../lib/build/image-project.js";
import { planImage, type ImagePlan } from "../lib/build/image.js";
import { VERSION_TAG } from "../lib/platform/ecs/task-definition.js";
import type { AwsEndpoint } from "../../test/support/aws-endpoint.js";
import { EcsSimulator, writeEcsProject, type SimScenario } from "../../test/support/ecs-simulator.js";
import { startNatsServer, type TestNatsServer } from "../../test/support/nats-server.js";
import { runCli, type CliResult } from "../../test/support/run-cli.js";

const SERVICES = ["auth", "payment"] as const;
const DIGEST = { auth: `sha256:${"a".repeat(64)}`, payment: `sha256:${"b".repeat(64)}` };
const WRITES = ["RegisterTaskDefinition", "UpdateService", "CreateRepository", "GetAuthorizationToken"];

let dir: string;
let config: string;
let server: TestNatsServer;
let nc: NatsConnection;
let plans: Record<string, ImagePlan>;
let sim: EcsSimulator | undefined;
let aws: AwsEndpoint | undefined;
const fakes: Service[] = [];

beforeAll(async () => {
  // a project beside the repository: its services, protos and Dockerfile, its own gs.yaml and .gs/
  dir = mkdtempSync(path.join(os.tmpdir(), "gs-ecs-cli-"));
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  config = writeEcsProject(dir, {
    project: "ecs-cli-test",
    natsUrl: server.url,
    services: Object.fromEntries(SERVICES.map((s) => [s, "{}"])),
    confirm: true,
  });
  const project = imageProject({ cwd: dir, config, env: {} });
  plans = Object.fromEntries(
    await Promise.all(SERVICES.map(async (s) => [s, await planImage(s, project.image)] as const)),
  );
}, 120_000);

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

/** ECS with the fleet running old images, and ECR already holding every service's new tag, served over HTTP. */
async function simulate(extra: Partial<SimScenario> = {}): Promise<EcsSimulator> {
  sim = new EcsSimulator({
    services: { auth: 2, payment: 2 },
    repositories: Object.fromEntries(SERVICES.map((s) => [s, { [plans[s]!.tag]: DIGEST[s] }])),
    ...extra,
  });
  aws = await sim.serve();
  return sim;
}

/** `gs ARGS` against the simulation (`simulate` first). */
const gs = (args: string[], env: Record<string, string> = {}): Promise<CliResult> =>
  runCli(args, { cwd: dir, env: { ...aws!.env(), ...env }, timeoutMs: 60_000 });

/** `count` instances of `service` answering over NATS with `version`. */
async function answer(service: string, version: string, count = 2): Promise<void> {
  for (let i = 0; i < count; i++) {
    const svc = await new Svcm(nc).add({ name: service, version, description: "fake" });
    svc.addEndpoint("ping", (_err, msg) => msg.respond());
    fakes.push(svc);
  }
}

const crashesNew = (image: string) => (image.includes("@sha256:aaaa") ? "crash" : "healthy");
const deploy = (args: string[], env: Record<string, string> = {}) =>
  gs(["deploy", "--target", "prod", "--config", config, "--poll-interval", "1ms", ...args], env);
const writes = (s: EcsSimulator) => s.calls.filter((c) => WRITES.includes(c.command));

describe("gs deploy --target <ecs>", () => {
  it("rolls out every changed service, verifies it over NATS, exits 0 with the result document; a second deploy changes nothing", async () => {
    const s = await simulate();
    for (const svc of SERVICES) await answer(svc, plans[svc]!.version);
    const r = await deploy(["--yes", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as DeployJson;
    expect(out).toMatchObject({ target: "prod", platform: "ecs" });
    expect(out.services.map((x) => [x.name, x.action, x.to])).toEqual(
      SERVICES.map((svc) => [svc, "deployed", plans[svc]!.version]),
    );
    expect(out.images!.map((i) => [i.service, i.digest, i.pushed])).toEqual(
      SERVICES.map((svc) => [svc, DIGEST[svc], false]),
    );
    expect(s.liveTaskDefinition("auth").containerDefinitions![0]!.image).toBe(`${s.registry}/auth@${DIGEST.auth}`);
    // registered in parallel: in any order
    expect(s.registered.map((t) => t.tags?.find((x) => x.key === VERSION_TAG)?.value).sort()).toEqual(
      SERVICES.map((svc) => plans[svc]!.version).sort(),
    );
    expect(r.stderr).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ auth\s+rollout\s+2\/2 running/m);
    expect(r.stderr).toMatch(/summary\s+target prod: 2 deployed, 0 unchanged, 0 rolled back, 0 failed/);

    const before = s.calls.length;
    const again = await deploy(["--yes", "--json"]);
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as DeployJson).services.map((x) => x.action)).toEqual(["unchanged", "unchanged"]);
    expect(writes(s)).toHaveLength(4); // the first deploy's two registrations and two updates only
    expect(s.calls.length).toBeGreaterThan(before);
  });

  it("exits 3, not 0, when the circuit breaker rolls a crash loop back", async () => {
    const s = await simulate({ behavior: crashesNew, circuitBreaker: { enable: true, rollback: true, threshold: 2 } });
    const r = await deploy(["auth", "--yes", "--json"]);
    expect(r.code, r.stderr).toBe(3);
    const [auth] = (JSON.parse(r.stdout) as DeployJson).services;
    expect(auth).toMatchObject({ name: "auth", action: "rolled_back" });
    expect(auth!.reason).toMatch(/circuit breaker.*exit code 1.*Cannot find module/);
    expect(s.count("UpdateService")).toBe(1); // ECS rolled back; gs did not start a second rollback
  });

  it("exits 4 when a deployment is stuck past --timeout, and rolls it back", async () => {
    const s = await simulate({ behavior: (img) => (img.includes("@sha256:aaaa") ? "stuck" : "healthy") });
    const r = await deploy(["auth", "--yes", "--json", "--timeout", "100ms"]);
    expect(r.code, r.stderr).toBe(4);
    const [auth] = (JSON.parse(r.stdout) as DeployJson).services;
    expect(auth).toMatchObject({ action: "rolled_back", timedOut: true });
    expect(auth!.reason).toMatch(/not healthy within/);
    expect(s.count("UpdateService")).toBe(2);
  });

  it("reports failed (exit 1), not rolled back, when a crash loop fails with --no-rollback", async () => {
    const s = await simulate({ behavior: crashesNew, countFailedTasks: false });
    const r = await deploy(["auth", "--yes", "--json", "--no-rollback"]);
    expect(r.code, r.stderr).toBe(1);
    const [auth] = (JSON.parse(r.stdout) as DeployJson).services;
    expect(auth).toMatchObject({ action: "failed" });
    expect(auth!.reason).toMatch(/crash loop/);
    expect(s.count("UpdateService")).toBe(1);
  });

  it("rolls back when ECS completes but NATS does not see the new version answer", async () => {
    const s = await simulate();
    await answer("auth", "0.0.1+0ld0ld0ld0ld");
    const r = await deploy(["auth", "--yes", "--json", "--timeout", "1s"]);
    expect(r.code, r.stderr).toBe(3);
    const [auth] = (JSON.parse(r.stdout) as DeployJson).services;
    expect(auth!.reason).toMatch(/only 0 of 2 instances answer over NATS/);
    // restored, not re-created: back to the revision it ran (:1), the one registration is the new version's (:2), tagged failed
    const td = (n: number) => `arn:aws:ecs:us-east-1:123456789012:task-definition/auth-nats:${n}`;
    expect(s.count("RegisterTaskDefinition")).toBe(1);
    expect(s.calls.filter((c) => c.command === "UpdateService").map((c) => c.input)).toEqual([
      { cluster: "gaming-system-cluster", service: "auth-nats", taskDefinition: td(2) },
      { cluster: "gaming-system-cluster", service: "auth-nats", taskDefinition: td(1) },
    ]);
    const tagged = s.calls.filter((c) => c.command === "TagResource").map((c) => c.input);
    expect(tagged).toEqual([
      {
        resourceArn: td(2),
        tags: [
          { key: "gs:outcome", value: "failed" },
          { key: "gs:ended-at", value: expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/) },
        ],
      },
    ]);
    expect(s.service("auth").taskDefinition).toBe(td(1));
  });

  it("asks for --yes on a confirm: true target without a terminal (exit 2) and calls nothing", async () => {
    const s = await simulate();
    const r = await deploy([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: target "prod" asks for confirmation .* — pass --yes to deploy$/m);
    expect(s.calls).toEqual([]);
  });

  it("writes ::group:: blocks and an ::error:: annotation under GitHub Actions", async () => {
    await simulate({ behavior: crashesNew, circuitBreaker: { enable: true, rollback: true, threshold: 2 } });
    const r = await deploy(["auth", "--yes"], { GITHUB_ACTIONS: "true" });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^::group::build and push$/m);
    expect(r.stderr).toMatch(/^::group::roll out$[\s\S]*^::endgroup::$/m);
    expect(r.stderr).toMatch(/^::error title=gs deploy%3A auth rolled back::ECS deployment circuit breaker/m);
    expect(r.stdout).toMatch(/^auth\s+rolled_back/m);
  });
});

describe("gs deploy --dry-run and gs diff", () => {
  it("shows the plan and the exact calls, making only reads", async () => {
    const s = await simulate({ repositories: { auth: { [plans.auth!.tag]: DIGEST.auth }, payment: {} } });
    const r = await deploy(["--dry-run", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(new Set(s.calls.map((c) => c.command))).toEqual(
      new Set(["DescribeServices", "DescribeTaskDefinition", "DescribeImages"]),
    );
    const plan = JSON.parse(r.stdout) as DeployPlanJson;
    expect(plan).toMatchObject({
      target: "prod",
      platform: "ecs",
      dryRun: true,
      summary: { deploy: 2, unchanged: 0, imagesToPush: 1, calls: 5 },
    });
    const [auth, payment] = plan.services;
    expect(auth!.changes).toEqual([
      {
        path: "containerDefinitions[0].image",
        from: `${s.registry}/auth@sha256:${"0".repeat(64)}`,
        to: `${s.registry}/auth@${DIGEST.auth}`,
      },
      {
        path: "tags.gs:inputs",
        from: null,
        to: expect.stringMatching(/^bundle=[0-9a-f]{8} dockerfile=[0-9a-f]{8} base=/),
      },
      // who registers it, for `gs history` (user@host outside CI)
      { path: "tags.gs:deployed-by", from: null, to: expect.stringMatching(/^\S+@\S+$/) },
      { path: `tags.${VERSION_TAG}`, from: null, to: plans.auth!.version },
    ]);
    expect(auth!.calls.map((c) => c.api)).toEqual(["ecs:RegisterTaskDefinition", "ecs:UpdateService"]);
    expect(auth!.calls[1]!.input).toEqual({
      cluster: s.cluster,
      service: "auth-nats",
      taskDefinition: "auth-nats:<registered revision>",
    });
    expect(auth!.why[0]).toMatch(/does not record its inputs/);
    expect(payment!.image).toMatchObject({
      repository: "payment",
      tag: plans.payment!.tag,
      present: false,
      digest: null,
    });
    expect(payment!.calls.map((c) => c.api)).toEqual([
      "registry:push",
      "ecs:RegisterTaskDefinition",
      "ecs:UpdateService",
    ]);
  });

  it("says which inputs changed since the running revision, in plain text", async () => {
    const s = await simulate();
    for (const svc of SERVICES) await answer(svc, plans[svc]!.version);
    expect((await deploy(["--yes"])).code).toBe(0);
    // what a code change looks like to the plan: the running revision recorded other bundle and proto digests
    const { tags } = s.taskDefinitions.get(s.service("auth").taskDefinition)!;
    tags.find((t) => t.key === "gs:inputs")!.value = tags
      .find((t) => t.key === "gs:inputs")!
      .value!.replace(/bundle=\w+/, "bundle=00000000");
    tags.find((t) => t.key === VERSION_TAG)!.value = "0.1.0+000000000000";
    const r = await gs(["diff", "--target", "prod", "--config", config]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^auth {2}0\.1\.0\+000000000000 -> /m);
    expect(r.stdout).toMatch(/^ {2}why {5}bundle changed \(00000000 -> [0-9a-f]{8}\)$/m);
    expect(r.stdout).toMatch(/^payment {2}unchanged/m);
    expect(r.stdout).toMatch(
      /1 to deploy, 1 unchanged; 0 images to push; 2 write calls a deploy would make \(none made\)/,
    );
    expect(writes(s)).toHaveLength(4);
  });
});

describe("gs logs --target <ecs>", () => {
  it("reads a service's lines from CloudWatch Logs", async () => {
    await simulate({ behavior: crashesNew, countFailedTasks: false });
    expect((await deploy(["auth", "--yes", "--no-rollback"])).code).toBe(1);
    const r = await gs(["logs", "auth", "--target", "prod", "--config", config, "--since", "100000h", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as LogsJson;
    expect(out.lines.map((l) => l.text).join("\n")).toMatch(/Cannot find module/);
  });
});
