// The Platform interface: what gs needs from wherever the fleet runs. Two implementations share it:
// local (processes under a supervisor, src/lib/platform/local) and ecs (services, task definitions,
// deployments). The words follow ECS so the mapping is direct: a service has a desired count and
// deployments; a deployment rolls one artifact out and ends COMPLETED or FAILED; instances are tasks.

/** What a deployment rolls out. */
export interface Artifact {
  /** the version the new instances report over NATS ($SRV.INFO version), e.g. `0.1.0+3fa2b1c9d0e1` */
  version: string;
  /** content hash of the build (12 hex) */
  hash: string;
  /** where the platform finds it: a bundle path (local) or an image URI pinned by digest (ecs) */
  ref: string;
  /** short digests of what the hash was made from (`bundle`, `dockerfile`, `base`, `deps`, `proto`): says why a version changed */
  inputs?: Record<string, string>;
  /** ecs: the task-definition revision (ARN) that runs it; deploying an artifact that has one updates the service to it, registering nothing */
  revision?: string;
}

/** How a version's time on a service ended: `gs history` shows it, `gs rollback` goes back to the newest `deployed` one. */
export type ReleaseOutcome = "deployed" | "rolled_back" | "failed" | "canary_aborted";

/** One version that ran on a service, as the platform records it (nothing here is inferred). */
export interface ReleaseRecord {
  artifact: Artifact;
  /** ISO time it began rolling out (ecs: the revision's registeredAt) */
  startedAt: string;
  /** ISO time its outcome was recorded when that ended its run (failed, rolled back, canary aborted) */
  endedAt?: string;
  /** absent while it rolls out, or when no gs recorded it (a revision registered by other tools) */
  outcome?: ReleaseOutcome;
  /** who or what deployed it (`user@host`, or the CI run), when recorded */
  deployedBy?: string;
  /** the service runs it now */
  current: boolean;
  /** false when the platform can no longer run it (local: its build was removed from .gs/builds) */
  available: boolean;
}

export type RolloutState = "IN_PROGRESS" | "COMPLETED" | "FAILED";

/** PRIMARY: the newest deployment; ACTIVE: an older one still running instances; INACTIVE: done. */
export type DeploymentStatus = "PRIMARY" | "ACTIVE" | "INACTIVE";

export interface DeploymentInfo {
  id: string;
  service: string;
  status: DeploymentStatus;
  artifact: Artifact;
  desired: number;
  /** instances of this deployment that are up and answer */
  running: number;
  /** started, not yet answering (or waiting to be restarted) */
  pending: number;
  /** instances of this deployment that exited before they became healthy */
  failed: number;
  rolloutState: RolloutState;
  /** why it FAILED (exit codes, last log lines) or how it completed */
  reason?: string;
  /** FAILED because it was not healthy within its deadline */
  timedOut?: boolean;
  /** FAILED and the service was put back on the previous version (by gs, or by the platform itself, e.g. the ECS circuit breaker) */
  rolledBack?: boolean;
  createdAt: string;
  updatedAt: string;
}

export type InstanceState = "pending" | "running" | "stopping";

export interface InstanceInfo {
  /** the platform's id (ECS task id; local: `<service>-<6 hex>`) */
  id: string;
  deploymentId: string;
  version: string;
  state: InstanceState;
  /** the micro service instance id it answers NATS with, when known */
  natsId?: string;
  /** local only */
  pid?: number;
  startedAt: string;
}

/** An instance that stopped, and why: what `aws ecs describe-tasks` shows as stoppedReason. */
export interface StoppedInstance {
  id: string;
  version: string;
  exitCode: number | null;
  signal?: string;
  stoppedAt: string;
  /** one line, e.g. `exited with code 1` or `stopped by deployment` */
  reason: string;
  /** the instance's last log lines (oldest first) */
  lastLines: string[];
}

export interface PlatformEvent {
  at: string;
  message: string;
}

/**
 * steady: desired instances running; starting: on its way up; deploying: a rollout is in progress;
 * degraded: below desired; crash-looping: instances keep exiting; stopped: desired is 0.
 */
export type ServiceState = "steady" | "starting" | "deploying" | "degraded" | "crash-looping" | "stopped";

export interface ServiceDescription {
  name: string;
  /** an HTTP service's address (the local platform's gateway socket) */
  url?: string;
  desired: number;
  running: number;
  pending: number;
  /** unplanned instance exits since the service started */
  restarts: number;
  /** the PRIMARY deployment's version */
  version?: string;
  state: ServiceState;
  deployments: DeploymentInfo[];
  instances: InstanceInfo[];
  /** newest last */
  events: PlatformEvent[];
  /** newest last */
  stopped: StoppedInstance[];
}

export interface LogLine {
  service: string;
  instance: string;
  /** ISO time the platform received the line */
  at: string;
  text: string;
}

