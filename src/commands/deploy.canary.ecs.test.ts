// `gs deploy --canary` against an ecs target: the built CLI with its SDK clients sent to the ECS
// simulator over HTTP, and a real loopback nats-server where every simulated task — the service's own
// and RunTask's canaries — answers as the image it runs, from the moment it runs until it stops:
// requests in the `gs` queue group, and $SRV.STATS with the SDK's latency histograms. A good image is
// promoted, a failing one and a slow one are aborted; the exact RunTask, StopTask and UpdateService
// calls are asserted, and the simulator refuses RunTask input the ECS API refuses.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Svcm, type Service } from "@nats-io/services";
import { ECSClient, RunTaskCommand, type RunTaskCommandInput, type Task } from "@aws-sdk/client-ecs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CanaryDeployJson } from "./deploy.js";
import { EndpointLatency } from "../../services/sdk/latency.js";
import { imageProject } from "../lib/build/image-project.js";
import { planImage, type ImagePlan } from "../lib/build/image.js";
import type { AwsEndpoint } from "../../test/support/aws-endpoint.js";
import { EcsSimulator, SIM_NETWORK, writeEcsProject, type SimScenario } from "../../test/support/ecs-simulator.js";
import { steadyLoad } from "../../test/support/local-fleet.js";
import { startNatsServer, type TestNatsServer } from "../../test/support/nats-server.js";
import { runCli, type CliResult } from "../../test/support/run-cli.js";

const DIGEST = `sha256:${"a".repeat(64)}`;
/** what the platform calls the running revision: it has no gs:version tag, so its image */
const OLD_VERSION = `123456789012.dkr.ecr.us-east-1.amazonaws.com/auth@sha256:${"0".repeat(64)}`;
const WRITES = ["RegisterTaskDefinition", "RunTask", "UpdateService", "StopTask", "TagResource"];

/** How the new image's tasks answer: every Nth request fails, or each one waits. */
interface Fault {
  failEvery?: number;
  delayMs?: number;
}

let dir: string;
let config: string;
let server: TestNatsServer;
let nc: NatsConnection;
let plan: ImagePlan;
let sim: EcsSimulator | undefined;
let aws: AwsEndpoint | undefined;
/** the fake instance of each running task, by task ARN */
const instances = new Map<string, Promise<Service>>();

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "gs-canary-ecs-"));
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  config = writeEcsProject(dir, {
    project: "canary-ecs-test",
    natsUrl: server.url,
    services: { auth: "{ canary: { minRequests: 60, maxP99Ratio: 1.5 } }" },
    confirm: true,
  });
  plan = await planImage("auth", imageProject({ cwd: dir, config, env: {} }).image);
}, 120_000);

