// The ecs Platform against the ECS simulator (aws-sdk-client-mock): rollouts played forward in time,
// driven by the same deploy orchestrator `gs deploy` uses.
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { ECRClient } from "@aws-sdk/client-ecr";
import { ECSClient, type ContainerDefinition, type TaskDefinition } from "@aws-sdk/client-ecs";
import { afterEach, describe, expect, it } from "vitest";
import type { EcsTarget } from "../../config/load.js";
import { deploy, deployExitCode } from "../../deploy/deploy.js";
import type { ImageEngine } from "../../build/image-engine.js";
import type { ImagePlan } from "../../build/image.js";
import { EXIT, GsError } from "../../output/errors.js";
import { EcsPlatform, type EcsPlatformOptions } from "./ecs-platform.js";
import { cloneTaskDefinition, READ_ONLY_FIELDS, VERSION_TAG } from "./task-definition.js";
import type { Artifact, ArtifactBuilder } from "../platform.js";
import { EcrRegistry } from "../../registry/ecr-registry.js";
import { pushPlanned } from "../../registry/push.js";
import { EcsSimulator, type SimScenario } from "../../../../test/support/ecs-simulator.js";

const NEW_DIGEST = `sha256:${"a".repeat(64)}`;
let sim: EcsSimulator | undefined;

afterEach(() => {
  sim?.restore();
  sim = undefined;
});

function simulate(scenario: SimScenario): EcsSimulator {
  sim = new EcsSimulator(scenario);
  return sim;
}

function platformFor(s: EcsSimulator, extra: Partial<EcsPlatformOptions> = {}): EcsPlatform {
  const config: EcsTarget = {
    platform: "ecs",
    region: s.region,
    cluster: s.cluster,
    registry: s.registry,
    serviceNameFormat: "{service}-nats",
    confirm: true,
    nats: { url: "nats://nats.internal:4222" },
  };
  return new EcsPlatform({
    target: "prod",
    config,
    services: Object.keys(s.scenario.services),
    clients: { ecs: new ECSClient({ region: s.region }), logs: new CloudWatchLogsClient({ region: s.region }) },
    retry: { attempts: 6, baseMs: 1 },
    ...extra,
  });
}

/** A builder whose images are "already pushed": the new artifact of every service is NEW_DIGEST. */
function builderFor(s: EcsSimulator): ArtifactBuilder {
  return {
    build: async (service: string): Promise<Artifact> => ({
      version: "0.1.0+aaaaaaaaaaaa",
      hash: "aaaaaaaaaaaa",
      ref: `${s.registry}/${service}@${NEW_DIGEST}`,
    }),
  };
}

const crashesNewImage = (image: string) => (image.endsWith(NEW_DIGEST) ? "crash" : "healthy");

