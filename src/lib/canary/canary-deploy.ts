// `gs deploy --canary`: for each changed service, a few instances of the new build beside the old ones
// in the same queue group (they take their share of the traffic), judged by their own $SRV.STATS
// against the baseline's for the analysis window; then promoted (the normal rolling deploy of that
// version, then the canaries stop) or aborted (the canaries stop, the service never changed, the
// version is recorded `canary_aborted`). Every check that can refuse the run comes before anything
// starts. It reports through a callback and never prints.
import { randomBytes } from "node:crypto";
import type { NatsConnection } from "@nats-io/transport-node";
import {
  buildArtifacts,
  deploy,
  passGate,
  type DeployGate,
  type DeployProgress,
  type ServiceDeployResult,
  type Verifier,
} from "../deploy/deploy.js";
import { pool } from "../build/limit.js";
import { EXIT, UsageError, type ExitCode } from "../output/errors.js";
import type { Artifact, ArtifactBuilder, DeploymentInfo, Platform, ServiceDescription } from "../platform/platform.js";
import { canaryInstances, type CanaryCount, type CanarySettings } from "./canary-options.js";
import { CanaryStats, readStats, type CanaryFigures } from "./canary-stats.js";
import { judge, type Verdict, type VerdictRule } from "./verdict.js";

export type CanaryAction = "promoted" | "aborted" | "rolled_back" | "failed" | "unchanged" | "not_started";

export interface CanaryServiceResult {
  name: string;
  action: CanaryAction;
  from: string | null;
  to: string | null;
  /** canary instances asked for */
  canaries: number;
  /** the canary group (ecs: RunTask's startedBy) */
  canaryId?: string;
  verdict?: "promote" | "abort";
  rule?: VerdictRule;
  /** why, with the figures */
  reason?: string;
  /** canary vs baseline over the analysis, as last read */
  figures?: CanaryFigures;
  analysis?: {
    window_seconds: number;
    /** from the first reading of $SRV.STATS to the verdict */
    seconds: number;
    samples: number;
    /** from the start of this service's canary to its verdict (canaries started, analysis, verdict) */
    verdict_after_seconds: number;
  };
  /** the rolling deploy that promoted it */
  promotion?: ServiceDeployResult;
  seconds: number;
}

export interface CanaryResult {
  target: string;
  services: CanaryServiceResult[];
}

export type CanaryProgress =
  | { kind: "plan"; changed: string[]; unchanged: string[]; failed: string[] }
  | { kind: "start"; service: string; from: string | null; to: string; canaries: number }
  | { kind: "canary"; service: string; running: number; pending: number; desired: number }
  | {
      kind: "sample";
      service: string;
      elapsedMs: number;
      windowMs: number;
      figures: CanaryFigures;
      so_far: string;
    }
  | { kind: "verdict"; service: string; decision: "promote" | "abort"; reason: string }
  | { kind: "promote"; service: string; progress: DeployProgress }
  | { kind: "done"; result: CanaryServiceResult };

export interface CanaryDeployOptions {
  platform: Platform;
  builder: ArtifactBuilder;
  verifier?: Verifier;
  /** the fleet's NATS, where $SRV.STATS is read */
  nats: () => Promise<NatsConnection>;
  /** default: every service of the platform */
  services?: string[];
  /** each service's canary size (`--canary`, else its gs.yaml `canary.size`) */
  count: (service: string) => CanaryCount;
  /** each service's limits (flags over gs.yaml over the defaults), resolved and checked before the run */
  settings: (service: string) => CanarySettings;
  /** canary instances, and later the promotion's, healthy within this */
  timeoutMs: number;
  pollMs?: number;
  concurrency: number;
  onProgress?: (p: CanaryProgress) => void;
  /** aborts analyses under way (their canaries stop, the service is left as it was) and starts no new one */
  signal?: AbortSignal;
  /** checks the changed services before any canary starts (the contract check, as for a deploy); throwing refuses the run */
  gate?: DeployGate;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });

const secondsSince = (t0: number) => Math.round((Date.now() - t0) / 100) / 10;

/** `gs-canary-3fa2b1-payment`: RunTask's startedBy allows 36 characters (letters, digits, `-`, `_`, `/`). */
export function canaryLabel(service: string, suffix = randomBytes(3).toString("hex")): string {
  return `gs-canary-${suffix}-${service}`.slice(0, 36).replace(/-+$/, "");
}

