// The local fleet's supervisor: nats-server and every service instance as child processes, kept at
// their desired counts. Exited instances restart with exponential backoff; rollouts go the way ECS
// runs them (minimumHealthyPercent 100, maximumPercent 200): new instances first, old ones drained
// only once the new ones answer $SRV.PING with the new version; failures stop the new ones instead.
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type {
  Artifact,
  DeploymentInfo,
  DeploymentStatus,
  InstanceInfo,
  PlatformEvent,
  RolloutState,
  ServiceDescription,
  ServiceState,
  StoppedInstance,
} from "../platform.js";
import { OperationError } from "../../output/errors.js";
import { writeFleetRecord, removeFleetRecord, type FleetRecord } from "./fleet-record.js";
import {
  CONTROL_PREFIX,
  ControlError,
  type ControlOp,
  type ControlReply,
  type ControlRequests,
  type ControlResults,
} from "./control-protocol.js";
import { describeExit, explainLines } from "./exit-reason.js";
import { BACKOFF, backoffDelay, crashStreak } from "./restart-backoff.js";
import { LoggedChild, type ChildExit } from "./logged-child.js";
import { connectFleet, fleetConnectOptions, type FleetNats } from "./fleet-connection.js";
import {
  monitoringUrls,
  NatsStartError,
  natsUrl,
  natsUrlFrom,
  planNodes,
  spawnNode,
  waitNatsReady,
  type NatsNodeSpec,
} from "./nats-cluster.js";
import type { LocalPaths } from "./paths.js";
import { LocalRedisCluster, type RedisClusterSpec } from "./redis-cluster.js";
import { bindSharedSocket, type SharedSocket } from "./shared-socket.js";
import { createIdentity, serviceEnv, type FleetIdentity, type FleetSecurity } from "./security/fleet-security.js";

export interface ServiceSpec {
  name: string;
  desired: number;
  env: Record<string, string>;
  artifact: Artifact;
  /** an HTTP service (the gateway): the supervisor listens on 127.0.0.1:port (0: a free one) and hands the socket to every instance */
  port?: number;
}

export interface SupervisorSpec {
  project: string;
  paths: LocalPaths;
  cluster: 1 | 3 | 5;
  natsBin: string;
  /** `gs up --state redis`: a Redis Cluster every service keeps its state in */
  redis?: RedisClusterSpec;
  protoDir: string;
  services: ServiceSpec[];
  detached: boolean;
  /** how long an instance may drain (GS_SHUTDOWN_TIMEOUT_MS) */
  shutdownTimeoutMs: number;
  /** an instance that does not answer $SRV.PING within this is killed and restarted */
  startTimeoutMs: number;
  /** `gs up --secure`: mutual TLS and a NATS identity per service (paths and public keys only) */
  security?: FleetSecurity;
}

export { BACKOFF, backoffDelay, crashStreak };
/** a rollout fails once this many new instances exited before becoming healthy */
export const ROLLOUT_FAILURE_THRESHOLD = 2;
const TICK_MS = 200;
const HISTORY = { events: 30, stopped: 15, deployments: 8, lastLines: 12 };

interface Instance {
  id: string;
  dep: Deployment;
  child: LoggedChild;
  state: "pending" | "running" | "stopping";
  healthFile: string;
  startedAt: number;
  natsId?: string;
  healthyAt?: number;
  probing: boolean;
  stopReason?: string;
  /** why the supervisor killed it (health check), reported instead of the signal */
  killReason?: string;
}

interface Slot {
  failures: number;
  nextStartAt: number;
  crashLooping: boolean;
  inst?: Instance;
}

interface Deployment {
  id: string;
  artifact: Artifact;
  desired: number;
  status: DeploymentStatus;
  rolloutState: RolloutState;
  reason?: string;
  timedOut?: boolean;
  failed: number;
  lastFailure?: string;
  createdAt: number;
  updatedAt: number;
  deadline?: number;
  /** the deployment `gs up` made: it waits out crash loops instead of failing */
  initial: boolean;
  slots: Slot[];
}

interface ServiceState_ {
  name: string;
  desired: number;
  env: Record<string, string>;
  restarts: number;
  events: PlatformEvent[];
  stopped: StoppedInstance[];
  /** newest first */
  deployments: Deployment[];
  /** `gs deploy --canary`: groups of a new version beside the deployments, same queue group; newest first */
  canaries: Deployment[];
  draining: Set<Instance>;
}

