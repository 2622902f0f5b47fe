// A small ECS / ECR / CloudWatch Logs simulator behind aws-sdk-client-mock. It models what gs's deploy
// logic depends on: services with deployments (PRIMARY/ACTIVE, rolloutState, running/pending/failed
// counts), tasks that start, run or crash (stoppedReason, stopCode, exit codes, log lines), the
// deployment circuit breaker and its rollback, and the errors AWS answers with (throttling, expired
// credentials, missing cluster or service). Each DescribeServices of a service moves it one step
// forward in time, so a test's polling loop plays a rollout out.
// serve() puts the same simulation behind a local HTTP endpoint, so the built CLI (a child process,
// with its own SDK) reaches it through AWS_ENDPOINT_URL.
import { symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  CloudWatchLogsClient,
  FilterLogEventsCommand,
  GetLogEventsCommand,
  type FilteredLogEvent,
} from "@aws-sdk/client-cloudwatch-logs";
import {
  CreateRepositoryCommand,
  DescribeImagesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
} from "@aws-sdk/client-ecr";
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  TagResourceCommand,
  UpdateServiceCommand,
  type CapacityProviderStrategyItem,
  type Deployment,
  type NetworkConfiguration,
  type RegisterTaskDefinitionCommandInput,
  type RunTaskCommandInput,
  type Service,
  type Tag,
  type Task,
  type TaskDefinition,
} from "@aws-sdk/client-ecs";
import { mockClient } from "aws-sdk-client-mock";
import { awsError, awsOk, startAwsEndpoint, type AwsEndpoint, type AwsReply } from "./aws-endpoint.js";
import { repoRoot } from "./run-cli.js";

export type Behavior = "healthy" | "crash" | "stuck";

export interface SimScenario {
  cluster?: string;
  region?: string;
  account?: string;
  /** fleet name -> desired count; ECS names are `<name>-nats` */
  services: Record<string, number>;
  /** what tasks of an image do; default healthy */
  behavior?: (image: string) => Behavior;
  circuitBreaker?: { enable: boolean; rollback: boolean; threshold: number };
  /** false: crashes never reach failedTasks (aws/copilot-cli#1879) */
  countFailedTasks?: boolean;
  /** the first N AWS calls answer ThrottlingException */
  throttleFirst?: number;
  expiredCredentials?: boolean;
  missingCluster?: boolean;
  /** fleet names whose ECS service does not exist */
  missingServices?: string[];
  /** ECR: repository -> tag -> digest */
  repositories?: Record<string, Record<string, string>>;
  /** how the services place their tasks (default: FARGATE, platform 1.4.0); a strategy replaces the launch type */
  capacityProviderStrategy?: CapacityProviderStrategyItem[];
  /**
   * Called whenever a task starts running or stops (the services' own and RunTask's): a test makes a
   * task answer over NATS as the image it runs, and stop answering when it stops.
   */
  onTask?: (task: Task, image: string, state: "RUNNING" | "STOPPED") => void;
}

/** The services' network configuration (awsvpc): what RunTask must be given again for a canary. */
export const SIM_NETWORK: NetworkConfiguration = {
  awsvpcConfiguration: {
    subnets: ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
    securityGroups: ["sg-0123456789abcdef0"],
    assignPublicIp: "DISABLED",
  },
};

interface SimDeployment {
  id: string;
  taskDefinition: string;
  status: "PRIMARY" | "ACTIVE" | "INACTIVE";
  desired: number;
  failedTasks: number;
  rolloutState: "IN_PROGRESS" | "COMPLETED" | "FAILED";
  rolloutStateReason?: string;
  createdAt: Date;
  updatedAt: Date;
}

interface SimService {
  name: string;
  ecsName: string;
  desired: number;
  taskDefinition: string;
  deployments: SimDeployment[];
  events: { id: string; createdAt: Date; message: string }[];
}

const AWS_ERROR = (name: string, message: string, status = 400) =>
  Object.assign(new Error(message), { name, $fault: "client", $metadata: { httpStatusCode: status } });

export class EcsSimulator {
  readonly cluster: string;
  readonly region: string;
  readonly account: string;
  readonly ecs = mockClient(ECSClient);
  readonly ecr = mockClient(ECRClient);
  readonly logs = mockClient(CloudWatchLogsClient);
  readonly services = new Map<string, SimService>();
  readonly taskDefinitions = new Map<string, { td: TaskDefinition; tags: Tag[] }>();
  readonly tasks: Task[] = [];
  readonly logEvents = new Map<string, FilteredLogEvent[]>();
  /** every call, in order: `DescribeServices`, `UpdateService`, ... */
  readonly calls: { command: string; input: unknown }[] = [];
  readonly registered: RegisterTaskDefinitionCommandInput[] = [];
  readonly createdRepositories: unknown[] = [];
  private clock = Date.parse("2025-01-01T00:00:00Z");
  private seq = 0;
  private throttleLeft: number;

