// The deploy orchestrator, above the Platform interface so every platform shares it:
// plan (content hash vs the running version) -> build -> roll out (in parallel, bounded) ->
// verify (the new version answers over NATS) -> roll back. It reports through a callback; it never prints.
// Once `signal` aborts (the command's first Ctrl-C), no further rollout begins: those under way finish
// (each health-gated, so it completes or rolls back), and the others are reported `not_started`.
// Reconciliation: a rollout left in progress by a `gs deploy` that died (SIGKILL, a lost machine) is not
// "unchanged" because its version is already PRIMARY: this deploy takes it over (Platform.resumeDeployment)
// and follows it to its end, verified and rolled back like its own; one of another version ends first.
import { pool } from "../build/limit.js";
import { EXIT, type ExitCode } from "../output/errors.js";
import type {
  Artifact,
  ArtifactBuilder,
  DeploymentInfo,
  Platform,
  ReleaseOutcome,
  ServiceDescription,
} from "../platform/platform.js";

export type DeployAction = "unchanged" | "deployed" | "rolled_back" | "failed" | "not_started";

export interface ServiceDeployResult {
  name: string;
  action: DeployAction;
  /** the version running before */
  from: string | null;
  /** the version built (and deployed, unless rolled back) */
  to: string | null;
  seconds: number;
  /** why it rolled back or failed */
  reason?: string;
  /** it rolled back because it was not healthy within --timeout */
  timedOut?: true;
  /** the deployment an earlier `gs deploy` started and left in progress, which this one took over and followed to its end */
  resumed?: string;
}

export interface DeployResult {
  target: string;
  services: ServiceDeployResult[];
}

export type DeployProgress =
  | { kind: "plan"; changed: string[]; unchanged: string[]; failed: string[] }
  /** a service's rollout begins (it may have waited for a --concurrency slot); on ecs its task definition is registered now */
  | { kind: "start"; service: string; from: string | null; to: string }
  | {
      kind: "rollout";
      service: string;
      from: string | null;
      to: string;
      running: number;
      desired: number;
      pending: number;
      failed: number;
    }
  | { kind: "verify"; service: string; to: string }
  | { kind: "rollback"; service: string; reason: string }
  | { kind: "done"; result: ServiceDeployResult };

/** Checks, independently of the platform, that a version answers (over NATS). */
export interface Verifier {
  /** called once before the first rollout (e.g. connect): when it throws, nothing is rolled out */
  ready?(): Promise<void>;
  answering(service: string, version: string, want: number, timeoutMs: number): Promise<number>;
}

/**
 * Called with the services about to roll out, before any does (e.g. the contract check of
 * src/lib/contracts/deploy-gate.ts): when it throws, the deploy ends with that error and nothing rolls out.
 */
export type DeployGate = (changed: { service: string; current?: Artifact; next: Artifact }[]) => Promise<void>;

export interface DeployOptions {
  platform: Platform;
  builder: ArtifactBuilder;
  verifier?: Verifier;
  /** default: every service of the platform */
  services?: string[];
  concurrency: number;
  /** per service: new instances healthy within this, else roll back */
  timeoutMs: number;
  pollMs?: number;
  /** how long past timeoutMs to wait for the platform's own verdict before stopping the deployment (default 10 s) */
  graceMs?: number;
  /** put a failed service back on its previous version (default true); false: leave it as it failed, and report `failed` */
  rollback?: boolean;
  onProgress?: (p: DeployProgress) => void;
  /** once aborted, no further rollout begins (those under way finish); the rest end `not_started` */
  signal?: AbortSignal;
  /** checks the changed services before any rollout; throwing refuses the deploy */
  gate?: DeployGate;
}

/** why a service that had changed was not rolled out (the signal aborted first) */
export const NOT_STARTED_REASON = "interrupted";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** how long the platform may fail to answer about a deployment (a NATS node or the network going away) before gs gives up on it */
const LOST_TRACK_MS = 25_000;

/**
 * The rollout a service is in the middle of, if any: its PRIMARY deployment is IN_PROGRESS and replaces
 * an older one (a `gs deploy` that died left it, or another deploy runs it). The first rollout of a
 * fresh fleet (`gs up`, a scale-up) replaces nothing and is not one.
 */