afterEach(async () => {
  await aws?.stop();
  aws = undefined;
  sim?.restore();
  sim = undefined;
  await Promise.all([...instances.values()].map(async (p) => (await p).stop().catch(() => undefined)));
  instances.clear();
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** One task as a micro service instance: `auth.login` in the queue group, latency kept as the SDK keeps it. */
async function fakeInstance(version: string, fault: Fault): Promise<Service> {
  const latency = new EndpointLatency(performance.now());
  let served = 0;
  const svc = await new Svcm(nc).add({
    name: "auth",
    version,
    description: "fake",
    queue: "gs",
    statsHandler: async () => latency.snapshot(performance.now()),
  });
  svc.addEndpoint("Login", {
    subject: "auth.login",
    handler: (_err, msg) => {
      const t0 = process.hrtime.bigint();
      const took = () => Number(process.hrtime.bigint() - t0);
      if (fault.failEvery && ++served % fault.failEvery === 0) {
        msg.respondError(500, "injected fault");
        return latency.record(took(), true);
      }
      const reply = () => (msg.respond(new Uint8Array()), latency.record(took(), false));
      if (fault.delayMs) setTimeout(reply, fault.delayMs);
      else reply();
    },
  });
  return svc;
}

/** ECS with auth on the old image (2 tasks), ECR holding the new one; tasks of the new image behave as `fault` says. */
async function simulate(fault: Fault, extra: Partial<SimScenario> = {}): Promise<EcsSimulator> {
  const onTask = (task: Task, image: string, state: "RUNNING" | "STOPPED") => {
    const arn = task.taskArn!;
    if (state === "RUNNING") {
      const isNew = image.endsWith(DIGEST);
      instances.set(arn, fakeInstance(isNew ? plan.version : OLD_VERSION, isNew ? fault : {}));
    } else {
      const inst = instances.get(arn);
      instances.delete(arn);
      void inst?.then((s) => s.stop());
    }
  };
  sim = new EcsSimulator({ services: { auth: 2 }, repositories: { auth: { [plan.tag]: DIGEST } }, onTask, ...extra });
  aws = await sim.serve();
  await Promise.all(instances.values());
  return sim;
}

const gs = (args: string[]): Promise<CliResult> =>
  runCli(
    [
      "deploy",
      "auth",
      "--target",
      "prod",
      "--config",
      config,
      "--yes",
      "--json",
      "--poll-interval",
      "1ms",
      "--sample-interval",
      "1s",
      ...args,
    ],
    { cwd: dir, env: aws!.env(), timeoutMs: 90_000 },
  );

/** The canary deploy under a steady 100 req/s on auth.login. */
async function canaryUnderLoad(args: string[] = []) {
  const load = await steadyLoad(server.url, "auth.login", 100);
  await new Promise((r) => setTimeout(r, 500));
  const r = await gs(["--canary", "1", "--analysis", "6s", ...args]);
  const requests = await load.stop();
  return { r, out: JSON.parse(r.stdout) as CanaryDeployJson, requests };
}

const writes = (s: EcsSimulator) => s.calls.filter((c) => WRITES.includes(c.command));
const registeredArn = "arn:aws:ecs:us-east-1:123456789012:task-definition/auth-nats:2";

function expectRunTask(s: EcsSimulator, placement: Partial<RunTaskCommandInput>): RunTaskCommandInput {
  const run = s.calls.filter((c) => c.command === "RunTask");
  expect(run).toHaveLength(1);
  const input = run[0]!.input as RunTaskCommandInput;
  expect(input).toEqual({
    cluster: "gaming-system-cluster",
    taskDefinition: registeredArn,
    count: 1,
    startedBy: expect.stringMatching(/^gs-canary-[0-9a-f]{6}-auth$/),
    clientToken: expect.any(String),
    platformVersion: "1.4.0",
    networkConfiguration: SIM_NETWORK,
    ...placement,
  });
  expect(input.startedBy!.length).toBeLessThanOrEqual(36);
  expect(input.clientToken).toBe(input.startedBy);
  return input;
}

/** The one StopTask, of the one task RunTask started (`startedBy` names the deploy). */
function expectStopTask(s: EcsSimulator, startedBy: string, reason: RegExp): void {
  const canaryTasks = s.tasks.filter((t) => t.startedBy === startedBy);
  expect(canaryTasks).toHaveLength(1);
  const stops = s.calls.filter((c) => c.command === "StopTask").map((c) => c.input as Record<string, string>);
  expect(stops).toEqual([
    { cluster: "gaming-system-cluster", task: canaryTasks[0]!.taskArn, reason: expect.stringMatching(reason) },
  ]);
  expect(canaryTasks[0]).toMatchObject({ lastStatus: "STOPPED", stopCode: "UserInitiated" });
}

describe("gs deploy --canary --target <ecs>", () => {
  it("promotes a good image: RunTask of the new revision, then UpdateService to that same revision, then StopTask", async () => {
    const s = await simulate({});
    const { r, out, requests } = await canaryUnderLoad();
    expect(r.code, r.stderr).toBe(0);
    expect(out).toMatchObject({ target: "prod", platform: "ecs", canary: true });
    const [auth] = out.services;
    expect(auth).toMatchObject({
      name: "auth",
      action: "promoted",
      from: OLD_VERSION,
      to: plan.version,
      rule: "passed",
    });
    expect(auth!.figures!.canary.requests).toBeGreaterThanOrEqual(60);
    expect(auth!.figures!.baseline.instances).toBe(2);
    const input = expectRunTask(s, { launchType: "FARGATE" });
    expect(writes(s).map((c) => c.command)).toEqual([
      "RegisterTaskDefinition",
      "RunTask",
      "UpdateService",
      "TagResource",
      "StopTask",
    ]);
    // the revision the canary ran is the one promoted: none registered twice
    expect(s.calls.filter((c) => c.command === "UpdateService").map((c) => c.input)).toEqual([
      { cluster: "gaming-system-cluster", service: "auth-nats", taskDefinition: registeredArn },
    ]);
    expectStopTask(s, input.startedBy!, /^canary promoted/);
    expect(s.liveTaskDefinition("auth").containerDefinitions![0]!.image).toBe(`${s.registry}/auth@${DIGEST}`);
    expect(requests.failed).toBe(0);
  }, 120_000);

  it("aborts an image that fails a few percent of requests: StopTask, no UpdateService, the revision tagged canary_aborted", async () => {
    const s = await simulate({ failEvery: 20 });
    const { r, out, requests } = await canaryUnderLoad();
    expect(r.code, r.stderr).toBe(3);
    const [auth] = out.services;
    expect(auth).toMatchObject({ name: "auth", action: "aborted", verdict: "abort", rule: "error_rate" });
    expect(auth!.reason).toMatch(/^canary error rate \d+\.\d\d% \(\d+ of \d+\) is above the limit 1%/);
    const input = expectRunTask(s, { launchType: "FARGATE" });
    expect(writes(s).map((c) => c.command)).toEqual(["RegisterTaskDefinition", "RunTask", "StopTask", "TagResource"]);
    expectStopTask(s, input.startedBy!, /^canary aborted: canary error rate/);
    expect(s.calls.find((c) => c.command === "TagResource")!.input).toMatchObject({
      resourceArn: registeredArn,
      tags: expect.arrayContaining([{ key: "gs:outcome", value: "canary_aborted" }]),
    });
    expect(s.service("auth").taskDefinition).toBe("arn:aws:ecs:us-east-1:123456789012:task-definition/auth-nats:1");
    // clients saw only the canary's failures
    expect(requests.failed).toBeGreaterThan(0);
    expect(requests.failed).toBeLessThanOrEqual(auth!.figures!.canaryLifetime.errors + 3);
    expect(r.stderr).toMatch(/auth\s+verdict\s+abort: canary error rate/);
  }, 120_000);

  it("aborts an image whose p99 is several times higher; capacity providers are passed on instead of a launch type", async () => {
    const strategy = [{ capacityProvider: "FARGATE_SPOT", weight: 1, base: 0 }];
    const s = await simulate({ delayMs: 25 }, { capacityProviderStrategy: strategy });
    const { r, out, requests } = await canaryUnderLoad();
    expect(r.code, r.stderr).toBe(3);
    const [auth] = out.services;
    expect(auth).toMatchObject({ action: "aborted", rule: "p99_ratio" });
    expect(auth!.figures!.canary.p99Ms!).toBeGreaterThanOrEqual(25);
    const input = expectRunTask(s, { capacityProviderStrategy: strategy });
    expect(input.launchType).toBeUndefined();
    expect(writes(s).map((c) => c.command)).toEqual(["RegisterTaskDefinition", "RunTask", "StopTask", "TagResource"]);
    expectStopTask(s, input.startedBy!, /^canary aborted: canary p99/);
    expect(requests.failed).toBe(0);
  }, 120_000);

  it("refuses a canary as large as the service before registering or starting anything (exit 2)", async () => {
    const s = await simulate({});
    const r = await gs(["--canary", "2"]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: "canary_too_large", exitCode: 2 } });
    expect(writes(s)).toEqual([]);
  }, 60_000);
});