export class Supervisor {
  readonly natsUrl: Promise<string>;
  /** resolves once everything is stopped */
  readonly done: Promise<void>;
  private resolveUrl!: (url: string) => void;
  private resolveDone!: () => void;
  private nodes: NatsNodeSpec[] = [];
  private natsChildren: LoggedChild[] = [];
  private redis?: LocalRedisCluster;
  /** the listening socket of each HTTP service, shared by its instances */
  private readonly listeners = new Map<string, { socket: SharedSocket; url: string }>();
  /** the system account's user, for `gs status` (see nats-cluster.ts) */
  private system?: FleetIdentity;
  private nc?: NatsConnection;
  private control?: Subscription;
  private readonly services = new Map<string, ServiceState_>();
  private timer?: NodeJS.Timeout;
  private stopping?: Promise<void>;
  private lastRecord = "";
  private readonly startedAt = new Date().toISOString();
  private readonly maxStarting = Math.max(4, os.cpus().length * 4);

  constructor(
    private readonly spec: SupervisorSpec,
    private readonly log: (line: string) => void = () => undefined,
  ) {
    this.natsUrl = new Promise((r) => (this.resolveUrl = r));
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  /** Start nats-server, the control API and every instance; returns once they are spawned (not yet healthy). */
  async start(): Promise<void> {
    const { paths } = this.spec;
    rmSync(paths.logs, { recursive: true, force: true });
    rmSync(paths.run, { recursive: true, force: true });
    mkdirSync(paths.run, { recursive: true });
    try {
      this.listen();
      // both finish (or fail) before anything is stopped: stop() must not race a start still spawning
      const started = await Promise.allSettled([this.startNats(), this.startRedis()]);
      const failed = started.find((r) => r.status === "rejected");
      if (failed) throw failed.reason;
      const url = natsUrl(this.nodes);
      this.nc = await connectFleet(this.fleetNats(url), {
        name: "gs-local-supervisor",
        timeout: 5000,
        reconnect: true,
      });
      this.control = this.nc.subscribe(`${CONTROL_PREFIX}.*`, {
        callback: (err, msg) => {
          if (!err) void this.onControl(msg.subject, msg.data, (d) => msg.respond(d));
        },
      });
      await this.nc.flush(); // the control subscription is live before the record says where to find it
      for (const s of this.spec.services) this.addService(s);
      this.writeRecord("starting");
      this.resolveUrl(url);
      this.timer = setInterval(() => this.tick(), TICK_MS);
      this.tick();
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** How gs connects: with the client certificate and operator identity when the fleet is secure. */
  private fleetNats(url: string): FleetNats {
    const sec = this.spec.security;
    return sec ? { url, tls: { ...sec.client }, nkey: sec.operator.nkey } : { url };
  }

  /** Stop every instance (they drain), then nats-server; remove the fleet record. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.timer) clearInterval(this.timer);
      const grace = this.spec.shutdownTimeoutMs + 3000;
      const all: Promise<unknown>[] = [];
      for (const svc of this.services.values()) {
        for (const inst of this.instancesOf(svc)) {
          inst.state = "stopping";
          inst.stopReason ??= "stopped by gs down";
          all.push(inst.child.stop(grace));
        }
      }
      if (all.length) this.log(`stopping ${all.length} instances`);
      await Promise.all(all);
      this.control?.unsubscribe();
      await this.nc?.close().catch(() => undefined);
      await Promise.all([...this.natsChildren.map((c) => c.stop(5000)), this.redis?.stop()]);
      for (const l of this.listeners.values()) l.socket.close();
      removeFleetRecord(this.spec.paths);
      rmSync(this.spec.paths.run, { recursive: true, force: true });
      this.log("stopped");
      this.resolveDone();
    })();
    return this.stopping;
  }

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  /** The platform's view of every service (or the named ones). */
  describe(names?: string[]): ServiceDescription[] {
    const list = names?.length ? names.map((n) => this.service(n)) : [...this.services.values()];
    return list.map((s) => this.describeService(s));
  }

  scale(name: string, desired: number): ServiceDescription {
    if (!Number.isInteger(desired) || desired < 0 || desired > 100)
      throw new ControlError(`bad count ${desired}: expected 0 to 100`, { usage: true });
    const svc = this.service(name);
    const was = svc.desired;
    svc.desired = desired;
    const primary = this.primary(svc);
    if (primary) primary.desired = desired;
    for (const d of svc.deployments) if (d.status === "ACTIVE") d.desired = Math.min(d.desired, desired);
    if (primary && primary.rolloutState !== "IN_PROGRESS" && desired > was) {
      primary.rolloutState = "IN_PROGRESS";
      primary.initial = true;
      primary.updatedAt = Date.now();
    }
    this.event(svc, `desired count ${was} -> ${desired}`);
    this.tick();
    return this.describeService(svc);
  }

  startDeployment(name: string, artifact: Artifact, timeoutMs: number): DeploymentInfo {
    const svc = this.service(name);
    const primary = this.primary(svc);
    // the same version again (a retried request, a deploy taking over one left in progress) is that deployment
    if (primary && primary.artifact.version === artifact.version) return this.deploymentInfo(svc, primary);
    if (primary && primary.rolloutState === "IN_PROGRESS" && !primary.initial) {
      throw new ControlError(`a deployment of ${name} (${primary.artifact.version}) is in progress`, {
        hint: "wait for it to finish, then deploy again",
        code: "deployment_in_progress",
      });
    }
    if (primary) primary.status = "ACTIVE";
    const now = Date.now();
    const dep: Deployment = {
      id: `${name}-dep-${randomBytes(4).toString("hex")}`,
      artifact,
      desired: svc.desired,
      status: "PRIMARY",
      rolloutState: "IN_PROGRESS",
      failed: 0,
      createdAt: now,
      updatedAt: now,
      deadline: now + timeoutMs,
      initial: false,
      slots: [],
    };
    svc.deployments.unshift(dep);
    this.event(svc, `deployment ${dep.id} started: ${primary?.artifact.version ?? "-"} -> ${artifact.version}`);
    this.tick();
    return this.deploymentInfo(svc, dep);
  }

  describeDeployment(name: string, id: string): DeploymentInfo {
    const svc = this.service(name);
    return this.deploymentInfo(svc, this.deployment(svc, id));
  }

  stopDeployment(name: string, id: string, reason: string): DeploymentInfo {
    const svc = this.service(name);
    const dep = this.deployment(svc, id);
    if (dep.rolloutState === "IN_PROGRESS" && !dep.initial) this.failDeployment(svc, dep, reason, false);
    return this.deploymentInfo(svc, dep);
  }

  /** `count` instances of `artifact` beside the service's own, in the same queue group; the service itself is unchanged. */
  startCanary(name: string, artifact: Artifact, count: number, label: string): DeploymentInfo {
    const svc = this.service(name);
    if (!Number.isInteger(count) || count < 1 || count >= svc.desired)
      throw new ControlError(`bad canary size ${count}: ${name} runs ${svc.desired}, a canary must be smaller`, {
        code: "canary_too_large",
        usage: true,
      });
    if (svc.canaries.some((c) => c.id === label))
      throw new ControlError(`a canary ${label} of ${name} exists already`, { code: "canary_exists", usage: true });
    const now = Date.now();
    const dep: Deployment = {
      id: label.replace(/[^A-Za-z0-9_/-]/g, "-"),
      artifact,
      desired: count,
      status: "ACTIVE",
      rolloutState: "IN_PROGRESS",
      failed: 0,
      createdAt: now,
      updatedAt: now,
      initial: false,
      slots: [],
    };
    svc.canaries.unshift(dep);
    this.event(
      svc,
      `canary ${dep.id} started: ${count} of ${artifact.version} beside ${this.primary(svc)?.artifact.version ?? "-"}`,
    );
    this.tick();
    return this.deploymentInfo(svc, dep);
  }

  describeCanary(name: string, id: string): DeploymentInfo {
    const svc = this.service(name);
    return this.deploymentInfo(svc, this.canary(svc, id));
  }

  /** The canary's instances drain and stop; its record stays (INACTIVE) for describeCanary. */
  stopCanary(name: string, id: string, reason: string): DeploymentInfo {
    const svc = this.service(name);
    const dep = this.canary(svc, id);
    if (dep.status !== "INACTIVE") {
      dep.status = "INACTIVE";
      dep.desired = 0;
      dep.reason = reason;
      if (dep.rolloutState === "IN_PROGRESS") dep.rolloutState = "FAILED";
      dep.updatedAt = Date.now();
      this.reconcile(svc, dep, Number.POSITIVE_INFINITY);
      this.event(svc, `canary ${dep.id} stopped: ${reason}`);
    }
    return this.deploymentInfo(svc, dep);
  }

  private canary(svc: ServiceState_, id: string): Deployment {
    const dep = svc.canaries.find((d) => d.id === id);
    if (!dep) throw new ControlError(`no canary ${id} of ${svc.name}`, { code: "unknown_canary", usage: true });
    return dep;
  }

  /** Keep each canary at its count; it is COMPLETED once all its instances answer. Returns instances started. */
  private tickCanaries(svc: ServiceState_, starting: number): number {
    let started = 0;
    for (const dep of svc.canaries) {
      if (dep.status === "INACTIVE" && dep.slots.length === 0) continue;
      started += this.reconcile(svc, dep, starting + started);
      const running = dep.slots.filter((s) => s.inst?.state === "running").length;
      if (dep.status === "ACTIVE" && dep.rolloutState === "IN_PROGRESS" && running >= dep.desired) {
        dep.rolloutState = "COMPLETED";
        dep.updatedAt = Date.now();
      }
    }
    // stopped canaries are kept a while for describeCanary, not forever
    if (svc.canaries.length > HISTORY.deployments)
      svc.canaries = svc.canaries.filter((d, i) => i < HISTORY.deployments || d.slots.length > 0);
    return started;
  }

  // ---- control API --------------------------------------------------------------------------

  private async onControl(subject: string, data: Uint8Array, respond: (data: Uint8Array) => void): Promise<void> {
    const op = subject.slice(CONTROL_PREFIX.length + 1) as ControlOp;
    let reply: ControlReply<unknown>;
    try {
      const body = data.length ? JSON.parse(new TextDecoder().decode(data)) : {};
      reply = { ok: true, result: this.handle(op, body) };
    } catch (err) {
      const e = err as ControlError;
      reply = {
        ok: false,
        error: { message: e.message, ...(e instanceof ControlError ? e.body : { code: "internal" }) },
      };
    }
    respond(new TextEncoder().encode(JSON.stringify(reply)));
    if (op === "down" && reply.ok) setTimeout(() => void this.stop(), 10);
  }

  private handle<K extends ControlOp>(op: K, body: ControlRequests[K]): ControlResults[K] {
    const b = body as never as ControlRequests[ControlOp] & Record<string, never>;
    switch (op) {
      case "status":
        return { services: this.describe((b as ControlRequests["status"]).names) } as ControlResults[K];
      case "scale": {
        const r = b as ControlRequests["scale"];
        return this.scale(r.service, r.desired) as ControlResults[K];
      }
      case "deploy": {
        const r = b as ControlRequests["deploy"];
        return this.startDeployment(r.service, r.artifact, r.timeoutMs) as ControlResults[K];
      }
      case "deployment": {
        const r = b as ControlRequests["deployment"];
        return this.describeDeployment(r.service, r.id) as ControlResults[K];
      }
      case "stop-deployment": {
        const r = b as ControlRequests["stop-deployment"];
        return this.stopDeployment(r.service, r.id, r.reason) as ControlResults[K];
      }
      case "canary": {
        const r = b as ControlRequests["canary"];
        return this.startCanary(r.service, r.artifact, r.count, r.label) as ControlResults[K];
      }
      case "canary-status": {
        const r = b as ControlRequests["canary-status"];
        return this.describeCanary(r.service, r.id) as ControlResults[K];
      }
      case "stop-canary": {
        const r = b as ControlRequests["stop-canary"];
        return this.stopCanary(r.service, r.id, r.reason) as ControlResults[K];
      }
      case "down":
        return { stopping: true } as ControlResults[K];
      default:
        throw new ControlError(`unknown control operation "${String(op)}"`, { code: "bad_request" });
    }
  }

  // ---- nats-server ----------------------------------------------------------------------------

  private async startNats(): Promise<void> {
    const { paths, cluster, natsBin } = this.spec;
    let last: Error | undefined;
    this.system ??= this.spec.security?.system ?? createIdentity(paths.nats, "gs-system");
    // a free port can be taken between the probe and the bind: try again on fresh ports
    for (let attempt = 0; attempt < 3; attempt++) {
      this.nodes = await planNodes(cluster, paths.nats, paths.logs, this.system, this.spec.security);
      this.natsChildren = this.nodes.map((n) => spawnNode(natsBin, n, paths.root));
      try {
        const connectOpts = fleetConnectOptions(this.fleetNats(natsUrl(this.nodes)));
        await waitNatsReady(this.nodes, this.natsChildren, cluster > 1 ? 30_000 : 10_000, connectOpts);
        const secure = this.spec.security ? ", TLS required, per-service users" : "";
        this.log(
          `nats-server ready on ${natsUrl(this.nodes)}${cluster > 1 ? ` (${cluster}-node JetStream cluster${secure})` : ` (JetStream${secure})`}`,
        );
        this.natsChildren.forEach((c, i) => this.watchNats(c, i));
        return;
      } catch (err) {
        last = err as Error;
        await Promise.all(this.natsChildren.map((c) => c.stop(2000)));
        if (!(err instanceof NatsStartError)) break;
      }
    }
    throw last ?? new NatsStartError("nats-server did not start");
  }

  /** nats-server is supervised too: restarted on the same ports and data, with backoff. */
  private watchNats(child: LoggedChild, i: number, failures = 0): void {
    void child.exited.then((exit) => {
      if (this.stopping) return;
      const node = this.nodes[i]!;
      // judged by the node that just exited, not by the one before it
      const streak = crashStreak(failures, Date.now() - child.startedAt);
      const delay = backoffDelay(streak);
      this.log(
        `nats-server ${node.name} ${describeExit(exit)}; restarting in ${delay}ms: ${child.lastLines().at(-1) ?? ""}`,
      );
      setTimeout(() => {
        if (this.stopping) return;
        const next = spawnNode(this.spec.natsBin, node, this.spec.paths.root);
        this.natsChildren[i] = next;
        this.watchNats(next, i, streak);
      }, delay);
    });
  }

  // ---- Redis Cluster and HTTP sockets ------------------------------------------------------------

  private async startRedis(): Promise<void> {
    if (!this.spec.redis) return;
    const { paths } = this.spec;
    this.redis = new LocalRedisCluster(
      this.spec.redis,
      { redis: paths.redis, logs: paths.logs, root: paths.root },
      this.log,
    );
    await this.redis.start(60_000);
  }

  /** One loopback socket per HTTP service, opened before its instances: the address stays through restarts and rollouts. */
  private listen(): void {
    for (const s of this.spec.services) {
      if (s.port === undefined) continue;
      let socket: SharedSocket;
      try {
        socket = bindSharedSocket(s.port);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new OperationError(
          `cannot listen on 127.0.0.1:${s.port} for ${s.name}: ${code === "EADDRINUSE" ? "the port is taken" : (err as Error).message}`,
          {
            hint: `set services.${s.name}.port in gs.yaml to a free port, or to 0 for any free one`,
            code: "port_taken",
          },
        );
      }
      this.listeners.set(s.name, { socket, url: `http://127.0.0.1:${socket.port}` });
      this.log(`${s.name} listens on http://127.0.0.1:${socket.port}`);
    }
  }

  // ---- services -------------------------------------------------------------------------------

  private addService(s: ServiceSpec): void {
    const now = Date.now();
    const svc: ServiceState_ = {
      name: s.name,
      desired: s.desired,
      env: s.env,
      restarts: 0,
      events: [],
      stopped: [],
      deployments: [],
      canaries: [],
      draining: new Set(),
    };
    svc.deployments.push({
      id: `${s.name}-dep-${randomBytes(4).toString("hex")}`,
      artifact: s.artifact,
      desired: s.desired,
      status: "PRIMARY",
      rolloutState: "IN_PROGRESS",
      failed: 0,
      createdAt: now,
      updatedAt: now,
      initial: true,
      slots: [],
    });
    this.services.set(s.name, svc);
  }

  private service(name: string): ServiceState_ {
    const svc = this.services.get(name);
    if (!svc) {
      throw new ControlError(
        `${name} is not part of the local fleet (running: ${[...this.services.keys()].join(", ") || "none"})`,
        {
          hint: "start it with `gs up` (list it in gs.yaml, or in --services)",
          code: "unknown_service",
          usage: true,
        },
      );
    }
    return svc;
  }

  private deployment(svc: ServiceState_, id: string): Deployment {
    const dep = svc.deployments.find((d) => d.id === id);
    if (!dep) throw new ControlError(`no deployment ${id} of ${svc.name}`, { code: "unknown_deployment", usage: true });
    return dep;
  }

  private primary(svc: ServiceState_): Deployment | undefined {
    return svc.deployments.find((d) => d.status === "PRIMARY");
  }

  private *instancesOf(svc: ServiceState_): Generator<Instance> {
    for (const d of svc.deployments) for (const s of d.slots) if (s.inst) yield s.inst;
    for (const d of svc.canaries) for (const s of d.slots) if (s.inst) yield s.inst;
    yield* svc.draining;
  }

  private tick(): void {
    if (this.stopping || !this.nc) return;
    let starting = 0;
    for (const svc of this.services.values())
      for (const i of this.instancesOf(svc)) if (i.state === "pending") starting++;
    for (const svc of this.services.values()) {
      for (const dep of svc.deployments) {
        if (dep.status === "INACTIVE" && dep.slots.length === 0) continue;
        starting += this.reconcile(svc, dep, starting);
      }
      starting += this.tickCanaries(svc, starting);
      this.advanceRollout(svc);
      for (const inst of this.instancesOf(svc)) if (inst.state === "pending") this.probe(svc, inst);
      if (svc.deployments.length > HISTORY.deployments) {
        svc.deployments = svc.deployments.filter(
          (d, i) => i < HISTORY.deployments || d.status !== "INACTIVE" || d.slots.length > 0,
        );
      }
    }
    this.writeRecord("running");
  }

  /** Bring a deployment's slots to its desired count and (re)start empty slots whose backoff passed. Returns instances started. */
  private reconcile(svc: ServiceState_, dep: Deployment, starting: number): number {
    const target = dep.status === "INACTIVE" ? 0 : dep.desired;
    while (dep.slots.length < target) dep.slots.push({ failures: 0, nextStartAt: 0, crashLooping: false });
    if (dep.slots.length > target) {
      // remove the slots that serve least first: empty, then pending, then running
      const rank = (s: Slot) => (!s.inst ? 0 : s.inst.state === "pending" ? 1 : 2);
      dep.slots.sort((a, b) => rank(b) - rank(a));
      for (const slot of dep.slots.splice(target)) {
        if (slot.inst)
          this.stopInstance(
            svc,
            slot.inst,
            dep.status === "INACTIVE" ? `stopped by deployment ${dep.id}` : "stopped by scale",
          );
      }
    }
    let started = 0;
    const now = Date.now();
    for (const slot of dep.slots) {
      if (slot.inst || now < slot.nextStartAt) continue;
      // starting everything at once on a small machine makes every start slow: cap instances in flight
      if (starting + started >= this.maxStarting) break;
      slot.inst = this.spawnInstance(svc, dep, slot);
      started++;
    }
    return started;
  }

  private spawnInstance(svc: ServiceState_, dep: Deployment, slot: Slot): Instance {
    const { paths } = this.spec;
    const id = `${svc.name}-${randomBytes(3).toString("hex")}`;
    const healthFile = path.join(paths.run, `${id}.json`);
    const env: NodeJS.ProcessEnv = {};
    // the user's NATS credentials and gs settings are not the local fleet's
    for (const [k, v] of Object.entries(process.env)) if (!/^(NATS_|GS_)/.test(k)) env[k] = v;
    // instance k of a service starts on node k (offset per service): losing one node never
    // disconnects every instance of a service at once
    const spread = [...this.services.keys()].indexOf(svc.name) + dep.slots.indexOf(slot);
    // --state redis: every service keeps its state in the fleet's Redis Cluster, unless gs.yaml says otherwise
    const state =
      this.redis && !svc.env.GS_STATE_BACKEND
        ? { GS_STATE_BACKEND: "redis-cluster", GS_REDIS_URL: this.redis.serviceUrl() }
        : {};
    const listener = this.listeners.get(svc.name);
    Object.assign(env, svc.env, state, this.spec.security ? serviceEnv(this.spec.security, svc.name) : {}, {
      NATS_URL: natsUrlFrom(this.nodes, Math.max(0, spread)),
      NATS_NO_RANDOMIZE: "1",
      GS_SERVICE_VERSION: dep.artifact.version,
      GS_HEALTH_FILE: healthFile,
      GS_PROTO_DIR: this.spec.protoDir,
      // streams and KV buckets: R1 on one node, R3 on a cluster of 3 or 5
      GS_JS_REPLICAS: String(Math.min(this.spec.cluster, 3)),
      ...(listener ? { GS_LISTEN: "ipc" } : {}),
      GS_SHUTDOWN_TIMEOUT_MS: String(this.spec.shutdownTimeoutMs),
      GS_INSTANCE_ID: id,
      GS_SUPERVISED: "1",
    });
    const child = new LoggedChild({
      command: process.execPath,
      args: [dep.artifact.ref],
      env,
      cwd: paths.root,
      logFile: path.join(paths.logs, svc.name, `${id}.log`),
      tail: HISTORY.lastLines,
      ipc: listener !== undefined,
    });
    // the instance serves on the service's one socket (as node's cluster module shares a port)
    if (listener) child.sendHandle({ gs: "listen" }, listener.socket.handle);
    const inst: Instance = { id, dep, child, state: "pending", healthFile, startedAt: Date.now(), probing: false };
    void child.exited.then((exit) => this.onExit(svc, slot, inst, exit));
    return inst;
  }

  private stopInstance(svc: ServiceState_, inst: Instance, reason: string): void {
    inst.state = "stopping";
    inst.stopReason = reason;
    svc.draining.add(inst);
    void inst.child.stop(this.spec.shutdownTimeoutMs + 3000);
  }

  private onExit(svc: ServiceState_, slot: Slot, inst: Instance, exit: ChildExit): void {
    rmSync(inst.healthFile, { force: true });
    svc.draining.delete(inst);
    if (slot.inst === inst) slot.inst = undefined;
    const lastLines = inst.child.lastLines().slice(-HISTORY.lastLines);
    const planned = inst.state === "stopping";
    const reason = planned ? inst.stopReason! : (inst.killReason ?? describeExit(exit));
    svc.stopped.push({
      id: inst.id,
      version: inst.dep.artifact.version,
      exitCode: exit.code,
      ...(exit.signal ? { signal: exit.signal } : {}),
      stoppedAt: new Date().toISOString(),
      reason,
      lastLines,
    });
    if (svc.stopped.length > HISTORY.stopped) svc.stopped.shift();
    if (planned || this.stopping) return;

    const rollingOut = inst.dep.rolloutState === "IN_PROGRESS" && !inst.dep.initial;
    if (!rollingOut) svc.restarts++; // a failing rollout counts its failures on the deployment instead
    const now = Date.now();
    slot.failures = crashStreak(slot.failures, inst.healthyAt ? now - inst.healthyAt : 0);
    const delay = backoffDelay(slot.failures);
    slot.nextStartAt = now + delay;
    const wasLooping = slot.crashLooping;
    slot.crashLooping = slot.failures >= BACKOFF.crashLoopAfter;
    if (!inst.healthyAt) {
      inst.dep.failed++;
      const why = explainLines(lastLines);
      inst.dep.lastFailure = `instance ${inst.id} ${reason}${why ? `: ${why}` : ""}`;
    }
    this.event(
      svc,
      `instance ${inst.id} ${reason}; restarting in ${delay}ms${slot.crashLooping && !wasLooping ? " (crash-looping)" : ""}`,
    );
  }

  /** Pending instances become running once their micro instance answers $SRV.PING with their version. */
  private probe(svc: ServiceState_, inst: Instance): void {
    if (inst.probing || !this.nc) return;
    const age = Date.now() - inst.startedAt;
    if (age > this.spec.startTimeoutMs) {
      inst.killReason = `did not answer $SRV.PING within ${Math.round(this.spec.startTimeoutMs / 1000)}s`;
      inst.child.kill("SIGKILL");
      return;
    }
    if (!inst.natsId) {
      try {
        inst.natsId = (JSON.parse(readFileSync(inst.healthFile, "utf8")) as { id?: string }).id;
      } catch {
        return; // not started yet
      }
      if (!inst.natsId) return;
    }
    inst.probing = true;
    this.nc
      .request(`$SRV.PING.${svc.name}.${inst.natsId}`, "", { timeout: 1000 })
      .then((m) => {
        const pong = m.json<{ version?: string }>();
        if (inst.state === "pending" && pong.version === inst.dep.artifact.version) {
          inst.state = "running";
          inst.healthyAt = Date.now();
          const slot = inst.dep.slots.find((s) => s.inst === inst);
          if (slot) slot.crashLooping = false;
        }
      })
      .catch(() => undefined)
      .finally(() => (inst.probing = false));
  }

  private advanceRollout(svc: ServiceState_): void {
    const dep = this.primary(svc);
    if (!dep || dep.rolloutState !== "IN_PROGRESS") return;
    const now = Date.now();
    if (!dep.initial && dep.failed >= ROLLOUT_FAILURE_THRESHOLD) {
      this.failDeployment(
        svc,
        dep,
        `${dep.failed} new instances failed to start: ${dep.lastFailure ?? "exited"}`,
        false,
      );
      return;
    }
    if (!dep.initial && dep.deadline && now > dep.deadline) {
      const last = dep.lastFailure ? `; ${dep.lastFailure}` : "";
      this.failDeployment(
        svc,
        dep,
        `new instances did not answer $SRV.PING with ${dep.artifact.version} within ${Math.round((dep.deadline - dep.createdAt) / 1000)}s${last}`,
        true,
      );
      return;
    }
    const running = dep.slots.filter((s) => s.inst?.state === "running").length;
    if (running < dep.desired) return;
    // the new instances are healthy: drain the old deployments
    let old = 0;
    for (const d of svc.deployments) {
      if (d === dep || d.status === "INACTIVE") continue;
      d.status = "INACTIVE";
      d.desired = 0;
      d.updatedAt = now;
      old += d.slots.length;
    }
    if (old) this.reconcileAll(svc);
    const draining = [...svc.draining].some((i) => i.dep !== dep);
    if (draining) return;
    dep.rolloutState = "COMPLETED";
    dep.reason = `${running} instance${running === 1 ? "" : "s"} of ${dep.artifact.version} answer`;
    dep.updatedAt = now;
    this.event(
      svc,
      dep.initial
        ? `${running}/${dep.desired} running (${dep.artifact.version})`
        : `deployment ${dep.id} completed: ${dep.reason}`,
    );
    dep.initial = false;
  }

  private reconcileAll(svc: ServiceState_): void {
    for (const d of svc.deployments) this.reconcile(svc, d, Number.POSITIVE_INFINITY);
  }

  /** Stop the new instances and give the service back to the previous deployment. */
  private failDeployment(svc: ServiceState_, dep: Deployment, reason: string, timedOut: boolean): void {
    const now = Date.now();
    dep.rolloutState = "FAILED";
    dep.reason = reason;
    dep.timedOut = timedOut || undefined;
    dep.status = "INACTIVE";
    dep.desired = 0;
    dep.updatedAt = now;
    const previous = svc.deployments.find((d) => d !== dep && d.status === "ACTIVE");
    if (previous) {
      previous.status = "PRIMARY";
      previous.desired = svc.desired;
      previous.updatedAt = now;
    }
    this.reconcileAll(svc);
    this.event(
      svc,
      `deployment ${dep.id} failed, rolled back to ${previous?.artifact.version ?? "nothing"}: ${reason}`,
    );
  }

  private event(svc: ServiceState_, message: string): void {
    svc.events.push({ at: new Date().toISOString(), message });
    if (svc.events.length > HISTORY.events) svc.events.shift();
    this.log(`${svc.name}: ${message}`);
  }

  // ---- views ----------------------------------------------------------------------------------

  private deploymentInfo(svc: ServiceState_, dep: Deployment): DeploymentInfo {
    const running = dep.slots.filter((s) => s.inst?.state === "running").length;
    return {
      id: dep.id,
      service: svc.name,
      status: dep.status,
      artifact: dep.artifact,
      desired: dep.desired,
      running,
      pending: dep.slots.length - running,
      failed: dep.failed,
      rolloutState: dep.rolloutState,
      ...(dep.reason ? { reason: dep.reason } : {}),
      ...(dep.timedOut ? { timedOut: true } : {}),
      createdAt: new Date(dep.createdAt).toISOString(),
      updatedAt: new Date(dep.updatedAt).toISOString(),
    };
  }

  private describeService(svc: ServiceState_): ServiceDescription {
    const primary = this.primary(svc);
    const live = svc.deployments.filter((d) => d.status !== "INACTIVE");
    const running = live.reduce((n, d) => n + d.slots.filter((s) => s.inst?.state === "running").length, 0);
    const pending = live.reduce((n, d) => n + d.slots.filter((s) => s.inst?.state !== "running").length, 0);
    const looping = live.some((d) => d.slots.some((s) => s.crashLooping));
    let state: ServiceState;
    if (svc.desired === 0 && running === 0) state = "stopped";
    else if (primary?.rolloutState === "IN_PROGRESS" && !primary.initial) state = "deploying";
    else if (looping) state = "crash-looping";
    else if (running >= svc.desired) state = "steady";
    else if (primary?.rolloutState === "IN_PROGRESS") state = "starting";
    else state = "degraded";
    const instances: InstanceInfo[] = [...this.instancesOf(svc)].map((i) => ({
      id: i.id,
      deploymentId: i.dep.id,
      version: i.dep.artifact.version,
      state: i.state,
      ...(i.natsId ? { natsId: i.natsId } : {}),
      ...(i.child.pid ? { pid: i.child.pid } : {}),
      startedAt: new Date(i.startedAt).toISOString(),
    }));
    const listener = this.listeners.get(svc.name);
    return {
      name: svc.name,
      ...(listener ? { url: listener.url } : {}),
      desired: svc.desired,
      running,
      pending,
      restarts: svc.restarts,
      ...(primary ? { version: primary.artifact.version } : {}),
      state,
      deployments: svc.deployments.map((d) => this.deploymentInfo(svc, d)),
      instances,
      events: [...svc.events],
      stopped: [...svc.stopped],
    };
  }

  private writeRecord(state: FleetRecord["state"]): void {
    if (this.stopping) return;
    const pids: FleetRecord["pids"] = [];
    this.natsChildren.forEach((c, i) => c.pid && pids.push({ pid: c.pid, what: `nats-server ${this.nodes[i]!.name}` }));
    if (this.redis) pids.push(...this.redis.pids());
    const services: FleetRecord["services"] = {};
    for (const svc of this.services.values()) {
      for (const i of this.instancesOf(svc))
        if (i.child.pid && i.child.running) pids.push({ pid: i.child.pid, what: i.id });
      const url = this.listeners.get(svc.name)?.url;
      services[svc.name] = {
        desired: svc.desired,
        version: this.primary(svc)?.artifact.version,
        ...(url ? { url } : {}),
      };
    }
    const rec: Omit<FleetRecord, "updatedAt"> = {
      version: 1,
      project: this.spec.project,
      root: this.spec.paths.root,
      state,
      supervisor: { pid: process.pid, startedAt: this.startedAt, detached: this.spec.detached },
      nats: {
        ...this.fleetNats(natsUrl(this.nodes)),
        ...(this.system ? { system: { nkey: this.system.nkey } } : {}),
        monitoring: monitoringUrls(this.nodes, Boolean(this.spec.security)),
        nodes: this.nodes.map((n, i) => ({
          name: n.name,
          port: n.port,
          clusterPort: n.clusterPort,
          monitorPort: n.monitorPort,
          pid: this.natsChildren[i]?.pid,
        })),
      },
      ...(this.redis ? { redis: this.redis.record() } : {}),
      control: { prefix: CONTROL_PREFIX },
      pids,
      services,
    };
    const text = JSON.stringify(rec);
    if (text === this.lastRecord) return;
    this.lastRecord = text;
    writeFleetRecord(this.spec.paths, { ...rec, updatedAt: new Date().toISOString() });
  }
}
