// The ecs Platform: fleet services are ECS services of one cluster. A deployment registers a revision
// cloned from the live task definition with only the image changed (pinned by digest), updates the
// service, and is judged by what ECS's own waiters miss: it succeeds only when the PRIMARY deployment
// runs the revision gs registered, rolloutState is COMPLETED and running == desired; it fails on
// FAILED, on a circuit-breaker rollback, on its tasks crash-looping (failedTasks can stay 0), or at
// its deadline — and then rolls back to the previous revision.
import type {
  Deployment,
  RegisterTaskDefinitionCommandInput,
  RunTaskCommandInput,
  Service,
  Tag,
  Task,
  TaskDefinition,
} from "@aws-sdk/client-ecs";
import type { EcsTarget } from "../../config/load.js";
import { checkServiceNames } from "../../config/service-names.js";
import { awsCall, DEFAULT_RETRY, type AwsCall, type AwsContext, type RetryPolicy } from "../../aws/aws-call.js";
import { AwsError } from "../../aws/aws-error.js";
import type { EcsClients } from "../../aws/clients.js";
import { EXIT, GsError } from "../../output/errors.js";
import { repositoryOf } from "../../registry/registry.js";
import type {
  Artifact,
  DeploymentInfo,
  DeploymentPlan,
  DeploymentStatus,
  InstanceInfo,
  LogLine,
  LogQuery,
  Platform,
  PlatformEvent,
  ReleaseOutcome,
  ReleaseRecord,
  RolloutState,
  ServiceDescription,
  ServiceState,
  StartCanaryOptions,
  StartDeploymentOptions,
  StoppedInstance,
} from "../platform.js";
import { chunks, exitCodeOf, instanceState, isCrash, stopSummary, taskId } from "./ecs-tasks.js";
import { needsListing, taskStateKey, type TaskListing } from "./task-refresh.js";
import {
  awsLogsOf,
  cloneTaskDefinition,
  DEPLOYED_BY_TAG,
  diffTaskDefinition,
  ENDED_TAG,
  formatInputsTag,
  INPUTS_TAG,
  logStreamOf,
  OUTCOME_TAG,
  parseInputsTag,
  serviceContainerIndex,
  VERSION_TAG,
  type AwsLogsTarget,
} from "./task-definition.js";

export interface EcsPlatformOptions {
  /** the gs.yaml target name */
  target: string;
  config: EcsTarget;
  /** the fleet's service names (gs.yaml) */
  services: string[];
  clients: EcsClients;
  retry?: RetryPolicy;
  /** crashed tasks of a new deployment that make it a crash loop (default 3) */
  crashLoopAfter?: number;
  /** roll back to the previous revision when a deployment fails (default true; --no-rollback) */
  rollback?: boolean;
  /** log lines shown for a crashed task (default 20) */
  logLines?: number;
  /** how often `logs --follow` asks CloudWatch for new lines (default 2s) */
  followPollMs?: number;
  /** the `gs:deployed-by` tag of the revisions this process registers (user@host, or the CI run) */
  deployedBy?: string;
  /** the status path lists a quiet service's tasks again at least this often (default 10m) */
  taskRefreshMs?: number;
}

interface Tracked {
  service: string;
  taskDefinition: string;
  previous: string;
  previousVersion: string;
  artifact: Artifact;
  deadline: number;
  timeoutMs: number;
  /** set once the deployment has failed: later calls return it unchanged */
  final?: DeploymentInfo;
}

/** A canary this process started with RunTask. */
interface Canary {
  service: string;
  /** with the revision its tasks run */
  artifact: Artifact;
  arns: string[];
  count: number;
  createdAt: Date;
  /** why it was stopped, once it was */
  stopped?: string;
}

interface Revision {
  td: TaskDefinition;
  tags: Tag[];
}

/** how long after a task stopped its last log lines may still be arriving in CloudWatch Logs */
const LOG_SETTLE_MS = 30_000;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });

export class EcsPlatform implements Platform {
  readonly kind = "ecs" as const;
  readonly target: string;
  private readonly ctx: AwsContext;
  private readonly cfg: EcsTarget;
  private readonly retry: RetryPolicy;
  private readonly revisions = new Map<string, Promise<Revision>>();
  private readonly tracked = new Map<string, Tracked>();
  /** the status path's last task lists of each service, reused while DescribeServices shows no change */
  private readonly taskListings = new Map<string, TaskListing<{ running: Task[]; stopped: Task[] }>>();
  /** the canaries this process started, by their `startedBy` */
  private readonly canaries = new Map<string, Canary>();
  /** a stopped task's last log lines, by task ARN: its stream no longer grows */
  private readonly stoppedLines = new Map<string, Promise<string[]>>();

  constructor(private readonly opts: EcsPlatformOptions) {
    this.target = opts.target;
    this.cfg = opts.config;
    this.ctx = { region: opts.config.region, profile: opts.config.profile, target: opts.target };
    this.retry = opts.retry ?? DEFAULT_RETRY;
  }

  // ---- names -----------------------------------------------------------------------------------

  /** the ECS service name of a fleet service */
  ecsName(service: string): string {
    return this.cfg.serviceNameFormat.replaceAll("{service}", service);
  }

  private checkNames(names: string[]): void {
    checkServiceNames(names, this.opts.services, `services in gs.yaml: ${this.opts.services.join(", ")}`);
  }