describe("ecs platform: rollouts", () => {
  it("deploys a healthy image and reports success only once the PRIMARY runs gs's revision", async () => {
    const s = simulate({ services: { auth: 2, payment: 2 } });
    const platform = platformFor(s);
    const result = await deploy({ platform, builder: builderFor(s), concurrency: 2, timeoutMs: 60_000, pollMs: 1 });
    expect(result.services.map((r) => r.action)).toEqual(["deployed", "deployed"]);
    expect(deployExitCode(result)).toBe(EXIT.ok);
    const [auth] = await platform.describeServices(["auth"]);
    expect(auth!.version).toBe("0.1.0+aaaaaaaaaaaa");
    expect(auth!.deployments).toHaveLength(1);
    expect(auth!.running).toBe(2);
    expect(s.liveTaskDefinition("auth").containerDefinitions![0]!.image).toBe(`${s.registry}/auth@${NEW_DIGEST}`);
    expect(s.count("UpdateService")).toBe(2);
  });

  it("exits 3, not 0, when the circuit breaker rolls a crash loop back", async () => {
    const s = simulate({
      services: { "time-manager": 2 },
      behavior: crashesNewImage,
      circuitBreaker: { enable: true, rollback: true, threshold: 2 },
    });
    const platform = platformFor(s, { crashLoopAfter: 100 });
    const result = await deploy({ platform, builder: builderFor(s), concurrency: 1, timeoutMs: 60_000, pollMs: 1 });
    const r = result.services[0]!;
    expect(r.action).toBe("rolled_back");
    expect(deployExitCode(result)).toBe(EXIT.rolledBack);
    expect(r.reason).toMatch(/circuit breaker/);
    expect(r.reason).toMatch(/exit code 1/);
    expect(r.reason).toMatch(/Cannot find module/);
    expect(r.reason).toMatch(/ECS rolled the service back/);
    // ECS already rolled back: gs does not start a second rollback
    expect(s.count("UpdateService")).toBe(1);
  });

  it("fails fast on a crash loop while failedTasks stays 0, and rolls back itself", async () => {
    const s = simulate({ services: { "language-system": 2 }, behavior: crashesNewImage, countFailedTasks: false });
    const platform = platformFor(s);
    const before = s.service("language-system").taskDefinition;
    const result = await deploy({ platform, builder: builderFor(s), concurrency: 1, timeoutMs: 600_000, pollMs: 1 });
    const r = result.services[0]!;
    expect(r.action).toBe("rolled_back");
    expect(deployExitCode(result)).toBe(EXIT.rolledBack);
    expect(r.reason).toMatch(/crash loop: \d+ tasks of the new deployment stopped \(failedTasks 0\)/);
    expect(r.reason).toMatch(/Essential container in task exited/);
    expect(r.reason).toMatch(/Cannot find module/);
    const updates = s.calls
      .filter((c) => c.command === "UpdateService")
      .map((c) => (c.input as { taskDefinition?: string }).taskDefinition);
    expect(updates).toHaveLength(2);
    expect(updates[1]).toBe(before);
  });

  it("times out a stuck deployment (exit 4) and rolls it back", async () => {
    const s = simulate({
      services: { router: 2 },
      behavior: (img) => (img.endsWith(NEW_DIGEST) ? "stuck" : "healthy"),
    });
    const platform = platformFor(s);
    const result = await deploy({ platform, builder: builderFor(s), concurrency: 1, timeoutMs: 60, pollMs: 5 });
    const r = result.services[0]!;
    expect(r.timedOut).toBe(true);
    expect(deployExitCode(result)).toBe(EXIT.timedOut);
    expect(r.reason).toMatch(/not healthy within/);
    expect(s.count("UpdateService")).toBe(2);
  });

  it("retries throttled calls and still deploys", async () => {
    const s = simulate({ services: { auth: 2 }, throttleFirst: 4 });
    const result = await deploy({
      platform: platformFor(s),
      builder: builderFor(s),
      concurrency: 1,
      timeoutMs: 60_000,
      pollMs: 1,
    });
    expect(result.services[0]!.action).toBe("deployed");
    expect(s.calls.length).toBeGreaterThan(4);
  });

  it("gives up on endless throttling with one clear error", async () => {
    const s = simulate({ services: { auth: 2 }, throttleFirst: 1000 });
    await expect(platformFor(s).describeServices()).rejects.toMatchObject({
      message:
        "AWS kept throttling ecs:DescribeServices on ECS cluster gaming-system-cluster in us-east-1 (target prod) after 6 attempts",
      code: "aws_throttled",
    });
  });
});

describe("ecs platform: errors a user can fix", () => {
  it("names a missing service and how to fix it", async () => {
    const s = simulate({ services: { auth: 2, payment: 2 }, missingServices: ["payment"] });
    const err = await platformFor(s)
      .describeServices()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GsError);
    expect((err as GsError).message).toBe(
      "ECS service payment-nats (payment) not found in cluster gaming-system-cluster (us-east-1)",
    );
    expect((err as GsError).hint).toMatch(/serviceNameFormat/);
  });

  it("names a missing cluster", async () => {
    const s = simulate({ services: { auth: 2 }, missingCluster: true });
    const err = (await platformFor(s)
      .describeServices()
      .catch((e: unknown) => e)) as GsError;
    expect(err).toBeInstanceOf(GsError);
    expect(err.opts.code).toBe("ecs_cluster_not_found");
    expect(err.hint).toMatch(/cluster and region in gs.yaml/);
  });

  it("says in one line that credentials have expired", async () => {
    const s = simulate({ services: { auth: 2 }, expiredCredentials: true });
    const err = (await platformFor(s)
      .describeServices()
      .catch((e: unknown) => e)) as GsError;
    expect(err).toBeInstanceOf(GsError);
    expect(err.message).toBe(
      "AWS credentials have expired: ecs:DescribeServices on ECS cluster gaming-system-cluster in us-east-1 (target prod)",
    );
    expect(err.message).not.toContain("\n");
    expect(err.hint).toMatch(/aws sso login/);
    expect(s.calls).toHaveLength(1);
  });

  it("rejects services gs.yaml does not know", async () => {
    const s = simulate({ services: { auth: 2 } });
    await expect(platformFor(s).describeServices(["nope"])).rejects.toThrow(/^unknown service nope$/);
  });
});