  constructor(readonly scenario: SimScenario) {
    this.cluster = scenario.cluster ?? "gaming-system-cluster";
    this.region = scenario.region ?? "us-east-1";
    this.account = scenario.account ?? "123456789012";
    this.throttleLeft = scenario.throttleFirst ?? 0;
    for (const [name, desired] of Object.entries(scenario.services)) this.addService(name, desired);
    this.wire();
  }

  get registry(): string {
    return `${this.account}.dkr.ecr.${this.region}.amazonaws.com`;
  }

  restore(): void {
    this.ecs.restore();
    this.ecr.restore();
    this.logs.restore();
  }

  /**
   * The simulation over HTTP, as AWS answers it: each request is sent to this process's mocked client
   * of its service, and the result (or the AWS error it throws) goes back in the awsJson1_1 shapes.
   */
  async serve(): Promise<AwsEndpoint> {
    // gs's clients set the same (clients.ts); these are the test's own
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    const [ecs, ecr, logs] = await Promise.all([
      import("@aws-sdk/client-ecs"),
      import("@aws-sdk/client-ecr"),
      import("@aws-sdk/client-cloudwatch-logs"),
    ]);
    const services: Record<string, { client: { send(c: unknown): Promise<unknown> }; module: object }> = {
      AmazonEC2ContainerServiceV20141113: { client: new ecs.ECSClient({ region: this.region }), module: ecs },
      AmazonEC2ContainerRegistry_V20150921: { client: new ecr.ECRClient({ region: this.region }), module: ecr },
      Logs_20140328: { client: new logs.CloudWatchLogsClient({ region: this.region }), module: logs },
    };
    return startAwsEndpoint(async (req): Promise<AwsReply> => {
      const service = services[req.service];
      const Command = (service?.module as Record<string, new (input: unknown) => unknown> | undefined)?.[
        `${req.operation}Command`
      ];
      if (!service || !Command) return awsError("UnknownOperationException", `${req.service}.${req.operation}`);
      try {
        return awsOk(toWire(await service.client.send(new Command(req.input))));
      } catch (err) {
        const e = err as Error & { $metadata?: { httpStatusCode?: number } };
        return awsError(e.name, e.message, e.$metadata?.httpStatusCode ?? 400);
      }
    });
  }

  /** The live task definition of a fleet service. */
  liveTaskDefinition(name: string): TaskDefinition {
    return this.taskDefinitions.get(this.services.get(name)!.taskDefinition)!.td;
  }

  /**
   * A revision of a service's family as an earlier deploy left it: the live one with `image` and `tags`;
   * with `live`, the service runs it now (one COMPLETED deployment, its tasks RUNNING).
   */
  addRevision(name: string, opts: { image: string; tags: Tag[]; live?: boolean; at?: string }): string {
    const svc = this.services.get(name)!;
    if (opts.at) this.clock = Date.parse(opts.at);
    const td = structuredClone(this.liveTaskDefinition(name));
    const arn = this.addTaskDefinition({
      family: td.family!,
      taskRoleArn: td.taskRoleArn,
      executionRoleArn: td.executionRoleArn,
      networkMode: td.networkMode,
      requiresCompatibilities: td.requiresCompatibilities,
      cpu: td.cpu,
      memory: td.memory,
      containerDefinitions: td.containerDefinitions!.map((c, i) => (i === 0 ? { ...c, image: opts.image } : c)),
      tags: opts.tags,
    });
    if (opts.live) {
      for (const d of svc.deployments)
        for (const t of this.tasksOf(d))
          this.stopTask(t, { reason: "Scaling activity", stopCode: "ServiceSchedulerInitiated", exitCode: 0 });
      svc.deployments = [];
      const dep = this.newDeployment(svc, arn);
      dep.rolloutState = "COMPLETED";
      for (let i = 0; i < svc.desired; i++) this.startTask(svc, dep, "RUNNING");
    }
    this.clock += 60_000;
    return arn;
  }

  service(name: string): SimService {
    return this.services.get(name)!;
  }

  count(command: string): number {
    return this.calls.filter((c) => c.command === command).length;
  }