export function inFlightDeployment(svc: ServiceDescription): DeploymentInfo | undefined {
  const primary = svc.deployments.find((d) => d.status === "PRIMARY");
  if (!primary || primary.rolloutState !== "IN_PROGRESS") return undefined;
  const replacing = svc.state === "deploying" || svc.deployments.some((d) => d !== primary && d.status === "ACTIVE");
  return replacing ? primary : undefined;
}

/** What an in-flight deployment replaces: the newest other deployment. */
function replacedBy(svc: ServiceDescription, dep: DeploymentInfo): DeploymentInfo | undefined {
  return svc.deployments
    .filter((d) => d.id !== dep.id && d.rolloutState !== "FAILED")
    .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))[0];
}

/** A service whose build failed (or never began: interrupted), as both deploy reports show it. */
export interface BuildFailure {
  action: "failed" | "not_started";
  from: string | null;
  reason: string;
  /** since the deploy started */
  seconds: number;
}

/**
 * Builds every service's artifact in parallel into `artifacts`; returns the services whose build failed,
 * or did not start because of an interrupt (a Ctrl-C at a terminal also stops the build's child
 * processes: not a build failure). Shared by the rolling deploy and the canary path.
 */
export async function buildArtifacts(
  current: ServiceDescription[],
  builder: ArtifactBuilder,
  artifacts: Map<string, Artifact>,
  started: number,
  signal?: AbortSignal,
): Promise<Map<string, BuildFailure>> {
  const failed = new Map<string, BuildFailure>();
  await Promise.all(
    current.map(async (svc) => {
      try {
        artifacts.set(svc.name, await builder.build(svc.name));
      } catch (err) {
        const interrupted = signal?.aborted === true;
        failed.set(svc.name, {
          action: interrupted ? "not_started" : "failed",
          from: svc.version ?? null,
          reason: interrupted ? NOT_STARTED_REASON : (err as Error).message,
          seconds: secondsSince(started),
        });
      }
    }),
  );
  return failed;
}

/** The changed services through `gate` (the contract check) before anything starts; it throws to refuse. */
export async function passGate(
  gate: DeployGate | undefined,
  changed: ServiceDescription[],
  artifacts: Map<string, Artifact>,
  signal?: AbortSignal,
): Promise<void> {
  if (!changed.length || !gate || signal?.aborted) return;
  await gate(
    changed.map((s) => ({
      service: s.name,
      current: s.deployments.find((d) => d.status === "PRIMARY")?.artifact,
      next: artifacts.get(s.name)!,
    })),
  );
}

export async function deploy(opts: DeployOptions): Promise<DeployResult> {
  const progress = opts.onProgress ?? (() => undefined);
  const current = await opts.platform.describeServices(opts.services?.length ? opts.services : undefined);
  const started = Date.now();
  const results = new Map<string, ServiceDeployResult>();
  const artifacts = new Map<string, Artifact>();

  for (const [name, failed] of await buildArtifacts(current, opts.builder, artifacts, started, opts.signal))
    results.set(name, { name, ...failed, to: null });
  // a rollout left in progress is followed to its end even when its version is the one just built
  const resumable = (s: ServiceDescription) => Boolean(opts.platform.resumeDeployment && inFlightDeployment(s));
  const changed = current.filter(
    (s) => artifacts.has(s.name) && (artifacts.get(s.name)!.version !== s.version || resumable(s)),
  );
  for (const s of current) {
    const a = artifacts.get(s.name);
    if (a && a.version === s.version && !resumable(s))
      results.set(s.name, { name: s.name, action: "unchanged", from: s.version ?? null, to: a.version, seconds: 0 });
  }
  progress({
    kind: "plan",
    changed: changed.map((s) => s.name),
    unchanged: current.filter((s) => results.get(s.name)?.action === "unchanged").map((s) => s.name),
    failed: current.filter((s) => results.get(s.name)?.action === "failed").map((s) => s.name),
  });
  // builds the interrupt cut short
  for (const s of current) {
    const r = results.get(s.name);
    if (r?.action === "not_started") progress({ kind: "done", result: r });
  }

  await passGate(opts.gate, changed, artifacts, opts.signal);

  if (changed.length && opts.verifier?.ready && !opts.signal?.aborted) {
    try {
      await opts.verifier.ready();
    } catch (err) {
      // without a way to verify, success could not be told from failure: roll out nothing
      const reason = `not rolled out: cannot verify over NATS (${(err as Error).message})`;
      for (const svc of changed) {
        const r: ServiceDeployResult = {
          name: svc.name,
          action: "failed",
          from: svc.version ?? null,
          to: artifacts.get(svc.name)!.version,
          seconds: 0,
          reason,
        };
        results.set(svc.name, r);
        progress({ kind: "done", result: r });
      }
      return { target: opts.platform.target, services: current.map((s) => results.get(s.name)!) };
    }
  }

  await pool(
    changed,
    Math.max(1, opts.concurrency),
    async (svc) => {
      const r = await rollOut(opts, svc, artifacts.get(svc.name)!, progress);
      results.set(svc.name, r);
      progress({ kind: "done", result: r });
    },
    opts.signal,
  );
  for (const svc of changed) {
    if (results.has(svc.name)) continue;
    const r: ServiceDeployResult = {
      name: svc.name,
      action: "not_started",
      from: svc.version ?? null,
      to: artifacts.get(svc.name)!.version,
      seconds: 0,
      reason: NOT_STARTED_REASON,
    };
    results.set(svc.name, r);
    progress({ kind: "done", result: r });
  }
  return { target: opts.platform.target, services: current.map((s) => results.get(s.name)!) };
}