  /** Every ECS and CloudWatch Logs call: in this cluster, retried, its errors naming `call`'s resources. */
  private call<T>(call: AwsCall, fn: () => Promise<T>): Promise<T> {
    return awsCall({ cluster: this.cfg.cluster, ...call }, this.ctx, fn, this.retry);
  }

  private async ecsSdk() {
    return import("@aws-sdk/client-ecs");
  }

  // ---- reads -----------------------------------------------------------------------------------

  /** DescribeServices, 10 names per call; a missing service is an error that names it. */
  private async describeEcs(services: string[]): Promise<Map<string, Service>> {
    const { DescribeServicesCommand } = await this.ecsSdk();
    const out = new Map<string, Service>();
    await Promise.all(
      chunks(services, 10).map(async (batch) => {
        const r = await this.call({ api: "ecs:DescribeServices" }, () =>
          this.opts.clients.ecs.send(
            new DescribeServicesCommand({ cluster: this.cfg.cluster, services: batch.map((s) => this.ecsName(s)) }),
          ),
        );
        for (const s of batch) {
          const found = r.services?.find((x) => x.serviceName === this.ecsName(s));
          if (!found || found.status === "INACTIVE") {
            throw new GsError(
              `ECS service ${this.ecsName(s)} (${s}) not found in cluster ${this.cfg.cluster} (${this.cfg.region})`,
              {
                hint: `create the service in ECS (gs deploys to existing services), or fix serviceNameFormat / cluster in gs.yaml`,
                code: "ecs_service_not_found",
              },
            );
          }
          out.set(s, found);
        }
      }),
    );
    return out;
  }