  /** Calls per API, e.g. `{ DescribeServices: 3, ListTasks: 44 }`. */
  countsByApi(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of this.calls) out[c.command] = (out[c.command] ?? 0) + 1;
    return out;
  }

  /**
   * A deployment of `image` started outside gs (the console, a pipeline): a new revision and a new
   * PRIMARY deployment, with none of the calls it took counted as gs's. What its tasks do follows the
   * scenario's `behavior`. Returns the deployment id.
   */
  startDeployment(name: string, image: string): string {
    const arn = this.addRevision(name, { image, tags: [] });
    return this.newDeployment(this.services.get(name)!, arn).id;
  }

  /** One running task of `name` crashes (exit 1, with log lines); ECS starts a replacement on the service's next step. */
  crashTask(name: string): Task {
    const svc = this.services.get(name)!;
    const primary = svc.deployments.find((d) => d.status === "PRIMARY")!;
    const task = this.tasksOf(primary, "RUNNING")[0]!;
    this.stopTask(task, {
      reason: "Essential container in task exited",
      stopCode: "EssentialContainerExited",
      exitCode: 1,
      logLines: [`${name} handling requests`, "FATAL: heap out of memory"],
    });
    this.event(svc, `(service ${svc.ecsName}) has stopped 1 running tasks: (task ${task.taskArn!.split("/").pop()}).`);
    return task;
  }

  // ---- model -----------------------------------------------------------------------------------

  private now(): Date {
    return new Date(this.clock);
  }

  private addTaskDefinition(input: RegisterTaskDefinitionCommandInput): string {
    const family = input.family!;
    const revision = [...this.taskDefinitions.values()].filter((t) => t.td.family === family).length + 1;
    const arn = `arn:aws:ecs:${this.region}:${this.account}:task-definition/${family}:${revision}`;
    const { tags, ...rest } = input;
    const td: TaskDefinition = {
      ...structuredClone(rest),
      taskDefinitionArn: arn,
      revision,
      status: "ACTIVE",
      compatibilities: ["EC2", "FARGATE"],
      requiresAttributes: [{ name: "com.amazonaws.ecs.capability.logging-driver.awslogs" }],
      registeredAt: this.now(),
      registeredBy: `arn:aws:iam::${this.account}:role/deployer`,
    };
    this.taskDefinitions.set(arn, { td, tags: tags ?? [] });
    return arn;
  }

  private addService(name: string, desired: number): void {
    const ecsName = `${name}-nats`;
    const arn = this.addTaskDefinition({
      family: ecsName,
      taskRoleArn: `arn:aws:iam::${this.account}:role/${name}-task`,
      executionRoleArn: `arn:aws:iam::${this.account}:role/ecsTaskExecutionRole`,
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
      containerDefinitions: [
        {
          name,
          image: `${this.registry}/${name}@sha256:${"0".repeat(64)}`,
          essential: true,
          environment: [{ name: "NATS_URL", value: "nats://nats.internal:4222" }],
          secrets: [
            { name: "NATS_CREDS", valueFrom: "arn:aws:secretsmanager:us-east-1:123456789012:secret:gs/nats-creds" },
          ],
          logConfiguration: {
            logDriver: "awslogs",
            options: {
              "awslogs-group": `/ecs/${ecsName}`,
              "awslogs-region": this.region,
              "awslogs-stream-prefix": "ecs",
            },
          },
          healthCheck: {
            command: ["CMD", "node", "/app/service.mjs", "--health"],
            interval: 15,
            timeout: 5,
            retries: 3,
            startPeriod: 20,
          },
        },
      ],
    });
    const svc: SimService = { name, ecsName, desired, taskDefinition: arn, deployments: [], events: [] };
    this.services.set(name, svc);
    const dep = this.newDeployment(svc, arn);
    dep.rolloutState = "COMPLETED";
    for (let i = 0; i < desired; i++) this.startTask(svc, dep, "RUNNING");
  }

  private newDeployment(svc: SimService, taskDefinition: string): SimDeployment {
    for (const d of svc.deployments) if (d.status === "PRIMARY") d.status = "ACTIVE";
    const dep: SimDeployment = {
      id: `ecs-svc/${String(++this.seq).padStart(19, "0")}`,
      taskDefinition,
      status: "PRIMARY",
      desired: svc.desired,
      failedTasks: 0,
      rolloutState: "IN_PROGRESS",
      createdAt: this.now(),
      updatedAt: this.now(),
    };
    svc.deployments.unshift(dep);
    svc.taskDefinition = taskDefinition;
    this.event(svc, `(service ${svc.ecsName}) has started 1 tasks: (deployment ${dep.id}).`);
    return dep;
  }

  private event(svc: SimService, message: string): void {
    svc.events.unshift({ id: `ev-${++this.seq}`, createdAt: this.now(), message });
  }

  private image(taskDefinition: string): string {
    return this.taskDefinitions.get(taskDefinition)!.td.containerDefinitions![0]!.image!;
  }

  private startTask(svc: SimService, dep: SimDeployment, status: "PENDING" | "RUNNING"): Task {
    const id = (++this.seq).toString(16).padStart(32, "a");
    const task: Task = {
      taskArn: `arn:aws:ecs:${this.region}:${this.account}:task/${this.cluster}/${id}`,
      taskDefinitionArn: dep.taskDefinition,
      group: `service:${svc.ecsName}`,
      startedBy: dep.id,
      lastStatus: status,
      desiredStatus: "RUNNING",
      createdAt: this.now(),
      ...(status === "RUNNING" ? { startedAt: this.now() } : {}),
      containers: [{ name: svc.name }],
    };
    this.tasks.push(task);
    if (status === "RUNNING") this.changed(task);
    return task;
  }

  private changed(task: Task): void {
    this.scenario.onTask?.(task, this.image(task.taskDefinitionArn!), task.lastStatus as "RUNNING" | "STOPPED");
  }

  private stopTask(
    task: Task,
    how: { reason: string; stopCode: Task["stopCode"]; exitCode?: number; logLines?: string[] },
  ): void {
    const wasRunning = task.lastStatus === "RUNNING";
    task.lastStatus = "STOPPED";
    task.desiredStatus = "STOPPED";
    task.stoppedReason = how.reason;
    task.stopCode = how.stopCode;
    task.stoppedAt = this.now();
    if (how.exitCode !== undefined)
      task.containers = task.containers!.map((c) => ({ ...c, exitCode: how.exitCode, lastStatus: "STOPPED" }));
    if (how.logLines) {
      const container = task.containers![0]!.name!;
      const stream = `ecs/${container}/${task.taskArn!.split("/").pop()}`;
      this.logEvents.set(
        stream,
        how.logLines.map((message, i) => ({
          logStreamName: stream,
          timestamp: this.clock - 1000 + i,
          message,
          eventId: `${stream}-${i}`,
        })),
      );
    }
    if (wasRunning) this.changed(task);
  }

  private tasksOf(dep: SimDeployment, status?: string): Task[] {
    return this.tasks.filter(
      (t) => t.startedBy === dep.id && t.lastStatus !== "STOPPED" && (!status || t.lastStatus === status),
    );
  }

  /** One step of time for a service: tasks start, run, crash; deployments complete, fail, roll back. */
  private tick(svc: SimService): void {
    this.clock += 5000;
    const primary = svc.deployments.find((d) => d.status === "PRIMARY")!;
    const behavior = this.scenario.behavior?.(this.image(primary.taskDefinition)) ?? "healthy";
    if (primary.rolloutState === "FAILED") return;
    for (const t of this.tasksOf(primary, "PENDING")) {
      if (behavior === "healthy") {
        Object.assign(t, { lastStatus: "RUNNING", startedAt: this.now() });
        this.changed(t);
      }
      if (behavior === "crash") {
        this.stopTask(t, {
          reason: "Essential container in task exited",
          stopCode: "EssentialContainerExited",
          exitCode: 1,
          logLines: [
            "starting time-manager",
            "Error [ERR_MODULE_NOT_FOUND]: Cannot find module '/app/catalog.js'",
            "    at finalizeResolution (node:internal/modules/esm/resolve:265:11)",
          ],
        });
        if (this.scenario.countFailedTasks !== false) primary.failedTasks++;
        this.event(svc, `(service ${svc.ecsName}) has stopped 1 running tasks: (task ${t.taskArn!.split("/").pop()}).`);
      }
    }
    const cb = this.scenario.circuitBreaker;
    if (cb?.enable && primary.failedTasks >= cb.threshold) {
      primary.rolloutState = "FAILED";
      primary.rolloutStateReason = "ECS deployment circuit breaker: tasks failed to start.";
      this.event(svc, `(service ${svc.ecsName}) (deployment ${primary.id}) deployment failed: tasks failed to start.`);
      if (cb.rollback) {
        const previous = svc.deployments.find((d) => d.status === "ACTIVE");
        if (previous) {
          const back = this.newDeployment(svc, previous.taskDefinition);
          this.event(svc, `(service ${svc.ecsName}) rolling back to deployment ${back.id}.`);
        }
      }
      return;
    }
    const live = this.tasksOf(primary);
    for (let i = live.length; i < primary.desired; i++) this.startTask(svc, primary, "PENDING");
    // scaled in: ECS stops the surplus tasks, pending ones first
    const surplus = [...this.tasksOf(primary, "PENDING"), ...this.tasksOf(primary, "RUNNING")].slice(
      0,
      Math.max(0, live.length - primary.desired),
    );
    for (const t of surplus)
      this.stopTask(t, {
        reason: "Scaling activity initiated by (service desired count)",
        stopCode: "ServiceSchedulerInitiated",
        exitCode: 0,
      });
    if (
      behavior === "healthy" &&
      this.tasksOf(primary, "RUNNING").length >= primary.desired &&
      primary.rolloutState === "IN_PROGRESS"
    ) {
      for (const old of svc.deployments.filter((d) => d !== primary)) {
        for (const t of this.tasksOf(old))
          this.stopTask(t, {
            reason: `Scaling activity initiated by (deployment ${primary.id})`,
            stopCode: "ServiceSchedulerInitiated",
            exitCode: 0,
          });
        old.status = "INACTIVE";
      }
      svc.deployments = svc.deployments.filter((d) => d.status !== "INACTIVE");
      primary.rolloutState = "COMPLETED";
      this.event(svc, `(service ${svc.ecsName}) has reached a steady state.`);
    }
    primary.updatedAt = this.now();
  }

  private toService(svc: SimService): Service {
    const deployments: Deployment[] = svc.deployments.map((d) => ({
      id: d.id,
      status: d.status,
      taskDefinition: d.taskDefinition,
      desiredCount: d.desired,
      runningCount: this.tasksOf(d, "RUNNING").length,
      pendingCount: this.tasksOf(d, "PENDING").length,
      failedTasks: d.failedTasks,
      rolloutState: d.rolloutState,
      ...(d.rolloutStateReason ? { rolloutStateReason: d.rolloutStateReason } : {}),
      createdAt: d.createdAt,
      updatedAt: d.updatedAt,
    }));
    return {
      serviceName: svc.ecsName,
      serviceArn: `arn:aws:ecs:${this.region}:${this.account}:service/${this.cluster}/${svc.ecsName}`,
      clusterArn: `arn:aws:ecs:${this.region}:${this.account}:cluster/${this.cluster}`,
      status: "ACTIVE",
      desiredCount: svc.desired,
      runningCount: deployments.reduce((n, d) => n + (d.runningCount ?? 0), 0),
      pendingCount: deployments.reduce((n, d) => n + (d.pendingCount ?? 0), 0),
      taskDefinition: svc.taskDefinition,
      ...(this.scenario.capacityProviderStrategy
        ? { capacityProviderStrategy: this.scenario.capacityProviderStrategy }
        : { launchType: "FARGATE" as const }),
      platformVersion: "1.4.0",
      networkConfiguration: structuredClone(SIM_NETWORK),
      deployments,
      events: svc.events,
      deploymentConfiguration: {
        deploymentCircuitBreaker: {
          enable: this.scenario.circuitBreaker?.enable ?? false,
          rollback: this.scenario.circuitBreaker?.rollback ?? false,
        },
        minimumHealthyPercent: 100,
        maximumPercent: 200,
      },
    };
  }

  private byEcsName(name: string): SimService | undefined {
    return [...this.services.values()].find(
      (s) => s.ecsName === name && !this.scenario.missingServices?.includes(s.name),
    );
  }

  /** `family:revision`, a full ARN, or a family alone (its latest ACTIVE revision) -> the ARN */
  private taskDefinitionArn(ref: string | undefined): string {
    if (!ref) return "";
    if (ref.startsWith("arn:")) return ref;
    const [family, revision] = ref.split(":");
    const all = [...this.taskDefinitions.values()].filter((t) => t.td.family === family);
    const pick = revision ? all.find((t) => String(t.td.revision) === revision) : all.at(-1);
    return pick?.td.taskDefinitionArn ?? "";
  }

  /** RunTask's input as the ECS API checks it (InvalidParameterException / ClientException otherwise). */
  private checkRunTask(input: RunTaskCommandInput, td: TaskDefinition): void {
    const bad = (message: string) => AWS_ERROR("InvalidParameterException", message);
    const count = input.count ?? 1;
    if (!Number.isInteger(count) || count < 1 || count > 10) throw bad("count must be between 1 and 10.");
    if (input.startedBy !== undefined && !/^[A-Za-z0-9_/-]{1,36}$/.test(input.startedBy))
      throw bad("startedBy may contain up to 36 letters, numbers, hyphens, forward slashes and underscores.");
    if (input.group !== undefined && input.group.length > 255) throw bad("group can be at most 255 characters.");
    if (input.launchType && input.capacityProviderStrategy?.length)
      throw bad("Specifying both a launch type and capacity provider strategy is not supported.");
    const fargate =
      input.launchType === "FARGATE" ||
      (input.capacityProviderStrategy ?? []).some((c) => c.capacityProvider?.startsWith("FARGATE"));
    if (input.platformVersion && !fargate) throw bad("Platform version is only supported for the FARGATE launch type.");
    if (input.platformVersion && !/^(LATEST|\d+\.\d+\.\d+)$/.test(input.platformVersion))
      throw bad(`Platform version ${input.platformVersion} does not exist.`);
    if (td.networkMode === "awsvpc") {
      const vpc = input.networkConfiguration?.awsvpcConfiguration;
      if (!vpc) throw bad("Network Configuration must be provided when networkMode 'awsvpc' is specified.");
      if (!vpc.subnets?.length || vpc.subnets.length > 16) throw bad("subnets can have 1 to 16 items.");
      if ((vpc.securityGroups?.length ?? 0) > 5) throw bad("securityGroups can have at most 5 items.");
      if (vpc.assignPublicIp && !["ENABLED", "DISABLED"].includes(vpc.assignPublicIp))
        throw bad("assignPublicIp must be ENABLED or DISABLED.");
      if (!fargate && vpc.assignPublicIp === "ENABLED")
        throw bad("Assign public IP is not supported for this launch type.");
    } else if (input.networkConfiguration) {
      throw bad("Network Configuration is not valid for the given networkMode of this task definition.");
    }
    if (td.requiresCompatibilities?.includes("FARGATE") && !fargate && !td.requiresCompatibilities.includes("EC2"))
      throw AWS_ERROR("ClientException", "Task definition does not support launch_type EC2.");
  }

  /** Tasks RunTask started, one step of time at each look: provisioning, then running (or crashing, by image). */
  private advanceStandalone(arns: string[]): void {
    for (const t of this.tasks) {
      if (!arns.includes(t.taskArn!) || t.group?.startsWith("service:") || t.lastStatus === "STOPPED") continue;
      if (t.lastStatus === "PROVISIONING") {
        t.lastStatus = "PENDING";
        continue;
      }
      if (t.lastStatus !== "PENDING") continue;
      const behavior = this.scenario.behavior?.(this.image(t.taskDefinitionArn!)) ?? "healthy";
      if (behavior === "healthy") {
        Object.assign(t, { lastStatus: "RUNNING", startedAt: this.now() });
        this.changed(t);
      } else if (behavior === "crash")
        this.stopTask(t, {
          reason: "Essential container in task exited",
          stopCode: "EssentialContainerExited",
          exitCode: 1,
          logLines: ["Error: injected crash"],
        });
    }
  }

  // ---- the mocked API --------------------------------------------------------------------------

  /** Errors that come before any answer: credentials, throttling, a missing cluster. */
  private gate(command: string, input: unknown, cluster?: string): void {
    this.calls.push({ command, input });
    if (this.scenario.expiredCredentials)
      throw AWS_ERROR("ExpiredTokenException", "The security token included in the request is expired");
    if (this.throttleLeft > 0) {
      this.throttleLeft--;
      throw AWS_ERROR("ThrottlingException", "Rate exceeded");
    }
    if (cluster !== undefined && (this.scenario.missingCluster || cluster !== this.cluster))
      throw AWS_ERROR("ClusterNotFoundException", "Cluster not found.");
  }

  private wire(): void {
    this.ecs.on(DescribeServicesCommand).callsFake(async (input) => {
      this.gate("DescribeServices", input, input.cluster);
      if ((input.services ?? []).length > 10)
        throw AWS_ERROR("InvalidParameterException", "services can have at most 10 items");
      const services: Service[] = [];
      const failures: { arn: string; reason: string }[] = [];
      for (const name of input.services ?? []) {
        const svc = this.byEcsName(name);
        if (!svc) {
          failures.push({
            arn: `arn:aws:ecs:${this.region}:${this.account}:service/${this.cluster}/${name}`,
            reason: "MISSING",
          });
          continue;
        }
        this.tick(svc);
        services.push(this.toService(svc));
      }
      return { services, failures };
    });
    this.ecs.on(DescribeTaskDefinitionCommand).callsFake(async (input) => {
      this.gate("DescribeTaskDefinition", input);
      const found = this.taskDefinitions.get(input.taskDefinition!);
      if (!found) throw AWS_ERROR("ClientException", "Unable to describe task definition.");
      return {
        taskDefinition: structuredClone(found.td),
        ...(input.include?.includes("TAGS") ? { tags: structuredClone(found.tags) } : {}),
      };
    });
    this.ecs.on(RegisterTaskDefinitionCommand).callsFake(async (input) => {
      this.gate("RegisterTaskDefinition", input);
      this.registered.push(structuredClone(input));
      const arn = this.addTaskDefinition(input);
      return { taskDefinition: structuredClone(this.taskDefinitions.get(arn)!.td), tags: input.tags };
    });
    this.ecs.on(UpdateServiceCommand).callsFake(async (input) => {
      this.gate("UpdateService", input, input.cluster);
      const svc = this.byEcsName(input.service!);
      if (!svc) throw AWS_ERROR("ServiceNotFoundException", "Service not found.");
      if (input.desiredCount !== undefined) {
        svc.desired = input.desiredCount;
        for (const d of svc.deployments) if (d.status === "PRIMARY") d.desired = input.desiredCount;
      }
      if (input.taskDefinition) {
        if (!this.taskDefinitions.has(input.taskDefinition))
          throw AWS_ERROR("ClientException", "TaskDefinition not found.");
        this.newDeployment(svc, input.taskDefinition);
      }
      return { service: this.toService(svc) };
    });
    this.ecs.on(ListTaskDefinitionsCommand).callsFake(async (input) => {
      this.gate("ListTaskDefinitions", input);
      if (input.maxResults !== undefined && (input.maxResults < 1 || input.maxResults > 100))
        throw AWS_ERROR("InvalidParameterException", "maxResults must be between 1 and 100");
      const arns = [...this.taskDefinitions.values()]
        .filter((t) => !input.familyPrefix || t.td.family === input.familyPrefix)
        .sort((a, b) => (a.td.revision ?? 0) - (b.td.revision ?? 0))
        .map((t) => t.td.taskDefinitionArn!);
      if (input.sort === "DESC") arns.reverse();
      return { taskDefinitionArns: arns.slice(0, input.maxResults ?? 100) };
    });
    this.ecs.on(TagResourceCommand).callsFake(async (input) => {
      this.gate("TagResource", input);
      const found = this.taskDefinitions.get(input.resourceArn!);
      if (!found) throw AWS_ERROR("InvalidParameterException", "The specified resource is not valid.");
      if (!input.tags?.length || input.tags.length > 50)
        throw AWS_ERROR("InvalidParameterException", "tags must have 1 to 50 items");
      for (const tag of input.tags) {
        if (!/^[\p{L}\p{N} +\-=._:/@]{0,256}$/u.test(tag.value ?? "") || !tag.key || tag.key.length > 128)
          throw AWS_ERROR("InvalidParameterException", `invalid tag ${tag.key}`);
        found.tags = [...found.tags.filter((t) => t.key !== tag.key), tag];
      }
      return {};
    });
    this.ecs.on(RunTaskCommand).callsFake(async (input) => {
      this.gate("RunTask", input, input.cluster ?? "default");
      const found = this.taskDefinitions.get(this.taskDefinitionArn(input.taskDefinition));
      if (!found) throw AWS_ERROR("ClientException", "TaskDefinition not found.");
      this.checkRunTask(input, found.td);
      const tasks: Task[] = [];
      for (let i = 0; i < (input.count ?? 1); i++) {
        const id = (++this.seq).toString(16).padStart(32, "c");
        const task: Task = {
          taskArn: `arn:aws:ecs:${this.region}:${this.account}:task/${this.cluster}/${id}`,
          taskDefinitionArn: found.td.taskDefinitionArn,
          group: input.group ?? `family:${found.td.family}`,
          ...(input.startedBy ? { startedBy: input.startedBy } : {}),
          launchType: input.launchType ?? (input.capacityProviderStrategy ? undefined : "EC2"),
          ...(input.capacityProviderStrategy
            ? { capacityProviderName: input.capacityProviderStrategy[0]!.capacityProvider }
            : {}),
          ...(input.platformVersion ? { platformVersion: input.platformVersion } : {}),
          lastStatus: "PROVISIONING",
          desiredStatus: "RUNNING",
          createdAt: this.now(),
          containers: [{ name: found.td.containerDefinitions![0]!.name }],
        };
        this.tasks.push(task);
        tasks.push(structuredClone(task));
      }
      return { tasks, failures: [] };
    });
    this.ecs.on(StopTaskCommand).callsFake(async (input) => {
      this.gate("StopTask", input, input.cluster ?? "default");
      if ((input.reason ?? "").length > 255)
        throw AWS_ERROR("InvalidParameterException", "reason can be at most 255 characters");
      const task = this.tasks.find((t) => t.taskArn === input.task || t.taskArn?.endsWith(`/${input.task}`));
      if (!task) throw AWS_ERROR("InvalidParameterException", "The referenced task was not found.");
      if (task.lastStatus !== "STOPPED")
        this.stopTask(task, { reason: input.reason ?? "Task stopped by user", stopCode: "UserInitiated", exitCode: 0 });
      return { task: structuredClone(task) };
    });
    this.ecs.on(ListTasksCommand).callsFake(async (input) => {
      this.gate("ListTasks", input, input.cluster);
      const svc = input.serviceName ? this.byEcsName(input.serviceName) : undefined;
      if (input.serviceName && !svc) throw AWS_ERROR("ServiceNotFoundException", "Service not found.");
      const want = input.desiredStatus ?? "RUNNING";
      const arns = this.tasks
        .filter(
          (t) =>
            (!svc || t.group === `service:${svc.ecsName}`) &&
            t.desiredStatus === want &&
            (!input.startedBy || t.startedBy === input.startedBy),
        )
        .map((t) => t.taskArn!);
      return { taskArns: arns };
    });
    this.ecs.on(DescribeTasksCommand).callsFake(async (input) => {
      this.gate("DescribeTasks", input, input.cluster);
      if ((input.tasks ?? []).length > 100)
        throw AWS_ERROR("InvalidParameterException", "tasks can have at most 100 items");
      this.advanceStandalone(input.tasks ?? []);
      return {
        tasks: this.tasks.filter((t) => input.tasks?.includes(t.taskArn!)).map((t) => structuredClone(t)),
        failures: [],
      };
    });

    this.logs.on(GetLogEventsCommand).callsFake(async (input) => {
      this.gate("GetLogEvents", input);
      const events = this.logEvents.get(input.logStreamName!);
      if (!events) throw AWS_ERROR("ResourceNotFoundException", "The specified log stream does not exist.");
      return {
        events: events
          .slice(-(input.limit ?? 10000))
          .map((e) => ({ timestamp: e.timestamp, message: e.message, ingestionTime: e.timestamp })),
      };
    });
    this.logs.on(FilterLogEventsCommand).callsFake(async (input) => {
      this.gate("FilterLogEvents", input);
      const events = [...this.logEvents.entries()]
        .filter(([stream]) => !input.logStreamNamePrefix || stream.startsWith(input.logStreamNamePrefix))
        .flatMap(([, evs]) => evs)
        .filter((e) => (e.timestamp ?? 0) >= (input.startTime ?? 0))
        .sort((a, b) => (a.timestamp ?? 0) - (b.timestamp ?? 0));
      return { events };
    });

    this.ecr.on(GetAuthorizationTokenCommand).callsFake(async (input) => {
      this.gate("GetAuthorizationToken", input);
      return {
        authorizationData: [
          {
            authorizationToken: Buffer.from("AWS:sim-secret-ecr-token").toString("base64"),
            expiresAt: new Date(Date.now() + 12 * 3_600_000),
            proxyEndpoint: `https://${this.registry}`,
          },
        ],
      };
    });
    this.ecr.on(DescribeImagesCommand).callsFake(async (input) => {
      this.gate("DescribeImages", input);
      const repo = this.scenario.repositories?.[input.repositoryName!];
      if (!repo)
        throw AWS_ERROR(
          "RepositoryNotFoundException",
          `The repository with name '${input.repositoryName}' does not exist`,
        );
      const tag = input.imageIds?.[0]?.imageTag;
      const digest = tag ? repo[tag] : undefined;
      if (!digest)
        throw AWS_ERROR("ImageNotFoundException", "The image requested does not exist in the specified repository.");
      return { imageDetails: [{ repositoryName: input.repositoryName, imageDigest: digest, imageTags: [tag!] }] };
    });
    this.ecr.on(CreateRepositoryCommand).callsFake(async (input) => {
      this.gate("CreateRepository", input);
      this.createdRepositories.push(input);
      (this.scenario.repositories ??= {})[input.repositoryName!] = {};
      return { repository: { repositoryName: input.repositoryName } };
    });
  }
}