/**
 * 0 all deployed or unchanged; 1 a service failed; 4 one timed out (rolled back or not); 3 one was rolled
 * back; else 1 when the deploy was interrupted before every rollout began (some `not_started`).
 */
export function deployExitCode(result: DeployResult): ExitCode {
  if (result.services.some((s) => s.action === "failed" && !s.timedOut)) return EXIT.failed;
  if (result.services.some((s) => s.timedOut)) return EXIT.timedOut;
  if (result.services.some((s) => s.action === "rolled_back")) return EXIT.rolledBack;
  if (result.services.some((s) => s.action === "not_started")) return EXIT.failed;
  return EXIT.ok;
}

async function rollOut(
  opts: DeployOptions,
  described: ServiceDescription,
  artifact: Artifact,
  progress: (p: DeployProgress) => void,
): Promise<ServiceDeployResult> {
  const t0 = Date.now();
  let svc = described;
  let pending = opts.platform.resumeDeployment ? inFlightDeployment(svc) : undefined;
  if (pending && pending.artifact.version !== artifact.version) {
    // another version is mid-rollout: it ends first (completed, or rolled back), then this one starts from there
    await follow(
      opts,
      svc.name,
      pending.artifact,
      replacedBy(svc, pending)?.artifact.version ?? null,
      () => undefined,
      {
        resumeId: pending.id,
      },
    );
    svc = (await opts.platform.describeServices([svc.name]).catch(() => [svc]))[0] ?? svc;
    pending = undefined;
  }
  const replaced = pending ? replacedBy(svc, pending) : svc.deployments.find((d) => d.status === "PRIMARY");
  const from = pending ? (replaced?.artifact.version ?? null) : (svc.version ?? null);
  const previous = replaced?.artifact;
  const base = { name: svc.name, from, to: artifact.version, ...(pending ? { resumed: pending.id } : {}) };
  const done = (action: DeployAction, extra: Partial<ServiceDeployResult> = {}): ServiceDeployResult => ({
    ...base,
    action,
    seconds: secondsSince(t0),
    ...extra,
  });

  progress({ kind: "start", service: svc.name, from, to: artifact.version });
  const outcome = await follow(opts, svc.name, artifact, from, progress, { resumeId: pending?.id });
  const timedOut = (t: boolean) => (t ? { timedOut: true as const } : {});
  if (outcome.kind !== "completed") await recordOutcome(opts, svc.name, outcome.info, "failed");
  if (outcome.kind === "failed") return done("failed", { reason: outcome.reason, ...timedOut(outcome.timedOut) });
  if (outcome.kind === "rolled_back")
    return done("rolled_back", { reason: outcome.reason, ...timedOut(outcome.timedOut) });

  if (opts.verifier) {
    progress({ kind: "verify", service: svc.name, to: artifact.version });
    const want = Math.max(1, outcome.info.desired);
    let answering = 0;
    let why = "";
    try {
      answering = await opts.verifier.answering(svc.name, artifact.version, want, Math.min(10_000, opts.timeoutMs));
    } catch (err) {
      why = ` (${(err as Error).message})`;
    }
    if (answering < want) {
      const reason = `the platform completed the rollout, but only ${answering} of ${want} instances answer over NATS with ${artifact.version}${why}`;
      await recordOutcome(opts, svc.name, outcome.info, "failed");
      if (!previous || opts.rollback === false) return done("failed", { reason });
      progress({ kind: "rollback", service: svc.name, reason });
      // the previous version itself comes back (ecs: its own revision, none registered)
      const back = await follow(opts, svc.name, previous, artifact.version, progress);
      return back.kind === "completed"
        ? done("rolled_back", { reason })
        : done("failed", { reason: `${reason}; rolling back to ${previous.version} failed too` });
    }
  }
  await recordOutcome(opts, svc.name, outcome.info, "deployed");
  return done("deployed");
}