/** The canary of each changed service; one too large for its service refuses the whole run, before anything starts. */
export function canarySizes(
  changed: ServiceDescription[],
  count: (service: string) => CanaryCount,
): Map<string, number> {
  return new Map(changed.map((s) => [s.name, canaryInstances(count(s.name), s.name, s.desired)]));
}

export async function canaryDeploy(opts: CanaryDeployOptions): Promise<CanaryResult> {
  const progress = opts.onProgress ?? (() => undefined);
  const { platform } = opts;
  if (!platform.startCanary || !platform.describeCanary || !platform.stopCanary)
    throw new UsageError(`the ${platform.kind} platform cannot run canaries`, "deploy without --canary");
  const current = await platform.describeServices(opts.services?.length ? opts.services : undefined);
  // services named on the command line are checked before anything is built or pushed
  if (opts.services?.length) canarySizes(current, opts.count);
  const started = Date.now();
  const results = new Map<string, CanaryServiceResult>();
  const artifacts = new Map<string, Artifact>();
  for (const [name, failed] of await buildArtifacts(current, opts.builder, artifacts, started, opts.signal))
    results.set(name, { name, ...failed, to: null, canaries: 0 });
  const changed = current.filter((s) => artifacts.has(s.name) && artifacts.get(s.name)!.version !== s.version);
  // built, nothing started: a canary as large as its service still refuses the run here
  const canaries = canarySizes(changed, opts.count);
  for (const s of current) {
    const a = artifacts.get(s.name);
    if (a && a.version === s.version)
      results.set(s.name, {
        name: s.name,
        action: "unchanged",
        from: s.version ?? null,
        to: a.version,
        canaries: 0,
        seconds: 0,
      });
  }
  progress({
    kind: "plan",
    changed: changed.map((s) => s.name),
    unchanged: current.filter((s) => results.get(s.name)?.action === "unchanged").map((s) => s.name),
    failed: current.filter((s) => results.get(s.name)?.action === "failed").map((s) => s.name),
  });
  await passGate(opts.gate, changed, artifacts, opts.signal);
  if (changed.length) {
    try {
      await opts.verifier?.ready?.();
      await opts.nats();
    } catch (err) {
      // without the fleet's NATS there is nothing to judge by: start nothing
      for (const svc of changed) {
        const r: CanaryServiceResult = {
          name: svc.name,
          action: "failed",
          from: svc.version ?? null,
          to: artifacts.get(svc.name)!.version,
          canaries: canaries.get(svc.name)!,
          reason: `not started: cannot read $SRV.STATS over NATS (${(err as Error).message})`,
          seconds: 0,
        };
        results.set(svc.name, r);
        progress({ kind: "done", result: r });
      }
      return { target: opts.platform.target, services: current.map((s) => results.get(s.name)!) };
    }
  }
  // after an interrupt the services not begun are still reported, as not_started
  await pool(changed, Math.max(1, opts.concurrency), async (svc) => {
    const base = {
      name: svc.name,
      from: svc.version ?? null,
      to: artifacts.get(svc.name)!.version,
      canaries: canaries.get(svc.name)!,
    };
    const r: CanaryServiceResult = opts.signal?.aborted
      ? { ...base, action: "not_started", reason: "interrupted", seconds: 0 }
      : await new ServiceCanary(opts, svc, artifacts.get(svc.name)!, canaries.get(svc.name)!, progress).run();
    results.set(svc.name, r);
    progress({ kind: "done", result: r });
  });
  return { target: opts.platform.target, services: current.map((s) => results.get(s.name)!) };
}

/** 0 promoted or unchanged; 1 a service failed or was not started; 4 timed out; 3 a canary aborted or its promotion rolled back. */
export function canaryExitCode(result: CanaryResult): ExitCode {
  const s = result.services;
  if (s.some((x) => x.action === "failed" && !x.promotion?.timedOut)) return EXIT.failed;
  if (s.some((x) => x.promotion?.timedOut)) return EXIT.timedOut;
  if (s.some((x) => x.action === "aborted" || x.action === "rolled_back")) return EXIT.rolledBack;
  if (s.some((x) => x.action === "not_started")) return EXIT.failed;
  return EXIT.ok;
}