describe("ecs platform: status, scale, logs", () => {
  it("describes 22 services with DescribeServices in batches of 10", async () => {
    const services = Object.fromEntries(Array.from({ length: 22 }, (_, i) => [`svc-${i}`, 2]));
    const s = simulate({ services });
    const all = await platformFor(s).describeServices();
    expect(all).toHaveLength(22);
    expect(all.every((d) => d.state === "steady" && d.running === 2)).toBe(true);
    const batches = s.calls
      .filter((c) => c.command === "DescribeServices")
      .map((c) => (c.input as { services: string[] }).services.length);
    expect(batches.sort()).toEqual([10, 10, 2]);
  });

  it("shows why tasks stopped, with exit codes and last log lines", async () => {
    const s = simulate({ services: { "time-manager": 2 }, behavior: crashesNewImage, countFailedTasks: false });
    const platform = platformFor(s, { rollback: false });
    const dep = await platform.startDeployment("time-manager", await builderFor(s).build("time-manager"), {
      timeoutMs: 60_000,
    });
    for (let i = 0; i < 4; i++) await platform.describeDeployment("time-manager", dep.id);
    expect(s.count("UpdateService")).toBe(1); // --no-rollback
    const [d] = await platform.describeServices(["time-manager"]);
    expect(d!.state).toBe("crash-looping");
    const crash = d!.stopped.at(-1)!;
    expect(crash.exitCode).toBe(1);
    expect(crash.reason).toMatch(/Essential container in task exited; time-manager: exit code 1/);
    expect(crash.lastLines.join("\n")).toMatch(/Cannot find module/);
  });

  it("scales a service with UpdateService desiredCount", async () => {
    const s = simulate({ services: { auth: 2 } });
    const d = await platformFor(s).scale("auth", 4);
    expect(d.desired).toBe(4);
    expect(s.calls.find((c) => c.command === "UpdateService")!.input).toMatchObject({
      service: "auth-nats",
      desiredCount: 4,
      cluster: s.cluster,
    });
  });

  it("reads a service's logs from its awslogs group", async () => {
    const s = simulate({ services: { "time-manager": 2 }, behavior: crashesNewImage, countFailedTasks: false });
    const platform = platformFor(s, { rollback: false, crashLoopAfter: 100 });
    const dep = await platform.startDeployment("time-manager", await builderFor(s).build("time-manager"), {
      timeoutMs: 60_000,
    });
    await platform.describeDeployment("time-manager", dep.id);
    await platform.describeDeployment("time-manager", dep.id);
    const lines = [];
    for await (const l of platform.logs("time-manager", { since: 0 })) lines.push(l);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines[0]!.service).toBe("time-manager");
    expect(lines.map((l) => l.text).join("\n")).toMatch(/Cannot find module/);
    const filter = s.calls.find((c) => c.command === "FilterLogEvents")!.input as {
      logGroupName: string;
      logStreamNamePrefix: string;
    };
    expect(filter).toMatchObject({ logGroupName: "/ecs/time-manager-nats", logStreamNamePrefix: "ecs/time-manager/" });
  });
});

describe("ecs platform: task definition revisions", () => {
  it("registers a revision that differs from the live one only in the image, pinned by digest", async () => {
    const s = simulate({ services: { auth: 2 } });
    const live = s.liveTaskDefinition("auth");
    await platformFor(s).startDeployment("auth", await builderFor(s).build("auth"), { timeoutMs: 60_000 });
    const input = s.registered[0]!;
    const { tags, ...registered } = input;
    const expected = structuredClone(live) as Record<string, unknown>;
    for (const f of READ_ONLY_FIELDS) delete expected[f];
    (expected.containerDefinitions as ContainerDefinition[])[0]!.image = `${s.registry}/auth@${NEW_DIGEST}`;
    expect(registered).toEqual(expected);
    expect(tags).toEqual([{ key: VERSION_TAG, value: "0.1.0+aaaaaaaaaaaa" }]);
  });

  it("cloning changes only the image (property test over random task definitions)", () => {
    const rand = mulberry32(0x5eed);
    for (let run = 0; run < 300; run++) {
      const td = randomTaskDefinition(rand);
      const index = Math.floor(rand() * td.containerDefinitions!.length);
      const image = `123456789012.dkr.ecr.us-east-1.amazonaws.com/svc-${run}@sha256:${"b".repeat(64)}`;
      const before = structuredClone(td);
      const clone = cloneTaskDefinition(
        td,
        index,
        image,
        [{ key: "team", value: "x" }],
        "0.1.0+bbbbbbbbbbbb",
      ) as unknown as Record<string, unknown>;
      expect(td).toEqual(before); // the live definition is not touched
      for (const f of READ_ONLY_FIELDS) expect(clone).not.toHaveProperty(f);
      const { tags, ...rest } = clone;
      const expected = structuredClone(td) as Record<string, unknown>;
      for (const f of READ_ONLY_FIELDS) delete expected[f];
      (expected.containerDefinitions as ContainerDefinition[])[index] = { ...td.containerDefinitions![index]!, image };
      expect(rest).toEqual(expected);
      expect(tags).toEqual([
        { key: "team", value: "x" },
        { key: VERSION_TAG, value: "0.1.0+bbbbbbbbbbbb" },
      ]);
    }
  });
});

