// What the status path (`gs status`, each poll of `gs status --watch` and `gs metrics`) costs the AWS
// account: the exact ECS and CloudWatch Logs calls of N polls of describeServices() against the ECS
// simulator, for a quiet 22-service fleet, one with a deployment in progress and one where a task
// crashed. The first poll lists every service's tasks (the first frame shows instances, restarts and
// stopped tasks); later polls list only the services DescribeServices shows moving.
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { ECSClient } from "@aws-sdk/client-ecs";
import { afterEach, describe, expect, it } from "vitest";
import type { EcsTarget } from "../../config/load.js";
import type { ServiceDescription } from "../platform.js";
import { EcsPlatform, type EcsPlatformOptions } from "./ecs-platform.js";
import { EcsSimulator, type Behavior } from "../../../../test/support/ecs-simulator.js";

const SERVICES = Object.fromEntries(Array.from({ length: 22 }, (_, i) => [`svc-${i}`, 2]));
const NEW_IMAGE = `123456789012.dkr.ecr.us-east-1.amazonaws.com/svc-3@sha256:${"b".repeat(64)}`;
let sim: EcsSimulator | undefined;

afterEach(() => {
  sim?.restore();
  sim = undefined;
});

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

/** The services whose tasks a stretch of calls listed (ListTasks serviceName -> fleet name). */
const listedServices = (s: EcsSimulator, from: number) =>
  [
    ...new Set(
      s.calls
        .slice(from)
        .filter((c) => c.command === "ListTasks")
        .map((c) => (c.input as { serviceName: string }).serviceName.replace(/-nats$/, "")),
    ),
  ].sort();

const one = (all: ServiceDescription[], name: string) => all.find((d) => d.name === name)!;

describe("ecs platform: what the status path costs per poll", () => {
  it("a quiet fleet: after the first poll, DescribeServices only (3 for 22 services)", async () => {
    const s = (sim = new EcsSimulator({ services: SERVICES }));
    const platform = platformFor(s);
    const polls: ServiceDescription[][] = [];
    for (let i = 0; i < 5; i++) polls.push(await platform.describeServices());
    // first poll: 3 DescribeServices, ListTasks RUNNING and STOPPED of each service, one DescribeTasks
    // per non-empty list (no service has stopped tasks yet), each live revision described once
    expect(s.countsByApi()).toEqual({
      DescribeServices: 5 * 3,
      ListTasks: 22 * 2,
      DescribeTasks: 22,
      DescribeTaskDefinition: 22,
    });
    // the reused lists still describe the fleet as it is
    for (const p of polls) {
      expect(p.every((d) => d.state === "steady" && d.running === 2 && d.instances.length === 2)).toBe(true);
      expect(p.map((d) => d.instances.map((x) => x.id))).toEqual(polls[0]!.map((d) => d.instances.map((x) => x.id)));
    }
  });

  it("a deployment in progress: its service's tasks are listed on every poll until it completes, and once more", async () => {
    let stuck = true;
    const behavior = (image: string): Behavior => (image === NEW_IMAGE && stuck ? "stuck" : "healthy");
    const s = (sim = new EcsSimulator({ services: SERVICES, behavior }));
    const platform = platformFor(s);
    await platform.describeServices();
    const afterFirst = s.calls.length;
    s.startDeployment("svc-3", NEW_IMAGE);

    // polls 2-4: the new tasks stay PENDING; each poll lists svc-3 (RUNNING: 2 old + 2 new tasks,
    // one DescribeTasks; STOPPED: none) and the new revision is described once
    const during: ServiceDescription[] = [];
    for (let i = 0; i < 3; i++) during.push(one(await platform.describeServices(), "svc-3"));
    expect(during.every((d) => d.state === "deploying" && d.instances.length === 4)).toBe(true);
    expect(during[2]!.instances.filter((x) => x.state === "pending")).toHaveLength(2);

    // poll 5: the new tasks run, the old ones are drained: listed again (2 running, 2 stopped);
    // poll 6: quiet again
    stuck = false;
    const done = one(await platform.describeServices(), "svc-3");
    expect(done).toMatchObject({ state: "steady", running: 2, restarts: 0 });
    expect(done.instances).toHaveLength(2);
    expect(done.stopped).toHaveLength(2);
    await platform.describeServices();

    expect(listedServices(s, afterFirst)).toEqual(["svc-3"]);
    expect(s.countsByApi()).toEqual({
      DescribeServices: 6 * 3,
      ListTasks: 22 * 2 + 3 * 2 + 2,
      DescribeTasks: 22 + 3 * 1 + 2,
      DescribeTaskDefinition: 22 + 1,
    });
  });

  it("a task that stopped: its service is listed while its counts move, its last log lines read once", async () => {
    const s = (sim = new EcsSimulator({ services: SERVICES }));
    const platform = platformFor(s);
    await platform.describeServices();
    const afterFirst = s.calls.length;
    const crashed = s.crashTask("svc-5");

    // poll 2: 1 running + 1 replacement pending, the crash stopped: both lists, GetLogEvents for the crash
    const seen = one(await platform.describeServices(), "svc-5");
    expect(seen).toMatchObject({ state: "starting", running: 1, pending: 1, restarts: 1 });
    const stopped = seen.stopped.at(-1)!;
    expect(stopped.id).toBe(crashed.taskArn!.split("/").pop());
    expect(stopped.exitCode).toBe(1);
    expect(stopped.lastLines).toEqual(["svc-5 handling requests", "FATAL: heap out of memory"]);

    // poll 3: the replacement runs: listed again, the crash's lines come from the first read; polls 4-5 quiet
    const back = one(await platform.describeServices(), "svc-5");
    expect(back).toMatchObject({ state: "steady", running: 2, pending: 0, restarts: 1 });
    expect(back.stopped.at(-1)!.lastLines).toEqual(stopped.lastLines);
    await platform.describeServices();
    await platform.describeServices();

    expect(listedServices(s, afterFirst)).toEqual(["svc-5"]);
    expect(s.countsByApi()).toEqual({
      DescribeServices: 5 * 3,
      ListTasks: 22 * 2 + 2 * 2,
      DescribeTasks: 22 + 2 * 2,
      DescribeTaskDefinition: 22,
      GetLogEvents: 1,
    });
  });

  it("lists every service again once its last listing is taskRefreshMs old", async () => {
    const s = (sim = new EcsSimulator({ services: SERVICES }));
    const platform = platformFor(s, { taskRefreshMs: 0 });
    for (let i = 0; i < 3; i++) await platform.describeServices();
    expect(s.countsByApi()).toEqual({
      DescribeServices: 3 * 3,
      ListTasks: 3 * 22 * 2,
      DescribeTasks: 3 * 22,
      DescribeTaskDefinition: 22,
    });
  });
});