/** One service's canary: start, wait until it answers, analyse, then promote or abort. */
class ServiceCanary {
  private readonly t0 = Date.now();
  private readonly settings: CanarySettings;
  private group: DeploymentInfo | undefined;
  /** the canary could not be stopped: the run is not clean, and says so */
  private stopFailure: string | undefined;

  constructor(
    private readonly opts: CanaryDeployOptions,
    private readonly svc: ServiceDescription,
    private artifact: Artifact,
    private readonly count: number,
    private readonly progress: (p: CanaryProgress) => void,
  ) {
    this.settings = opts.settings(svc.name);
  }

  private get platform(): Required<Pick<Platform, "startCanary" | "describeCanary" | "stopCanary">> & Platform {
    return this.opts.platform as Required<Pick<Platform, "startCanary" | "describeCanary" | "stopCanary">> & Platform;
  }

  private result(action: CanaryAction, extra: Partial<CanaryServiceResult> = {}): CanaryServiceResult {
    if (this.stopFailure) {
      extra = { ...extra, reason: [extra.reason, this.stopFailure].filter(Boolean).join("; ") };
      action = "failed";
    }
    return {
      name: this.svc.name,
      action,
      from: this.svc.version ?? null,
      to: this.artifact.version,
      canaries: this.count,
      ...(this.group ? { canaryId: this.group.id } : {}),
      ...extra,
      seconds: secondsSince(this.t0),
    };
  }

  async run(): Promise<CanaryServiceResult> {
    const name = this.svc.name;
    this.progress({
      kind: "start",
      service: name,
      from: this.svc.version ?? null,
      to: this.artifact.version,
      canaries: this.count,
    });
    try {
      this.group = await this.platform.startCanary(name, this.artifact, {
        count: this.count,
        label: canaryLabel(name),
      });
    } catch (err) {
      return this.result("failed", { reason: `the canary did not start: ${(err as Error).message}` });
    }
    // ecs: the revision registered for the canary is the one a promotion deploys
    this.artifact = this.group.artifact;
    try {
      const failed = await this.waitHealthy();
      if (failed) return await this.abort({ rule: "failed_to_start", reason: failed });
      const { verdict, figures, analysis } = await this.analyse();
      if (verdict.decision === "abort") return await this.abort(verdict, figures, analysis);
      return await this.promote(verdict, figures, analysis);
    } catch (err) {
      await this.stop(`canary ended: ${(err as Error).message}`);
      return this.result("failed", { reason: (err as Error).message });
    }
  }

  /** Until the canary's instances run (platform) and answer with the new version (NATS); the failure, if any. */
  private async waitHealthy(): Promise<string | undefined> {
    const deadline = Date.now() + this.opts.timeoutMs;
    let last = "";
    for (;;) {
      const g = (this.group = await this.platform.describeCanary(this.svc.name, this.group!.id));
      const key = `${g.running}/${g.pending}`;
      if (key !== last)
        this.progress({
          kind: "canary",
          service: this.svc.name,
          running: g.running,
          pending: g.pending,
          desired: g.desired,
        });
      last = key;
      // the local supervisor restarts a crashed instance: two failures are a crash loop, as in a rollout
      if (g.failed >= Math.min(2, this.count + 1) || g.rolloutState === "FAILED")
        return `the canary's instances failed to start: ${g.reason ?? `${g.failed} exited`}`;
      if (g.running >= this.count) break;
      if (this.opts.signal?.aborted) return "interrupted before the canary was up";
      if (Date.now() > deadline)
        return `the canary's instances were not running within ${Math.round(this.opts.timeoutMs / 1000)}s`;
      await sleep(this.opts.pollMs ?? 250, this.opts.signal);
    }
    if (!this.opts.verifier) return undefined;
    const seen = await this.opts.verifier
      .answering(this.svc.name, this.artifact.version, this.count, Math.min(10_000, this.opts.timeoutMs))
      .catch(() => 0);
    return seen >= this.count
      ? undefined
      : `only ${seen} of ${this.count} canary instances answer over NATS with ${this.artifact.version}`;
  }