export interface LogQuery {
  /** only lines received at or after this time (unix ms) */
  since?: number;
  /** only this instance (id or a prefix of it, or its NATS id) */
  instance?: string;
  /** keep following new lines until `signal` aborts */
  follow?: boolean;
  signal?: AbortSignal;
}

/** `gs deploy --canary`: instances of a new version beside the service's own, in the same queue group. */
export interface StartCanaryOptions {
  /** how many instances of the new version */
  count: number;
  /** names the deploy (ecs: RunTask's `startedBy`, at most 36 letters, digits, `-`, `_`, `/`) */
  label: string;
}

export interface StartDeploymentOptions {
  /** the deployment fails (and rolls back) when its instances are not healthy within this */
  timeoutMs: number;
}

/** One value a deployment changes, e.g. `containerDefinitions[0].image`. */
export interface FieldChange {
  path: string;
  from: unknown;
  to: unknown;
}

/** A call a deployment would make, with its exact input (dry runs print these instead of making them). */
export interface PlannedCall {
  /** `ecs:RegisterTaskDefinition`, `ecs:UpdateService`, `ecr:GetAuthorizationToken`, `registry:push`, `local:deploy` */
  api: string;
  input: Record<string, unknown>;
}

/** What deploying an artifact to one service would change, found with reads only. */
export interface DeploymentPlan {
  service: string;
  /** what runs now */
  current: { version: string | null; ref: string; inputs?: Record<string, string>; revision?: string };
  /** empty when the service already runs this version */
  changes: FieldChange[];
  /** empty when the service already runs this version */
  calls: PlannedCall[];
}

export interface Platform {
  /** the gs.yaml target this platform serves */
  readonly target: string;
  readonly kind: "local" | "ecs";
  /** all services, or the named ones (unknown names are an error) */
  describeServices(names?: string[]): Promise<ServiceDescription[]>;
  /** set a service's desired count */
  scale(service: string, desired: number): Promise<ServiceDescription>;
  /** roll `artifact` out: new instances first, old ones drained once the new ones are healthy (min 100% / max 200%) */
  startDeployment(service: string, artifact: Artifact, opts: StartDeploymentOptions): Promise<DeploymentInfo>;
  describeDeployment(service: string, deploymentId: string): Promise<DeploymentInfo>;
  /**
   * Take over a deployment another process started and left in progress (a `gs deploy` that died):
   * from now on this process follows it to its end, with a deadline of `opts.timeoutMs` from now, and
   * rolls it back when it fails, as if it had started it.
   */
  resumeDeployment?(service: string, deploymentId: string, opts: StartDeploymentOptions): Promise<DeploymentInfo>;
  /** stop an in-progress deployment: its instances stop, the previous deployment keeps serving */
  stopDeployment(service: string, deploymentId: string, reason: string): Promise<DeploymentInfo>;
  /** the service's instance logs, oldest first; with `follow`, then new lines as they come */
  logs(service: string, query: LogQuery): AsyncIterable<LogLine>;
  /** the versions the service ran, newest first, at most `limit` */
  history?(service: string, limit: number): Promise<ReleaseRecord[]>;
  /** record how a deployment's version ended (ecs: `gs:outcome` tag on its revision; local: a line in .gs/history) */
  recordOutcome?(service: string, deployment: DeploymentInfo, outcome: ReleaseOutcome): Promise<void>;
  /**
   * start a canary group: `count` instances of `artifact` beside the service's own, the service unchanged. The
   * DeploymentInfo's id names the group; status ACTIVE while it runs, INACTIVE once stopped; its artifact
   * carries the revision it runs (ecs), so promoting it registers nothing new.
   */
  startCanary?(service: string, artifact: Artifact, opts: StartCanaryOptions): Promise<DeploymentInfo>;
  describeCanary?(service: string, id: string): Promise<DeploymentInfo>;
  /** stop the group's instances (they drain); the service's own instances are untouched */
  stopCanary?(service: string, id: string, reason: string): Promise<DeploymentInfo>;
  /** dry run: what startDeployment would change and call, making only reads (platforms without it get a generic plan) */
  planDeployments?(items: { service: string; artifact: Artifact }[]): Promise<DeploymentPlan[]>;
}

/** What building an artifact would do, found without building or pushing anything. */
export interface ArtifactPlan {
  /** `ref` is the final reference when the artifact exists already, else where it will be (ecs: `host/repo:tag`, pinned by digest after the push) */
  artifact: Artifact;
  /** it exists already: nothing to build or push */
  present: boolean;
  image?: { repository: string; tag: string; digest: string | null; createRepository: boolean };
  /** what making it would call (registry writes); empty when present */
  calls: PlannedCall[];
}

/** Makes artifacts for a platform: local bundles, or images pushed to a registry for ecs. */
export interface ArtifactBuilder {
  build(service: string): Promise<Artifact>;
  /** dry run: the artifact `build` would make, building and pushing nothing */
  plan?(service: string): Promise<ArtifactPlan>;
}