describe("ecr registry", () => {
  const plan = (s: EcsSimulator): ImagePlan => ({
    service: "auth",
    tag: "3fa2b1c9d0e1",
    version: "0.1.0+3fa2b1c9d0e1",
    bundle: "/dev/null",
    localRef: "localhost/gs/auth:3fa2b1c9d0e1",
    baseImage: `${s.registry}/node:20-slim`,
  });
  const fakeEngine = () => {
    const pushes: { local: string; remote: string; auth: unknown }[] = [];
    const engine: ImageEngine = {
      name: "buildah",
      build: async () => ({ imageId: "x" }),
      exists: async () => true,
      push: async (local, p) => (
        pushes.push({ local, remote: p.remote, auth: p.auth }),
        { digest: `sha256:${"c".repeat(64)}` }
      ),
    };
    return { engine, pushes };
  };
  const registryFor = (s: EcsSimulator) =>
    new EcrRegistry(
      s.registry,
      new ECRClient({ region: s.region }),
      { region: s.region, registryId: s.account },
      { attempts: 3, baseMs: 1 },
    );
  const pushOpts = (s: EcsSimulator, engine: ImageEngine, createRepos: boolean) => ({
    root: "/nonexistent",
    baseImage: "node:20-slim",
    bundle: { servicesDir: "/nonexistent", protoDir: "/nonexistent", outDir: "/nonexistent" },
    registry: s.registry,
    target: registryFor(s),
    engine,
    createRepos,
  });

  it("skips an image whose tag the repository already holds", async () => {
    const s = simulate({ services: {}, repositories: { auth: { "3fa2b1c9d0e1": `sha256:${"d".repeat(64)}` } } });
    const { engine, pushes } = fakeEngine();
    const img = await pushPlanned(plan(s), pushOpts(s, engine, false));
    expect(img).toMatchObject({
      pushed: false,
      digest: `sha256:${"d".repeat(64)}`,
      uri: `${s.registry}/auth@sha256:${"d".repeat(64)}`,
    });
    expect(pushes).toHaveLength(0);
    expect(s.count("GetAuthorizationToken")).toBe(0);
  });

  it("logs in with GetAuthorizationToken, pushes, and records the digest", async () => {
    const s = simulate({ services: {}, repositories: { auth: {} } });
    const { engine, pushes } = fakeEngine();
    const img = await pushPlanned(plan(s), pushOpts(s, engine, false));
    expect(img).toMatchObject({
      pushed: true,
      digest: `sha256:${"c".repeat(64)}`,
      uri: `${s.registry}/auth@sha256:${"c".repeat(64)}`,
    });
    expect(pushes).toEqual([
      {
        local: "localhost/gs/auth:3fa2b1c9d0e1",
        remote: `${s.registry}/auth:3fa2b1c9d0e1`,
        auth: { username: "AWS", password: "sim-secret-ecr-token" },
      },
    ]);
    expect(JSON.stringify(img)).not.toContain("sim-secret-ecr-token");
  });

  it("creates a missing repository with scan on push and immutable tags only with --create-repos", async () => {
    const s = simulate({ services: {} });
    const { engine } = fakeEngine();
    await expect(pushPlanned(plan(s), pushOpts(s, engine, false))).rejects.toThrow(/repository auth does not exist/);
    const img = await pushPlanned(plan(s), pushOpts(s, engine, true));
    expect(img.createdRepository).toBe(true);
    expect(s.createdRepositories).toEqual([
      {
        registryId: s.account,
        repositoryName: "auth",
        imageScanningConfiguration: { scanOnPush: true },
        imageTagMutability: "IMMUTABLE",
      },
    ]);
  });

  it("says in one line that credentials have expired, without the token", async () => {
    const s = simulate({ services: {}, expiredCredentials: true });
    const err = (await registryFor(s)
      .auth()
      .catch((e: unknown) => e)) as GsError;
    expect(err.message).toBe(
      `AWS credentials have expired: ecr:GetAuthorizationToken on ECR registry ${s.registry} in us-east-1`,
    );
  });
});