  private async analyse(): Promise<{
    verdict: Exclude<Verdict, { decision: "continue" }>;
    figures: CanaryFigures;
    analysis: NonNullable<CanaryServiceResult["analysis"]>;
  }> {
    const s = this.settings;
    const nc = await this.opts.nats();
    const expected = this.svc.desired + this.count;
    const read = () => readStats(nc, this.svc.name, { expected, maxWaitMs: Math.min(1500, s.sampleMs) });
    const stats = new CanaryStats(this.artifact.version, s.maxP99Ratio);
    // a fresh process's first requests are slow (lazy compilation, cold caches): one interval of
    // warm-up passes before the first reading, so a good version is not judged by its cold start
    await sleep(s.sampleMs, this.opts.signal);
    stats.begin(await read());
    const begun = Date.now();
    const end = begun + s.analysisMs;
    let samples = 0;
    let p99Streak = 0;
    for (;;) {
      const wait = Math.min(s.sampleMs, end - Date.now());
      if (wait > 0) await sleep(wait, this.opts.signal);
      const figures = stats.update(await read());
      samples++;
      const interrupted = this.opts.signal?.aborted === true;
      const final = Date.now() >= end;
      const { verdict, p99Failing } = judge(figures, s, final, { p99Streak });
      p99Streak = p99Failing ? p99Streak + 1 : 0;
      const analysis = {
        window_seconds: s.analysisMs / 1000,
        seconds: secondsSince(begun),
        samples,
        verdict_after_seconds: secondsSince(this.t0),
      };
      if (verdict.decision !== "continue") return { verdict, figures, analysis };
      if (interrupted)
        return {
          verdict: {
            decision: "abort",
            rule: "interrupted",
            reason: `interrupted during the analysis (${verdict.so_far})`,
          },
          figures,
          analysis,
        };
      this.progress({
        kind: "sample",
        service: this.svc.name,
        elapsedMs: Date.now() - begun,
        windowMs: s.analysisMs,
        figures,
        so_far: verdict.so_far,
      });
    }
  }

  private async abort(
    verdict: { rule: VerdictRule; reason: string },
    figures?: CanaryFigures,
    analysis?: CanaryServiceResult["analysis"],
  ): Promise<CanaryServiceResult> {
    this.progress({ kind: "verdict", service: this.svc.name, decision: "abort", reason: verdict.reason });
    const stopped = await this.stop(`canary aborted: ${verdict.reason}`);
    await this.opts.platform
      .recordOutcome?.(this.svc.name, stopped ?? this.group!, "canary_aborted")
      .catch(() => undefined);
    return this.result("aborted", {
      verdict: "abort",
      rule: verdict.rule,
      reason: verdict.reason,
      ...(figures ? { figures } : {}),
      ...(analysis ? { analysis } : {}),
    });
  }

  private async promote(
    verdict: { rule: VerdictRule; reason: string },
    figures: CanaryFigures,
    analysis: NonNullable<CanaryServiceResult["analysis"]>,
  ): Promise<CanaryServiceResult> {
    this.progress({ kind: "verdict", service: this.svc.name, decision: "promote", reason: verdict.reason });
    const name = this.svc.name;
    const artifact = this.artifact;
    let promotion: ServiceDeployResult | undefined;
    try {
      // the normal rolling deploy of the version the canary ran (ecs: its revision, none registered)
      const r = await deploy({
        platform: this.opts.platform,
        builder: { build: async () => artifact },
        verifier: this.opts.verifier,
        services: [name],
        concurrency: 1,
        timeoutMs: this.opts.timeoutMs,
        pollMs: this.opts.pollMs,
        onProgress: (p) => this.progress({ kind: "promote", service: name, progress: p }),
      });
      promotion = r.services[0];
    } finally {
      // the promoted version serves from the service's own instances now (or the old one does again)
      await this.stop("canary promoted: the service runs the new version");
    }
    const action: CanaryAction =
      promotion?.action === "deployed" ? "promoted" : promotion?.action === "rolled_back" ? "rolled_back" : "failed";
    return this.result(action, {
      verdict: "promote",
      rule: verdict.rule,
      reason:
        action === "promoted"
          ? verdict.reason
          : `${verdict.reason}; the promotion ${promotion?.action ?? "failed"}: ${promotion?.reason ?? ""}`,
      figures,
      analysis,
      ...(promotion ? { promotion } : {}),
    });
  }

  private async stop(reason: string): Promise<DeploymentInfo | undefined> {
    if (!this.group) return undefined;
    try {
      return (this.group = await this.platform.stopCanary(this.svc.name, this.group.id, reason.slice(0, 255)));
    } catch (err) {
      this.stopFailure = `stopping the canary ${this.group.id} failed (${(err as Error).message}): stop its instances by hand`;
      return undefined;
    }
  }
}
