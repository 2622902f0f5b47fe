// `gs up` and `gs down` for the local platform: build, start the supervisor (in this process or
// detached), wait until every service answers; stop everything and leave no process behind.
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { serviceSettings } from "../../config/load.js";
import { checkConfigServices } from "../../config/service-names.js";
import { EXIT, OperationError, UsageError } from "../../output/errors.js";
import { LocalBuilder } from "../../build/bundle.js";
import { loadProtoDirs } from "../../proto/load.js";
import type { Artifact, ServiceDescription } from "../platform.js";
import { connectFleet } from "./fleet-connection.js";
import { liveFleetRecord, readFleetRecord, removeFleetRecord, type FleetRecord } from "./fleet-record.js";
import type { LocalContext } from "./local-context.js";
import { LocalPlatform } from "./local-platform.js";
import { explainLines } from "./exit-reason.js";
import { natsServerBinary } from "./nats-cluster.js";
import { prepareFleetSecurity } from "./security/fleet-security.js";
import { createRedisPassword, redisBinaries } from "./redis-cluster.js";
import { isAlive, isOurs, isSupervisor, sleep, terminate } from "./processes.js";
import { Supervisor, type ServiceSpec, type SupervisorSpec } from "./supervisor.js";

export interface UpOptions {
  /** only these services (default: every service in gs.yaml) */
  services?: string[];
  /** desired count of every service (default: gs.yaml's) */
  replicas?: number;
  /** nats-server nodes (default: the target's) */
  cluster?: 1 | 3 | 5;
  /** where the services keep their state: JetStream KV, or a Redis Cluster started beside NATS (default: the target's) */
  state?: "jetstream" | "redis";
  /** the Redis Cluster's primaries, each with a replica (default: the target's, else 3) */
  redisShards?: number;
  /** mutual TLS and a NATS identity with least-privilege permissions per service */
  secure?: boolean;
  detach: boolean;
  /** how long to wait for every service to answer */
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  /** Ctrl-C while starting: stop what was started */
  signal?: AbortSignal;
}

export type UpProgress =
  | { kind: "build"; service: string; version: string; built: number; total: number }
  | { kind: "starting"; natsUrl?: string; services: number; instances: number }
  | { kind: "waiting"; running: number; desired: number; ready: number; total: number }
  | { kind: "event"; line: string };

export interface UpResult {
  alreadyUp: boolean;
  target: string;
  nats: { url: string };
  /** TLS required and per-service users (`--secure`) */
  secure: boolean;
  detached: boolean;
  supervisorPid: number;
  services: ServiceDescription[];
  /** `--state redis`: the Redis Cluster's nodes */
  redis?: { nodes: { name: string; port: number }[] };
  /** the foreground supervisor (not detached): the caller waits on it and stops it */
  supervisor?: Supervisor;
}

const SHUTDOWN_TIMEOUT_MS = 5000;
const START_TIMEOUT_MS = 60_000;

function chooseServices(
  ctx: LocalContext,
  opts: UpOptions,
): { name: string; desired: number; env: Record<string, string>; port?: number }[] {
  const all = serviceSettings(ctx.cfg);
  if (all.length === 0) {
    throw new UsageError(
      `no services in ${ctx.cfg.file ?? "gs.yaml"}`,
      "list the fleet's services under `services:` in gs.yaml",
    );
  }
  let chosen = all;
  if (opts.services?.length) {
    checkConfigServices(opts.services, ctx.cfg);
    chosen = all.filter((a) => opts.services!.includes(a.name));
  }
  return chosen.map((s) => ({
    name: s.name,
    desired: opts.replicas ?? s.desired,
    env: s.env,
    ...(s.port !== undefined ? { port: s.port } : {}),
  }));
}