// ---- random task definitions -------------------------------------------------------------------

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomTaskDefinition(rand: () => number): TaskDefinition {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const maybe = <T>(v: T): T | undefined => (rand() < 0.5 ? v : undefined);
  const word = () => Math.floor(rand() * 1e9).toString(36);
  const container = (): ContainerDefinition =>
    JSON.parse(
      JSON.stringify({
        name: word(),
        image: `${word()}.example/${word()}:${word()}`,
        essential: maybe(rand() < 0.5),
        cpu: maybe(Math.floor(rand() * 1024)),
        memory: maybe(128 + Math.floor(rand() * 2048)),
        command: maybe([word(), word()]),
        entryPoint: maybe(["node"]),
        environment: maybe(
          Array.from({ length: Math.floor(rand() * 4) }, () => ({ name: word().toUpperCase(), value: word() })),
        ),
        secrets: maybe([{ name: "TOKEN", valueFrom: `arn:aws:secretsmanager:us-east-1:1:secret:${word()}` }]),
        portMappings: maybe([{ containerPort: Math.floor(rand() * 65535), protocol: pick(["tcp", "udp"]) }]),
        healthCheck: maybe({ command: ["CMD", "node", "/app/service.mjs", "--health"], interval: 15, retries: 3 }),
        logConfiguration: maybe({
          logDriver: "awslogs",
          options: { "awslogs-group": `/ecs/${word()}`, "awslogs-stream-prefix": "ecs" },
        }),
        dependsOn: maybe([{ containerName: word(), condition: "START" }]),
        ulimits: maybe([{ name: "nofile", softLimit: 1024, hardLimit: 4096 }]),
        dockerLabels: maybe({ team: word() }),
        readonlyRootFilesystem: maybe(rand() < 0.5),
        user: maybe("1000:1000"),
      }),
    ) as ContainerDefinition;
  return JSON.parse(
    JSON.stringify({
      taskDefinitionArn: `arn:aws:ecs:us-east-1:1:task-definition/${word()}:${Math.floor(rand() * 99)}`,
      family: word(),
      revision: Math.floor(rand() * 99) + 1,
      status: "ACTIVE",
      taskRoleArn: maybe(`arn:aws:iam::1:role/${word()}`),
      executionRoleArn: maybe(`arn:aws:iam::1:role/${word()}`),
      networkMode: pick(["awsvpc", "bridge", "host"]),
      containerDefinitions: Array.from({ length: 1 + Math.floor(rand() * 3) }, container),
      volumes: maybe([{ name: word(), host: { sourcePath: "/tmp" } }]),
      requiresAttributes: maybe([{ name: "ecs.capability.secrets.asm.environment-variables" }]),
      compatibilities: ["EC2", "FARGATE"],
      requiresCompatibilities: maybe(["FARGATE"]),
      placementConstraints: maybe([{ type: "memberOf", expression: "attribute:ecs.os-type == linux" }]),
      cpu: maybe(pick(["256", "512", "1024"])),
      memory: maybe(pick(["512", "1024", "2048"])),
      runtimePlatform: maybe({ cpuArchitecture: pick(["X86_64", "ARM64"]), operatingSystemFamily: "LINUX" }),
      ephemeralStorage: maybe({ sizeInGiB: 21 + Math.floor(rand() * 100) }),
      proxyConfiguration: maybe({ type: "APPMESH", containerName: word() }),
      pidMode: maybe(pick(["task", "host"])),
      ipcMode: maybe(pick(["task", "host", "none"])),
      enableFaultInjection: maybe(rand() < 0.5),
      registeredAt: new Date(Math.floor(rand() * 1e12)).toISOString(),
      registeredBy: maybe(`arn:aws:iam::1:user/${word()}`),
      deregisteredAt: maybe(new Date(0).toISOString()),
    }),
  ) as TaskDefinition;
}