/** The platform's history of the version (`gs history`); a record it cannot write (e.g. no ecs:TagResource permission) leaves the rollout as it ended. */
async function recordOutcome(
  opts: DeployOptions,
  service: string,
  info: DeploymentInfo | undefined,
  outcome: ReleaseOutcome,
): Promise<void> {
  if (info) await opts.platform.recordOutcome?.(service, info, outcome).catch(() => undefined);
}

/** `info`: the deployment as last seen (absent when it never started) */
type Outcome =
  | { kind: "completed"; info: DeploymentInfo }
  | { kind: "rolled_back"; reason: string; timedOut: boolean; info?: DeploymentInfo }
  | { kind: "failed"; reason: string; timedOut: boolean; info?: DeploymentInfo };

/** Start a deployment (or take over `resumeId`, one left in progress) and follow it until COMPLETED or FAILED; past the deadline, stop it. */
async function follow(
  opts: DeployOptions,
  service: string,
  artifact: Artifact,
  from: string | null,
  progress: (p: DeployProgress) => void,
  { resumeId }: { resumeId?: string } = {},
): Promise<Outcome> {
  const pollMs = opts.pollMs ?? 250;
  const platform = opts.platform;
  let info: DeploymentInfo;
  try {
    info =
      resumeId && platform.resumeDeployment
        ? await platform.resumeDeployment(service, resumeId, { timeoutMs: opts.timeoutMs })
        : await platform.startDeployment(service, artifact, { timeoutMs: opts.timeoutMs });
  } catch (err) {
    return { kind: "failed", reason: (err as Error).message, timedOut: false };
  }
  // the platform enforces the deadline itself; this one covers a platform that does not
  const deadline = Date.now() + opts.timeoutMs + (opts.graceMs ?? 10_000);
  let last = "";
  let silentSince: number | undefined;
  for (;;) {
    const key = `${info.running}/${info.pending}/${info.failed}/${info.rolloutState}`;
    if (key !== last)
      progress({
        kind: "rollout",
        service,
        from,
        to: artifact.version,
        running: info.running,
        desired: info.desired,
        pending: info.pending,
        failed: info.failed,
      });
    last = key;
    if (info.rolloutState === "COMPLETED") return { kind: "completed", info };
    if (info.rolloutState === "FAILED") {
      const reason = info.reason ?? "the deployment failed";
      // --no-rollback: failed, unless the platform put the old version back itself (the ECS circuit breaker)
      const rolledBack = info.rolledBack ?? opts.rollback !== false;
      if (rolledBack) progress({ kind: "rollback", service, reason });
      return { kind: rolledBack ? "rolled_back" : "failed", reason, timedOut: Boolean(info.timedOut), info };
    }
    if (Date.now() > deadline) {
      const reason = `not healthy within ${Math.round(opts.timeoutMs / 1000)}s`;
      if (opts.rollback === false)
        return { kind: "failed", reason: `${reason}; left as it is (--no-rollback)`, timedOut: true, info };
      progress({ kind: "rollback", service, reason });
      const stopped = await opts.platform.stopDeployment(service, info.id, reason).catch(() => undefined);
      return { kind: "rolled_back", reason, timedOut: true, info: stopped ?? info };
    }
    await sleep(pollMs);
    try {
      info = await opts.platform.describeDeployment(service, info.id);
      silentSince = undefined;
    } catch (err) {
      // the deployment goes on without gs: a platform that cannot answer for a moment (its NATS node
      // died, the network blinked) is asked again, and given up on only when it stays silent
      silentSince ??= Date.now();
      if (Date.now() - silentSince < LOST_TRACK_MS) continue;
      return {
        kind: "failed",
        reason: `lost track of deployment ${info.id}: ${(err as Error).message}`,
        timedOut: false,
      };
    }
  }
}

function secondsSince(t0: number): number {
  return Math.round((Date.now() - t0) / 100) / 10;
}