/** Build every service; all build errors are reported together, nothing is started. */
export async function buildServices(
  ctx: LocalContext,
  names: string[],
  env: NodeJS.ProcessEnv,
  onBuilt?: (service: string, a: Artifact, n: number) => void,
): Promise<Map<string, Artifact>> {
  const builder = new LocalBuilder({
    servicesDir: ctx.servicesDir,
    protoDir: ctx.protoDir,
    outDir: ctx.paths.builds,
    salt: env.GS_BUILD_SALT,
  });
  const out = new Map<string, Artifact>();
  const failures: string[] = [];
  let n = 0;
  await Promise.all(
    names.map(async (name) => {
      try {
        const a = await builder.build(name);
        out.set(name, a);
        onBuilt?.(name, a, ++n);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }),
  );
  if (failures.length) {
    failures.sort();
    const more = failures.length > 1 ? ` (and ${failures.length - 1} more)` : "";
    throw new OperationError(`${failures[0]}${more}`, {
      hint: "fix the build, or leave the service out with --services",
      code: "build_failed",
    });
  }
  return out;
}

export async function upLocalFleet(
  ctx: LocalContext,
  opts: UpOptions,
  onProgress: (p: UpProgress) => void = () => undefined,
): Promise<UpResult> {
  const env = opts.env ?? process.env;
  const live = liveFleetRecord(ctx.paths);
  if (live) {
    const services = await describeVia(live, ctx).catch(() => [] as ServiceDescription[]);
    return {
      alreadyUp: true,
      target: ctx.targetName,
      nats: { url: live.nats.url },
      secure: Boolean(live.nats.tls),
      detached: live.supervisor.detached,
      supervisorPid: live.supervisor.pid,
      services,
      ...redisOf(live),
    };
  }
  const release = acquireStartLock(ctx);
  try {
    return await startFleet(ctx, opts, env, onProgress);
  } finally {
    release();
  }
}

async function startFleet(
  ctx: LocalContext,
  opts: UpOptions,
  env: NodeJS.ProcessEnv,
  onProgress: (p: UpProgress) => void,
): Promise<UpResult> {
  await cleanupStale(ctx);
  const natsBin = natsServerBinary(env);
  const chosen = chooseServices(ctx, opts);
  const backend = opts.state ?? ctx.target.state?.backend ?? "jetstream";
  if (opts.redisShards !== undefined && backend !== "redis")
    throw new UsageError(
      "--redis-shards needs --state redis",
      "add --state redis (or set targets.<name>.state.backend: redis in gs.yaml)",
    );
  const redisBins = backend === "redis" ? redisBinaries(env) : undefined;
  const artifacts = await buildServices(
    ctx,
    chosen.map((s) => s.name),
    env,
    (service, a, built) => onProgress({ kind: "build", service, version: a.version, built, total: chosen.length }),
  );
  const security = opts.secure
    ? await prepareFleetSecurity(
        ctx.paths.secure,
        chosen.map((s) => s.name),
        loadProtoDirs([ctx.protoDir]),
      )
    : undefined;
  const spec: SupervisorSpec = {
    project: ctx.cfg.project,
    paths: ctx.paths,
    cluster: opts.cluster ?? ctx.target.nats.cluster,
    natsBin,
    protoDir: ctx.protoDir,
    services: chosen.map((s): ServiceSpec => ({ ...s, artifact: artifacts.get(s.name)! })),
    ...(redisBins
      ? {
          redis: {
            ...redisBins,
            shards: opts.redisShards ?? ctx.target.state?.shards ?? 3,
            ...(security ? { passwordFile: createRedisPassword(ctx.paths.secure) } : {}),
          },
        }
      : {}),
    detached: opts.detach,
    shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS,
    startTimeoutMs: START_TIMEOUT_MS,
    ...(security ? { security } : {}),
  };
  if (opts.signal?.aborted) throw interrupted();
  const instances = chosen.reduce((n, s) => n + s.desired, 0);
  onProgress({ kind: "starting", services: chosen.length, instances });

  if (!opts.detach) {
    const supervisor = new Supervisor(spec, (line) => onProgress({ kind: "event", line }));
    await supervisor.start();
    const url = await supervisor.natsUrl;
    try {
      const services = await waitHealthy(
        async () => supervisor.describe(),
        opts.timeoutMs,
        onProgress,
        () => supervisor.isStopping,
        opts.signal,
      );
      return {
        alreadyUp: false,
        target: ctx.targetName,
        nats: { url },
        secure: Boolean(security),
        detached: false,
        supervisorPid: process.pid,
        services,
        ...redisOf(readFleetRecord(ctx.paths)),
        supervisor,
      };
    } catch (err) {
      await supervisor.stop();
      throw err;
    }
  }

  const pid = startDetached(ctx, spec);
  let record: FleetRecord | undefined;
  try {
    record = await waitForRecord(ctx, pid, Math.min(opts.timeoutMs, 60_000));
    const services = await waitHealthyVia(record, ctx, opts.timeoutMs, onProgress, pid, opts.signal);
    return {
      alreadyUp: false,
      target: ctx.targetName,
      nats: { url: record.nats.url },
      secure: Boolean(security),
      detached: true,
      supervisorPid: pid,
      services,
      ...redisOf(readFleetRecord(ctx.paths)),
    };
  } catch (err) {
    await downLocalFleet(ctx, { purge: false });
    throw err;
  }
}

/** The Redis Cluster's nodes as the fleet record lists them (no password, no pids). */
function redisOf(rec: FleetRecord | undefined): Pick<UpResult, "redis"> {
  return rec?.redis ? { redis: { nodes: rec.redis.nodes.map((n) => ({ name: n.name, port: n.port })) } } : {};
}

/** The detached supervisor is this same CLI (`gs up --supervisor <spec>`), whatever its build layout. */
function supervisorEntry(): { command: string; args: string[] } {
  const cli = process.argv[1];
  if (!cli) throw new OperationError("cannot tell how gs was started", { hint: "run `gs up` without --detach" });
  return { command: process.execPath, args: [...process.execArgv, cli, "up", "--supervisor"] };
}

function startDetached(ctx: LocalContext, spec: SupervisorSpec): number {
  mkdirSync(ctx.paths.home, { recursive: true });
  writeFileSync(ctx.paths.spec, JSON.stringify(spec, null, 2));
  const out = openSync(ctx.paths.supervisorLog, "w");
  const { command, args } = supervisorEntry();
  const child = spawn(command, [...args, ctx.paths.spec], {
    cwd: ctx.paths.root,
    detached: true,
    stdio: ["ignore", out, out],
    env: process.env,
  });
  closeSync(out);
  child.unref();
  if (!child.pid)
    throw new OperationError("could not start the local fleet's supervisor", {
      hint: "run `gs up` in the foreground to see why",
    });
  return child.pid;
}

function supervisorFailure(ctx: LocalContext): OperationError {
  let last = "";
  try {
    const lines = readFileSync(ctx.paths.supervisorLog, "utf8").trim().split("\n");
    last = (lines.reverse().find((l) => / failed: /.test(l)) ?? lines[0] ?? "")
      .replace(/^\S+ /, "")
      .replace(/^failed: /, "");
  } catch {
    // no log
  }
  return new OperationError(`the local fleet did not start: ${last || "the supervisor exited"}`, {
    hint: `see ${ctx.paths.supervisorLog}`,
  });
}

async function waitForRecord(ctx: LocalContext, pid: number, timeoutMs: number): Promise<FleetRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rec = readFleetRecord(ctx.paths);
    if (rec && rec.supervisor.pid === pid) return rec;
    if (!isAlive(pid)) throw supervisorFailure(ctx);
    if (Date.now() > deadline)
      throw new OperationError(`the local fleet's NATS did not start within ${Math.round(timeoutMs / 1000)}s`, {
        hint: `see ${ctx.paths.supervisorLog}`,
        exit: EXIT.timedOut,
      });
    await sleep(50);
  }
}