describe("the ECS simulator's RunTask", () => {
  it("refuses input the ECS API refuses", async () => {
    const s = await simulate({});
    const ecs = new ECSClient({ region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "y" } });
    const base: RunTaskCommandInput = {
      cluster: "gaming-system-cluster",
      taskDefinition: "auth-nats:1",
      count: 1,
      launchType: "FARGATE",
      networkConfiguration: SIM_NETWORK,
    };
    const refused = async (input: Partial<RunTaskCommandInput>) =>
      ecs.send(new RunTaskCommand({ ...base, ...input })).then(
        () => "accepted",
        (err: Error) => err.message,
      );
    expect(await refused({ count: 11 })).toMatch(/count must be between 1 and 10/);
    expect(await refused({ startedBy: "x".repeat(37) })).toMatch(/startedBy/);
    expect(await refused({ startedBy: "gs:canary" })).toMatch(/startedBy/);
    expect(await refused({ networkConfiguration: undefined })).toMatch(/Network Configuration must be provided/);
    expect(await refused({ networkConfiguration: { awsvpcConfiguration: { subnets: [] } } })).toMatch(/subnets/);
    expect(await refused({ capacityProviderStrategy: [{ capacityProvider: "FARGATE" }] })).toMatch(
      /both a launch type/,
    );
    expect(await refused({ launchType: "EC2", platformVersion: "1.4.0" })).toMatch(/only supported for the FARGATE/);
    expect(await refused({ cluster: "other" })).toMatch(/Cluster not found/);
    expect(await refused({ taskDefinition: "auth-nats:99" })).toMatch(/TaskDefinition not found/);
    expect(await refused({})).toBe("accepted");
    expect(s.tasks.filter((t) => t.group === "family:auth-nats")).toHaveLength(1);
  }, 60_000);
});