/** awsJson1_1 sends timestamps as epoch seconds. */
function toWire(value: unknown): unknown {
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) return value.map(toWire);
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toWire(v)]));
  return value;
}

/** gs.yaml's `targets:` with the prod ECS target the simulator answers for (us-east-1, gaming-system-cluster, account 123456789012). */
export function ecsProdTarget(opts: {
  natsUrl: string;
  confirm?: boolean;
  serviceNameFormat?: string | null;
}): string[] {
  const format = opts.serviceNameFormat === undefined ? "{service}-nats" : opts.serviceNameFormat;
  return [
    "targets:",
    "  prod:",
    "    platform: ecs",
    "    region: us-east-1",
    "    cluster: gaming-system-cluster",
    "    registry: 123456789012.dkr.ecr.us-east-1.amazonaws.com",
    ...(format ? [`    serviceNameFormat: ${JSON.stringify(format)}`] : []),
    ...(opts.confirm ? ["    confirm: true"] : []),
    `    nats: { url: ${JSON.stringify(opts.natsUrl)} }`,
  ];
}

/**
 * A project beside the repository for the simulated cluster: its services, protos, Dockerfile and lock
 * file linked in, and a gs.yaml whose `prod` target is gaming-system-cluster in us-east-1, talking to
 * `natsUrl`. `services` maps each service to its settings in YAML flow form (`{}` for the defaults).
 * Returns the gs.yaml's path.
 */
export function writeEcsProject(
  dir: string,
  opts: { project: string; natsUrl: string; services: Record<string, string>; confirm?: boolean },
): string {
  for (const f of ["services", "proto", "Dockerfile", "package-lock.json"])
    symlinkSync(path.join(repoRoot, f), path.join(dir, f));
  const config = path.join(dir, "gs.yaml");
  writeFileSync(
    config,
    [
      `project: ${opts.project}`,
      ...ecsProdTarget({ natsUrl: opts.natsUrl, confirm: opts.confirm }),
      "services:",
      ...Object.entries(opts.services).map(([name, settings]) => `  ${name}: ${settings}`),
      "",
    ].join("\n"),
  );
  return config;
}