async function describeVia(rec: FleetRecord, ctx: LocalContext): Promise<ServiceDescription[]> {
  const nc = await connectFleet(rec.nats);
  try {
    return await new LocalPlatform(ctx.targetName, ctx.paths, nc, rec.control.prefix).describeServices();
  } finally {
    await nc.close();
  }
}

async function waitHealthyVia(
  rec: FleetRecord,
  ctx: LocalContext,
  timeoutMs: number,
  onProgress: (p: UpProgress) => void,
  pid: number,
  signal?: AbortSignal,
): Promise<ServiceDescription[]> {
  const nc = await connectFleet(rec.nats, { reconnect: true });
  try {
    const platform = new LocalPlatform(ctx.targetName, ctx.paths, nc, rec.control.prefix);
    return await waitHealthy(
      () => platform.describeServices(),
      timeoutMs,
      onProgress,
      () => !isAlive(pid),
      signal,
    );
  } finally {
    await nc.close();
  }
}

/** Until every service runs its desired count (each instance has answered $SRV.PING). */
async function waitHealthy(
  describe: () => Promise<ServiceDescription[]>,
  timeoutMs: number,
  onProgress: (p: UpProgress) => void,
  gone: () => boolean,
  signal?: AbortSignal,
): Promise<ServiceDescription[]> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    if (signal?.aborted) throw interrupted();
    if (gone()) throw new OperationError("the local fleet stopped while starting", { hint: "see `gs logs <service>`" });
    const services = await describe();
    const desired = services.reduce((n, s) => n + s.desired, 0);
    const running = services.reduce((n, s) => n + Math.min(s.running, s.desired), 0);
    const ready = services.filter((s) => s.running >= s.desired).length;
    const key = `${running}/${desired}`;
    if (key !== last) onProgress({ kind: "waiting", running, desired, ready, total: services.length });
    last = key;
    if (ready === services.length) return services;
    // a service that crash-loops without ever answering will not get better by waiting
    const looping = services.find((s) => s.state === "crash-looping" && s.running === 0);
    if (looping) {
      const why = looping.stopped.at(-1);
      const detail = why
        ? `${why.reason}${explainLines(why.lastLines) ? `: ${explainLines(why.lastLines)}` : ""}`
        : "keeps exiting";
      throw new OperationError(`${looping.name} is crash-looping: ${detail}`, {
        hint: `see \`gs logs ${looping.name}\`; fix it, or leave it out with --services`,
        code: "crash_loop",
      });
    }
    if (Date.now() > deadline) {
      const bad = services.filter((s) => s.running < s.desired);
      const first = bad[0]!;
      const why = first.stopped.at(-1);
      const detail = why
        ? `: ${first.name} ${why.reason}${explainLines(why.lastLines) ? ` — ${explainLines(why.lastLines)}` : ""}`
        : "";
      throw new OperationError(
        `${bad.length} service${bad.length > 1 ? "s" : ""} not healthy within ${Math.round(timeoutMs / 1000)}s (${bad.map((s) => `${s.name} ${s.running}/${s.desired}`).join(", ")})${detail}`,
        {
          hint: `see \`gs logs ${first.name}\`; leave a service out with --services, or wait longer with --timeout`,
          exit: EXIT.timedOut,
          code: "timed_out",
        },
      );
    }
    await sleep(250);
  }
}