  /** A registered revision never changes: each is described once. */
  private revision(arn: string): Promise<Revision> {
    let p = this.revisions.get(arn);
    if (!p) {
      p = (async () => {
        const { DescribeTaskDefinitionCommand } = await this.ecsSdk();
        const r = await this.call({ api: "ecs:DescribeTaskDefinition", taskDefinition: arn }, () =>
          this.opts.clients.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ["TAGS"] })),
        );
        if (!r.taskDefinition)
          throw new GsError(`task definition ${arn} not found`, {
            hint: "check the service's task definition in ECS",
            code: "ecs_task_definition_not_found",
          });
        return { td: r.taskDefinition, tags: r.tags ?? [] };
      })();
      p.catch(() => this.revisions.delete(arn));
      this.revisions.set(arn, p);
    }
    return p;
  }

  private containerIndex(service: string, td: TaskDefinition): number {
    const { host, repository } = repositoryOf(this.cfg.registry, service);
    return serviceContainerIndex(td, {
      service,
      ecsService: this.ecsName(service),
      repository: `${host}/${repository}`,
    });
  }

  /** What a revision runs: the version gs tagged it with, else its image reference. */
  private async artifactOf(service: string, arn: string | undefined): Promise<Artifact> {
    if (!arn) return { version: "unknown", hash: "", ref: "" };
    const { td, tags } = await this.revision(arn);
    const image = td.containerDefinitions?.[this.containerIndex(service, td)]?.image ?? "";
    const version = tags.find((t) => t.key === VERSION_TAG)?.value ?? image;
    const hash = version.includes("+") ? version.split("+").pop()! : (/@sha256:([0-9a-f]{12})/.exec(image)?.[1] ?? "");
    return { version, hash, ref: image, revision: arn };
  }

  private async tasks(service: string, status: "RUNNING" | "STOPPED"): Promise<Task[]> {
    const { ListTasksCommand, DescribeTasksCommand } = await this.ecsSdk();
    const arns: string[] = [];
    let nextToken: string | undefined;
    do {
      const r = await this.call({ api: "ecs:ListTasks", service: this.ecsName(service) }, () =>
        this.opts.clients.ecs.send(
          new ListTasksCommand({
            cluster: this.cfg.cluster,
            serviceName: this.ecsName(service),
            desiredStatus: status,
            nextToken,
          }),
        ),
      );
      arns.push(...(r.taskArns ?? []));
      nextToken = r.nextToken;
    } while (nextToken);
    const described = await Promise.all(
      chunks(arns, 100).map((batch) =>
        this.call({ api: "ecs:DescribeTasks", service: this.ecsName(service) }, () =>
          this.opts.clients.ecs.send(new DescribeTasksCommand({ cluster: this.cfg.cluster, tasks: batch })),
        ),
      ),
    );
    return described.flatMap((d) => d.tasks ?? []);
  }

  private async toDeployment(service: string, d: Deployment, onlyOne: boolean): Promise<DeploymentInfo> {
    const status: DeploymentStatus = d.status === "PRIMARY" ? "PRIMARY" : d.status === "ACTIVE" ? "ACTIVE" : "INACTIVE";
    // without a circuit breaker ECS may omit rolloutState: a lone PRIMARY at its desired count is done
    const rollout: RolloutState =
      d.rolloutState === "COMPLETED" || d.rolloutState === "FAILED"
        ? d.rolloutState
        : !d.rolloutState && onlyOne && status === "PRIMARY" && d.runningCount === d.desiredCount
          ? "COMPLETED"
          : "IN_PROGRESS";
    return {
      id: d.id ?? "",
      service,
      status,
      artifact: await this.artifactOf(service, d.taskDefinition),
      desired: d.desiredCount ?? 0,
      running: d.runningCount ?? 0,
      pending: d.pendingCount ?? 0,
      failed: d.failedTasks ?? 0,
      rolloutState: rollout,
      ...(d.rolloutStateReason ? { reason: d.rolloutStateReason } : {}),
      createdAt: (d.createdAt ?? new Date(0)).toISOString(),
      updatedAt: (d.updatedAt ?? d.createdAt ?? new Date(0)).toISOString(),
    };
  }

  /** The last lines of a task's service container, from its awslogs stream. */
  private async lastLines(service: string, task: Task, n: number): Promise<string[]> {
    if (!task.taskDefinitionArn) return [];
    const { td } = await this.revision(task.taskDefinitionArn);
    const logs = awsLogsOf(td.containerDefinitions?.[this.containerIndex(service, td)]);
    const stream = logs && logStreamOf(logs, taskId(task.taskArn));
    if (!logs || !stream) return [];
    const { GetLogEventsCommand } = await import("@aws-sdk/client-cloudwatch-logs");
    try {
      const call = {
        api: "logs:GetLogEvents",
        service: this.ecsName(service),
        logGroup: logs.group,
        logStream: stream,
      };
      const r = await this.call(call, () =>
        this.opts.clients.logs.send(
          new GetLogEventsCommand({ logGroupName: logs.group, logStreamName: stream, limit: n, startFromHead: false }),
        ),
      );
      return (r.events ?? []).map((e) => (e.message ?? "").replace(/\n$/, ""));
    } catch (err) {
      // a task that died before it logged has no stream: that is an answer, not an error
      if (err instanceof AwsError && err.kind === "not_found") return [];
      throw err;
    }
  }

  /** A stopped task's last lines: kept once it has been stopped LOG_SETTLE_MS, read again until then (CloudWatch may still be taking them in). */
  private stoppedTaskLines(service: string, task: Task): Promise<string[]> {
    const read = () => this.lastLines(service, task, this.opts.logLines ?? 20);
    const arn = task.taskArn;
    const settled = task.stoppedAt && Date.now() - task.stoppedAt.getTime() >= LOG_SETTLE_MS;
    if (!arn || !settled) return read();
    let p = this.stoppedLines.get(arn);
    if (!p) {
      p = read();
      p.catch(() => this.stoppedLines.delete(arn));
      this.stoppedLines.set(arn, p);
    }
    return p;
  }

  private async stoppedInstance(service: string, task: Task, withLines: boolean): Promise<StoppedInstance> {
    return {
      id: taskId(task.taskArn),
      version: (await this.artifactOf(service, task.taskDefinitionArn)).version,
      exitCode: exitCodeOf(task),
      stoppedAt: (task.stoppedAt ?? task.stoppingAt ?? new Date(0)).toISOString(),
      reason: stopSummary(task),
      lastLines: withLines ? await this.stoppedTaskLines(service, task) : [],
    };
  }

  /**
   * A service's running and stopped tasks for the status path: listed (ListTasks, DescribeTasks) the
   * first time, while a deployment is in progress, and when DescribeServices shows a change since the
   * last listing; otherwise the last listing (see task-refresh.ts).
   */
  private async serviceTasks(name: string, svc: Service): Promise<{ running: Task[]; stopped: Task[] }> {
    const now = Date.now();
    const last = this.taskListings.get(name);
    if (last && !needsListing(last, svc, now, this.opts.taskRefreshMs ?? 600_000)) return last.tasks;
    const [running, stopped] = await Promise.all([this.tasks(name, "RUNNING"), this.tasks(name, "STOPPED")]);
    this.taskListings.set(name, { key: taskStateKey(svc), at: now, tasks: { running, stopped } });
    return { running, stopped };
  }

  async describeServices(names?: string[]): Promise<ServiceDescription[]> {
    const wanted = names ?? this.opts.services;
    this.checkNames(wanted);
    const described = await this.describeEcs(wanted);
    return Promise.all(wanted.map((name) => this.describeOne(name, described.get(name)!)));
  }

  private async describeOne(name: string, svc: Service): Promise<ServiceDescription> {
    const deps = svc.deployments ?? [];
    const [deployments, { running, stopped: stoppedTasks }] = await Promise.all([
      Promise.all(deps.map((d) => this.toDeployment(name, d, deps.length === 1))),
      this.serviceTasks(name, svc),
    ]);
    const crashed = stoppedTasks
      .filter(isCrash)
      .sort((a, b) => (a.stoppedAt?.getTime() ?? 0) - (b.stoppedAt?.getTime() ?? 0));
    const recent = [...stoppedTasks]
      .sort((a, b) => (a.stoppedAt?.getTime() ?? 0) - (b.stoppedAt?.getTime() ?? 0))
      .slice(-10);
    const newestCrash = crashed.at(-1);
    const stopped = await Promise.all(recent.map((t) => this.stoppedInstance(name, t, t === newestCrash)));
    const instances: InstanceInfo[] = await Promise.all(
      running.map(async (t) => ({
        id: taskId(t.taskArn),
        deploymentId: t.startedBy ?? "",
        version: (await this.artifactOf(name, t.taskDefinitionArn)).version,
        state: instanceState(t),
        startedAt: (t.startedAt ?? t.createdAt ?? new Date(0)).toISOString(),
      })),
    );
    const events: PlatformEvent[] = (svc.events ?? [])
      .slice(0, 10)
      .reverse()
      .map((e) => ({ at: (e.createdAt ?? new Date(0)).toISOString(), message: e.message ?? "" }));
    const primary = deployments.find((d) => d.status === "PRIMARY");
    const desired = svc.desiredCount ?? 0;
    const runningCount = svc.runningCount ?? 0;
    const pending = svc.pendingCount ?? 0;
    // the PRIMARY's own crashes: older deployments' tasks may still serve while the new ones loop
    const primaryCrashes = crashed.filter((t) => primary && t.startedBy === primary.id).length;
    let state: ServiceState = "steady";
    if (desired === 0) state = "stopped";
    else if (primary && primaryCrashes >= (this.opts.crashLoopAfter ?? 3) && primary.running < primary.desired)
      state = "crash-looping";
    else if (deployments.length > 1 || primary?.rolloutState === "IN_PROGRESS") state = "deploying";
    else if (runningCount < desired) state = pending > 0 ? "starting" : "degraded";
    return {
      name,
      desired,
      running: runningCount,
      pending,
      restarts: crashed.length,
      ...(primary ? { version: primary.artifact.version } : {}),
      state,
      deployments,
      instances,
      events,
      stopped,
    };
  }

  // ---- changes ---------------------------------------------------------------------------------

  async scale(service: string, desired: number): Promise<ServiceDescription> {
    this.checkNames([service]);
    await this.describeEcs([service]);
    const { UpdateServiceCommand } = await this.ecsSdk();
    await this.call({ api: "ecs:UpdateService", service: this.ecsName(service) }, () =>
      this.opts.clients.ecs.send(
        new UpdateServiceCommand({ cluster: this.cfg.cluster, service: this.ecsName(service), desiredCount: desired }),
      ),
    );
    return (await this.describeServices([service]))[0]!;
  }

  /** The revision a described service runs (DescribeTaskDefinition) and its service container: what a new revision is cloned from. */
  private async liveRevision(service: string, svc: Service): Promise<Revision & { live: string; index: number }> {
    const live = svc.taskDefinition;
    if (!live)
      throw new GsError(`ECS service ${this.ecsName(service)} has no task definition`, {
        hint: "deploy it once with the AWS console or CLI; gs deploys new revisions of an existing one",
      });
    const { td, tags } = await this.revision(live);
    return { live, td, tags, index: this.containerIndex(service, td) };
  }

  /** The RegisterTaskDefinition input for `artifact`: the live revision with only the image and gs's tags changed. */
  private registration(td: TaskDefinition, index: number, tags: Tag[], artifact: Artifact) {
    // what gs recorded about the live revision's run is not true of the new one
    const own = [INPUTS_TAG, OUTCOME_TAG, ENDED_TAG, DEPLOYED_BY_TAG];
    const kept = tags.filter((t) => !own.includes(t.key ?? ""));
    if (artifact.inputs) kept.push({ key: INPUTS_TAG, value: formatInputsTag(artifact.inputs) });
    if (this.opts.deployedBy) kept.push({ key: DEPLOYED_BY_TAG, value: this.opts.deployedBy });
    return cloneTaskDefinition(td, index, artifact.ref, kept, artifact.version);
  }

  /** Dry run: DescribeServices (10 a call) and DescribeTaskDefinition only; the exact RegisterTaskDefinition and UpdateService inputs. */
  async planDeployments(items: { service: string; artifact: Artifact }[]): Promise<DeploymentPlan[]> {
    this.checkNames(items.map((i) => i.service));
    const described = await this.describeEcs(items.map((i) => i.service));
    return Promise.all(
      items.map(async ({ service, artifact }): Promise<DeploymentPlan> => {
        const { live, td, tags, index } = await this.liveRevision(service, described.get(service)!);
        const current = await this.artifactOf(service, live);
        const inputs = parseInputsTag(tags.find((t) => t.key === INPUTS_TAG)?.value);
        const base = {
          service,
          current: { version: current.version, ref: current.ref, revision: live, ...(inputs ? { inputs } : {}) },
        };
        if (current.version === artifact.version) return { ...base, changes: [], calls: [] };
        const input = this.registration(td, index, tags, artifact);
        return {
          ...base,
          changes: diffTaskDefinition(td, tags, input),
          calls: [
            { api: "ecs:RegisterTaskDefinition", input: input as unknown as Record<string, unknown> },
            {
              api: "ecs:UpdateService",
              input: {
                cluster: this.cfg.cluster,
                service: this.ecsName(service),
                taskDefinition: `${td.family ?? this.ecsName(service)}:<registered revision>`,
              },
            },
          ],
        };
      }),
    );
  }

  async startDeployment(service: string, artifact: Artifact, opts: StartDeploymentOptions): Promise<DeploymentInfo> {
    this.checkNames([service]);
    const { live, td, tags, index } = await this.liveRevision(
      service,
      (await this.describeEcs([service])).get(service)!,
    );
    // a version that ran before is restored: the service goes back to that exact revision
    const arn = artifact.revision
      ? await this.sameFamily(service, td, artifact.revision)
      : await this.register(service, this.registration(td, index, tags, artifact));
    const { UpdateServiceCommand } = await this.ecsSdk();
    const updated = await this.call(
      { api: "ecs:UpdateService", service: this.ecsName(service), taskDefinition: arn },
      () =>
        this.opts.clients.ecs.send(
          new UpdateServiceCommand({ cluster: this.cfg.cluster, service: this.ecsName(service), taskDefinition: arn }),
        ),
    );
    const deps = updated.service?.deployments ?? [];
    const ours =
      deps.find((d) => d.status === "PRIMARY" && d.taskDefinition === arn) ??
      deps.find((d) => d.taskDefinition === arn);
    if (!ours?.id)
      throw new GsError(`ECS started no deployment of ${arn} for ${service}`, {
        hint: "check the service's events in the ECS console",
      });
    this.tracked.set(ours.id, {
      service,
      taskDefinition: arn,
      previous: live,
      previousVersion: (await this.artifactOf(service, live)).version,
      artifact,
      deadline: Date.now() + opts.timeoutMs,
      timeoutMs: opts.timeoutMs,
    });
    return this.toDeployment(service, ours, false);
  }

  /** RegisterTaskDefinition; the new revision's ARN. */
  private async register(service: string, input: RegisterTaskDefinitionCommandInput): Promise<string> {
    const { RegisterTaskDefinitionCommand } = await this.ecsSdk();
    const register = {
      api: "ecs:RegisterTaskDefinition",
      service: this.ecsName(service),
      taskDefinition: input.family,
    };
    const registered = await this.call(register, () =>
      this.opts.clients.ecs.send(new RegisterTaskDefinitionCommand(input)),
    );
    const arn = registered.taskDefinition?.taskDefinitionArn;
    if (!arn)
      throw new GsError(`ECS registered no task definition for ${service}`, {
        hint: "run the command again; check the ECS console if it persists",
      });
    this.revisions.set(
      arn,
      Promise.resolve({ td: registered.taskDefinition!, tags: registered.tags ?? input.tags ?? [] }),
    );
    return arn;
  }

  /** A revision to restore must be one of the service's own family: another family's would swap the service's task. */
  private async sameFamily(service: string, live: TaskDefinition, arn: string): Promise<string> {
    const { td } = await this.revision(arn);
    if (live.family && td.family !== live.family)
      throw new GsError(`${arn} is not a revision of ${service}'s task definition family ${live.family}`, {
        exit: EXIT.usage,
        hint: `pick a version from \`gs history ${service}\``,
        code: "foreign_revision",
      });
    return td.taskDefinitionArn ?? arn;
  }

  async describeDeployment(service: string, deploymentId: string): Promise<DeploymentInfo> {
    const { t, deps, dep } = await this.lookupDeployment(service, deploymentId);
    if (t?.final) return t.final;
    const primary = deps.find((d) => d.status === "PRIMARY");
    const ourTd = t?.taskDefinition ?? dep?.taskDefinition;
    if (!dep) {
      const info = await this.syntheticFailed(
        service,
        deploymentId,
        t,
        `deployment ${deploymentId} is no longer listed; the service now runs ${primary?.taskDefinition ?? "nothing"}`,
      );
      return this.fail(t, info, false);
    }
    const info = await this.toDeployment(service, dep, deps.length === 1);

    // the circuit breaker (or someone) replaced ours: the waiters call this "stable", gs calls it failed
    if (dep.rolloutState === "FAILED" || (primary && primary.id !== dep.id)) {
      const back =
        primary && primary.id !== dep.id
          ? `; ECS rolled the service back to ${(await this.artifactOf(service, primary.taskDefinition)).version}`
          : "";
      const why =
        dep.rolloutStateReason ??
        (primary && primary.id !== dep.id ? "another deployment replaced it" : "the deployment failed");
      const crash = await this.crashDetail(service, deploymentId, ourTd);
      const rolledBackAlready = Boolean(back);
      const failed: DeploymentInfo = {
        ...info,
        rolloutState: "FAILED",
        reason: `${why}${crash ? `: ${crash.summary}` : ""}${back}`,
        ...(rolledBackAlready ? { rolledBack: true } : {}),
      };
      return this.fail(t, failed, !rolledBackAlready);
    }

    const crash = await this.crashDetail(service, deploymentId, ourTd);
    const limit = this.opts.crashLoopAfter ?? 3;
    if (crash && (crash.count >= limit || (dep.failedTasks ?? 0) >= limit)) {
      return this.fail(
        t,
        {
          ...info,
          rolloutState: "FAILED",
          failed: Math.max(info.failed, crash.count),
          reason: `crash loop: ${crash.count} tasks of the new deployment stopped (failedTasks ${dep.failedTasks ?? 0}): ${crash.summary}`,
        },
        true,
      );
    }

    const done =
      dep.status === "PRIMARY" &&
      dep.taskDefinition === ourTd &&
      info.rolloutState === "COMPLETED" &&
      dep.runningCount === dep.desiredCount;
    if (done) return { ...info, rolloutState: "COMPLETED", failed: Math.max(info.failed, crash?.count ?? 0) };

    if (t && Date.now() > t.deadline) {
      const reason = `not healthy within ${Math.round(t.timeoutMs / 1000)}s: ${dep.runningCount ?? 0} of ${dep.desiredCount ?? 0} running, ${dep.pendingCount ?? 0} pending (rolloutState ${dep.rolloutState ?? "none"})${crash ? `; ${crash.summary}` : ""}`;
      return this.fail(t, { ...info, rolloutState: "FAILED", reason, timedOut: true }, true);
    }
    return { ...info, rolloutState: "IN_PROGRESS", failed: Math.max(info.failed, crash?.count ?? 0) };
  }

  /**
   * Take over a deployment another process started and left in progress (a `gs deploy` that died): it is
   * tracked from now on as if this process had started it, its previous revision being the one the newest
   * other deployment runs and its deadline `opts.timeoutMs` from now, so a failure is rolled back.
   */
  async resumeDeployment(service: string, deploymentId: string, opts: StartDeploymentOptions): Promise<DeploymentInfo> {
    const { t, deps, dep } = await this.lookupDeployment(service, deploymentId);
    if (!t && dep?.taskDefinition) {
      const newestFirst = (a: Deployment, b: Deployment) =>
        (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0);
      const others = deps.filter((d) => d.id !== deploymentId && d.taskDefinition).sort(newestFirst);
      const previous = (others.find((d) => d.status === "ACTIVE") ?? others[0])?.taskDefinition;
      if (previous)
        this.tracked.set(deploymentId, {
          service,
          taskDefinition: dep.taskDefinition,
          previous,
          previousVersion: (await this.artifactOf(service, previous)).version,
          artifact: await this.artifactOf(service, dep.taskDefinition),
          deadline: Date.now() + opts.timeoutMs,
          timeoutMs: opts.timeoutMs,
        });
    }
    return this.describeDeployment(service, deploymentId);
  }

  /** Crashed tasks of one deployment (ListTasks STOPPED, then startedBy = the deployment id), newest described with its last log lines. */
  private async crashDetail(
    service: string,
    deploymentId: string,
    td: string | undefined,
  ): Promise<{ count: number; summary: string } | undefined> {
    const stopped = await this.tasks(service, "STOPPED");
    const ours = stopped
      .filter((task) => task.startedBy === deploymentId || (!task.startedBy && td && task.taskDefinitionArn === td))
      .filter(isCrash)
      .sort((a, b) => (a.stoppedAt?.getTime() ?? 0) - (b.stoppedAt?.getTime() ?? 0));
    const newest = ours.at(-1);
    if (!newest) return undefined;
    const s = await this.stoppedInstance(service, newest, true);
    const lines = s.lastLines.length ? `; last log lines: ${s.lastLines.slice(-5).join(" | ")}` : "";
    return { count: ours.length, summary: `task ${s.id} stopped: ${s.reason}${lines}` };
  }

  private async syntheticFailed(
    service: string,
    id: string,
    t: Tracked | undefined,
    reason: string,
  ): Promise<DeploymentInfo> {
    const now = new Date().toISOString();
    return {
      id,
      service,
      status: "INACTIVE",
      artifact: t ? { ...t.artifact, revision: t.taskDefinition } : { version: "unknown", hash: "", ref: "" },
      desired: 0,
      running: 0,
      pending: 0,
      failed: 0,
      rolloutState: "FAILED",
      reason,
      createdAt: now,
      updatedAt: now,
    };
  }

  /** Record the failure (once) and, unless ECS already did or rollback is off, roll back to the previous revision. */
  private async fail(t: Tracked | undefined, info: DeploymentInfo, rollBack: boolean): Promise<DeploymentInfo> {
    let final = info;
    if (t && rollBack && this.opts.rollback !== false) {
      await this.updateTaskDefinition(t.service, t.previous);
      final = { ...info, reason: `${info.reason ?? "failed"}; rolled back to ${t.previousVersion}`, rolledBack: true };
    }
    if (t) t.final = final;
    return final;
  }

  /** What this process tracks of a deployment, and the service's deployments as ECS lists them now. Once final, ECS is not asked. */
  private async lookupDeployment(service: string, deploymentId: string) {
    this.checkNames([service]);
    const t = this.tracked.get(deploymentId);
    if (t?.final) return { t, deps: [], dep: undefined };
    const deps = (await this.describeEcs([service])).get(service)!.deployments ?? [];
    return { t, deps, dep: deps.find((d) => d.id === deploymentId) };
  }

  private async updateTaskDefinition(service: string, taskDefinition: string): Promise<void> {
    const { UpdateServiceCommand } = await this.ecsSdk();
    await this.call({ api: "ecs:UpdateService", service: this.ecsName(service), taskDefinition }, () =>
      this.opts.clients.ecs.send(
        new UpdateServiceCommand({ cluster: this.cfg.cluster, service: this.ecsName(service), taskDefinition }),
      ),
    );
  }

  async stopDeployment(service: string, deploymentId: string, reason: string): Promise<DeploymentInfo> {
    const { t, deps, dep } = await this.lookupDeployment(service, deploymentId);
    if (t?.final) return t.final;
    // not started by this process: the newest other deployment is what it replaced
    const previous =
      t?.previous ??
      deps
        .filter((d) => d.id !== deploymentId)
        .sort((a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0))[0]?.taskDefinition;
    if (!previous)
      throw new GsError(`no earlier revision of ${service} to roll back to`, {
        hint: "roll back by hand: aws ecs update-service --task-definition <revision>",
      });
    const info = dep
      ? await this.toDeployment(service, dep, false)
      : await this.syntheticFailed(service, deploymentId, t, reason);
    await this.updateTaskDefinition(service, previous);
    const final: DeploymentInfo = {
      ...info,
      rolloutState: "FAILED",
      rolledBack: true,
      reason: `${reason}; rolled back to ${t?.previousVersion ?? (await this.artifactOf(service, previous)).version}`,
    };
    if (t) t.final = final;
    return final;
  }

  // ---- canaries --------------------------------------------------------------------------------

  /**
   * RunTask of the new revision (registered as a deploy would, or the artifact's own) with the service's
   * network configuration, launch type or capacity providers and platform version, `startedBy` naming
   * the deploy. Tasks that started when others failed are stopped again: nothing half-done.
   */
  async startCanary(service: string, artifact: Artifact, opts: StartCanaryOptions): Promise<DeploymentInfo> {
    this.checkNames([service]);
    const svc = (await this.describeEcs([service])).get(service)!;
    const { td, tags, index } = await this.liveRevision(service, svc);
    const arn = artifact.revision
      ? await this.sameFamily(service, td, artifact.revision)
      : await this.register(service, this.registration(td, index, tags, artifact));
    const { RunTaskCommand } = await this.ecsSdk();
    const r = await this.call({ api: "ecs:RunTask", service: this.ecsName(service), taskDefinition: arn }, () =>
      this.opts.clients.ecs.send(new RunTaskCommand(this.canaryRunTask(svc, arn, opts))),
    );
    const tasks = r.tasks ?? [];
    if ((r.failures ?? []).length || tasks.length < opts.count) {
      await this.stopTasks(
        service,
        tasks.map((t) => t.taskArn!),
        "gs: the canary could not start in full",
      );
      const why = (r.failures ?? []).map((f) => `${f.reason ?? "failed"}${f.detail ? ` (${f.detail})` : ""}`);
      throw new GsError(
        `RunTask started ${tasks.length} of ${opts.count} canary tasks of ${this.ecsName(service)}${why.length ? `: ${why.join("; ")}` : ""}`,
        { hint: "check the cluster's capacity and the service's network configuration" },
      );
    }
    const canary: Canary = {
      service,
      artifact: { ...artifact, revision: arn },
      arns: tasks.map((t) => t.taskArn!),
      count: opts.count,
      createdAt: new Date(),
    };
    this.canaries.set(opts.label, canary);
    return this.canaryInfo(opts.label, canary, tasks);
  }

  /** The RunTask input of a canary: what the service's own tasks get from it (ECS copies none of it for RunTask). */
  private canaryRunTask(svc: Service, taskDefinition: string, opts: StartCanaryOptions): RunTaskCommandInput {
    // launchType and capacityProviderStrategy exclude each other; platformVersion is Fargate's only
    const placement = svc.capacityProviderStrategy?.length
      ? { capacityProviderStrategy: svc.capacityProviderStrategy }
      : svc.launchType
        ? { launchType: svc.launchType }
        : {};
    return {
      cluster: this.cfg.cluster,
      taskDefinition,
      count: opts.count,
      startedBy: opts.label,
      // one token per canary: RunTask retried (throttling, a lost reply) starts its tasks once
      clientToken: opts.label,
      ...placement,
      ...(svc.platformVersion ? { platformVersion: svc.platformVersion } : {}),
      ...(svc.networkConfiguration ? { networkConfiguration: svc.networkConfiguration } : {}),
    };
  }

  async describeCanary(service: string, id: string): Promise<DeploymentInfo> {
    const canary = this.canaryOf(service, id);
    return this.canaryInfo(id, canary, await this.canaryTasks(canary));
  }

  /** StopTask of each of the canary's tasks still running (ECS drains them: SIGTERM, then the stop timeout). */
  async stopCanary(service: string, id: string, reason: string): Promise<DeploymentInfo> {
    const canary = this.canaryOf(service, id);
    const tasks = await this.canaryTasks(canary);
    const live = tasks.filter((t) => t.lastStatus !== "STOPPED" && t.desiredStatus !== "STOPPED");
    await this.stopTasks(
      service,
      live.map((t) => t.taskArn!),
      reason,
    );
    canary.stopped ??= reason;
    return this.canaryInfo(id, canary, tasks);
  }

  private async canaryTasks(canary: Canary): Promise<Task[]> {
    const { DescribeTasksCommand } = await this.ecsSdk();
    const r = await this.call({ api: "ecs:DescribeTasks", service: this.ecsName(canary.service) }, () =>
      this.opts.clients.ecs.send(new DescribeTasksCommand({ cluster: this.cfg.cluster, tasks: canary.arns })),
    );
    return r.tasks ?? [];
  }

  private async stopTasks(service: string, arns: string[], reason: string): Promise<void> {
    const { StopTaskCommand } = await this.ecsSdk();
    for (const task of arns)
      await this.call({ api: "ecs:StopTask", service: this.ecsName(service) }, () =>
        this.opts.clients.ecs.send(
          new StopTaskCommand({ cluster: this.cfg.cluster, task, reason: reason.slice(0, 255) }),
        ),
      );
  }

  private canaryOf(service: string, id: string): Canary {
    const canary = this.canaries.get(id);
    if (!canary || canary.service !== service)
      throw new GsError(`no canary ${id} of ${service}`, { code: "unknown_canary", exit: EXIT.usage });
    return canary;
  }

  private canaryInfo(id: string, canary: Canary, tasks: Task[]): DeploymentInfo {
    const running = tasks.filter((t) => t.lastStatus === "RUNNING").length;
    const crashed = tasks.filter((t) => t.lastStatus === "STOPPED" && isCrash(t));
    const pending = tasks.filter((t) => t.lastStatus !== "RUNNING" && t.lastStatus !== "STOPPED").length;
    const rolloutState: RolloutState = crashed.length
      ? "FAILED"
      : running >= canary.count
        ? "COMPLETED"
        : "IN_PROGRESS";
    return {
      id,
      service: canary.service,
      status: canary.stopped ? "INACTIVE" : "ACTIVE",
      artifact: canary.artifact,
      desired: canary.count,
      running,
      pending,
      failed: crashed.length,
      rolloutState,
      ...(crashed[0] ? { reason: `task ${taskId(crashed[0].taskArn)}: ${stopSummary(crashed[0])}` } : {}),
      createdAt: canary.createdAt.toISOString(),
      updatedAt: new Date().toISOString(),
    };
  }

  // ---- release history ---------------------------------------------------------------------------

  /** The family's revisions, newest first (ListTaskDefinitions DESC), each with gs's tags (DescribeTaskDefinition). */
  async history(service: string, limit: number): Promise<ReleaseRecord[]> {
    this.checkNames([service]);
    const svc = (await this.describeEcs([service])).get(service)!;
    const { td: live } = await this.liveRevision(service, svc);
    const family = live.family ?? this.ecsName(service);
    const { ListTaskDefinitionsCommand } = await this.ecsSdk();
    const r = await this.call({ api: "ecs:ListTaskDefinitions", service: this.ecsName(service) }, () =>
      this.opts.clients.ecs.send(
        new ListTaskDefinitionsCommand({ familyPrefix: family, sort: "DESC", maxResults: Math.min(100, limit) }),
      ),
    );
    const primary = svc.deployments?.find((d) => d.status === "PRIMARY");
    const current = primary?.taskDefinition ?? svc.taskDefinition;
    return Promise.all(
      (r.taskDefinitionArns ?? []).slice(0, limit).map(async (arn): Promise<ReleaseRecord> => {
        const { td, tags } = await this.revision(arn);
        const tag = (key: string) => tags.find((t) => t.key === key)?.value;
        const outcome = tag(OUTCOME_TAG) as ReleaseOutcome | undefined;
        const isCurrent = arn === current;
        // a revision gs went back to runs again since that deployment began, not since it was registered
        const startedAt = isCurrent && primary?.createdAt ? primary.createdAt : td.registeredAt;
        return {
          artifact: await this.artifactOf(service, arn),
          startedAt: (startedAt ?? new Date(0)).toISOString(),
          ...(tag(ENDED_TAG) && !isCurrent ? { endedAt: tag(ENDED_TAG) } : {}),
          ...(outcome ? { outcome } : {}),
          ...(tag(DEPLOYED_BY_TAG) ? { deployedBy: tag(DEPLOYED_BY_TAG) } : {}),
          current: isCurrent,
          available: true,
        };
      }),
    );
  }

  /** TagResource on the deployment's revision: `gs:outcome`, and `gs:ended-at` when that outcome ended its run. */
  async recordOutcome(service: string, deployment: DeploymentInfo, outcome: ReleaseOutcome): Promise<void> {
    const arn = deployment.artifact.revision;
    if (!arn) return; // a deployment gs could not tie to a revision: nothing true to record
    const tags: Tag[] = [{ key: OUTCOME_TAG, value: outcome }];
    if (outcome !== "deployed") tags.push({ key: ENDED_TAG, value: new Date().toISOString() });
    const { TagResourceCommand } = await this.ecsSdk();
    await this.call({ api: "ecs:TagResource", service: this.ecsName(service), taskDefinition: arn }, () =>
      this.opts.clients.ecs.send(new TagResourceCommand({ resourceArn: arn, tags })),
    );
    // the cached description keeps the tags it was read with: refresh them for a later history()
    const cached = await this.revisions.get(arn)?.catch(() => undefined);
    if (cached)
      this.revisions.set(
        arn,
        Promise.resolve({
          td: cached.td,
          tags: [...cached.tags.filter((t) => !tags.some((n) => n.key === t.key)), ...tags],
        }),
      );
  }

  // ---- logs ------------------------------------------------------------------------------------

  async *logs(service: string, query: LogQuery): AsyncIterable<LogLine> {
    this.checkNames([service]);
    const svc = (await this.describeEcs([service])).get(service)!;
    const arn = svc.deployments?.find((d) => d.status === "PRIMARY")?.taskDefinition ?? svc.taskDefinition;
    const td = arn ? (await this.revision(arn)).td : undefined;
    const logs: AwsLogsTarget | undefined = td
      ? awsLogsOf(td.containerDefinitions?.[this.containerIndex(service, td)])
      : undefined;
    if (!logs) {
      throw new GsError(`${service} does not log to CloudWatch Logs (no awslogs log driver in its task definition)`, {
        hint: "set logConfiguration.logDriver to awslogs (with awslogs-group and awslogs-stream-prefix) in the task definition",
      });
    }
    const { FilterLogEventsCommand } = await import("@aws-sdk/client-cloudwatch-logs");
    const prefix = logs.streamPrefix ? `${logs.streamPrefix}/${logs.container}/${query.instance ?? ""}` : undefined;
    let since = query.since ?? Date.now() - 3_600_000;
    const seen = new Set<string>();
    for (;;) {
      let nextToken: string | undefined;
      do {
        const r = await this.call(
          { api: "logs:FilterLogEvents", service: this.ecsName(service), logGroup: logs.group },
          () =>
            this.opts.clients.logs.send(
              new FilterLogEventsCommand({
                logGroupName: logs.group,
                ...(prefix ? { logStreamNamePrefix: prefix } : {}),
                startTime: since,
                nextToken,
              }),
            ),
        );
        for (const e of r.events ?? []) {
          if (e.eventId && seen.has(e.eventId)) continue;
          if (e.eventId) seen.add(e.eventId);
          since = Math.max(since, e.timestamp ?? since);
          yield {
            service,
            instance: (e.logStreamName ?? "").split("/").pop() ?? "",
            at: new Date(e.timestamp ?? 0).toISOString(),
            text: (e.message ?? "").replace(/\n$/, ""),
          };
        }
        nextToken = r.nextToken;
      } while (nextToken && !query.signal?.aborted);
      if (!query.follow || query.signal?.aborted) return;
      await sleep(this.opts.followPollMs ?? 2000, query.signal);
      if (query.signal?.aborted) return;
    }
  }
}