function interrupted(): OperationError {
  return new OperationError("interrupted while starting; stopped what was started", { code: "interrupted" });
}

/** One `gs up` at a time per project: a second one waits for nothing and says why. */
function acquireStartLock(ctx: LocalContext): () => void {
  mkdirSync(ctx.paths.home, { recursive: true });
  const file = `${ctx.paths.home}/up.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: "wx" });
      return () => rmSync(file, { force: true });
    } catch {
      const holder = Number(readFileSync(file, "utf8"));
      if (isAlive(holder) && holder !== process.pid) {
        throw new OperationError(`another \`gs up\` (pid ${holder}) is starting the local fleet`, {
          hint: "wait for it, then run `gs status`",
        });
      }
      rmSync(file, { force: true }); // left by a killed gs up
    }
  }
  throw new OperationError(`cannot lock ${file}`, { hint: "check the permissions of .gs/" });
}

export interface DownResult {
  wasRunning: boolean;
  /** processes that had to be stopped by gs down itself (left by a killed supervisor) */
  leftovers: number;
  purged: boolean;
}

/** Stop the fleet: the supervisor drains every instance, then nats-server; then anything left is killed. */
export async function downLocalFleet(ctx: LocalContext, opts: { purge: boolean }): Promise<DownResult> {
  const rec = readFleetRecord(ctx.paths);
  let wasRunning = false;
  if (rec && isSupervisor(rec.supervisor.pid, ctx.paths)) {
    wasRunning = true;
    try {
      const nc = await connectFleet(rec.nats, { timeout: 2000 });
      try {
        await new LocalPlatform(ctx.targetName, ctx.paths, nc, rec.control.prefix).down();
      } finally {
        await nc.close().catch(() => undefined);
      }
    } catch {
      // its NATS is gone: signal the supervisor directly
      try {
        process.kill(rec.supervisor.pid, "SIGTERM");
      } catch {
        // exited meanwhile
      }
    }
    const deadline = Date.now() + SHUTDOWN_TIMEOUT_MS + 10_000;
    while (isAlive(rec.supervisor.pid) && Date.now() < deadline) await sleep(50);
    if (isSupervisor(rec.supervisor.pid, ctx.paths) && rec.supervisor.pid !== process.pid)
      await terminate([rec.supervisor.pid], 0);
  }
  const leftovers = rec ? await killLeftovers(ctx, rec) : 0;
  removeFleetRecord(ctx.paths);
  rmSync(ctx.paths.spec, { force: true });
  rmSync(ctx.paths.run, { recursive: true, force: true });
  if (opts.purge && existsSync(ctx.paths.home)) rmSync(ctx.paths.home, { recursive: true, force: true });
  return { wasRunning, leftovers, purged: opts.purge };
}

/** Processes a killed supervisor left: recorded pids still running our bundles or nats-server config. */
async function killLeftovers(ctx: LocalContext, rec: FleetRecord): Promise<number> {
  const pids = rec.pids.map((p) => p.pid).filter((pid) => pid !== process.pid && isOurs(pid, ctx.paths.home));
  if (pids.length) await terminate(pids, SHUTDOWN_TIMEOUT_MS);
  return pids.length;
}

/** A record whose supervisor died: stop what it left, so ports and data are free for a new start. */
async function cleanupStale(ctx: LocalContext): Promise<void> {
  const rec = readFleetRecord(ctx.paths);
  if (!rec) return;
  await killLeftovers(ctx, rec);
  removeFleetRecord(ctx.paths);
}
