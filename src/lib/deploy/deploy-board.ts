// The state of a deploy, one row per service, for the live view: what stage each service is in, its
// rollout's counts, and why it failed. Fed the same events as DeployLog (the pusher's and the
// orchestrator's); it keeps state only, and never prints or renders.
import type { PushProgress } from "../registry/push.js";
import type { DeployAction, DeployProgress, DeployResult, ServiceDeployResult } from "./deploy.js";

export type Stage =
  | "waiting"
  | "checking"
  | "building"
  | "pushing"
  | "pushed"
  | "present"
  | "registering"
  | "rolling-out"
  | "verifying"
  | "deployed"
  | "unchanged"
  | "rolling-back"
  | "rolled-back"
  | "failed"
  | "not-started";

/** Stages after which nothing more happens to a service in this deploy. */
export const FINAL_STAGES: ReadonlySet<Stage> = new Set([
  "deployed",
  "unchanged",
  "rolled-back",
  "failed",
  "not-started",
]);

export interface RolloutCounts {
  running: number;
  desired: number;
  pending: number;
  failed: number;
}

export interface BoardRow {
  name: string;
  stage: Stage;
  /** the version running before (known once the rollout starts, or at the end) */
  from: string | null;
  /** the version built */
  to: string | null;
  /** the latest counts of the rollout (or of the rollback) */
  counts: RolloutCounts | null;
  /** what is happening, or why it failed or rolled back */
  detail: string;
  /** when the current phase (build, then rollout) began; null while waiting */
  since: number | null;
  /** once final: seconds the orchestrator reports (the rollout's, or the build's when that failed) */
  seconds: number | null;
  /** the new version answered over NATS */
  verified: boolean;
  timedOut: boolean;
}

export interface BoardSummary {
  services: number;
  waiting: number;
  /** building, pushing, rolling out, verifying, rolling back ... */
  active: number;
  deployed: number;
  unchanged: number;
  rolledBack: number;
  failed: number;
  /** the deploy was interrupted before their rollout began */
  notStarted: number;
}

/** The board at one instant: what the live view (ui/deploy-view.tsx) draws. */
export interface BoardSnapshot {
  target: string;
  platform: "local" | "ecs";
  concurrency: number;
  rows: BoardRow[];
  summary: BoardSummary;
  elapsedMs: number;
  /** the clock the rows' elapsed times are measured against */
  now: number;
  finished: boolean;
}

export interface DeployBoardOptions {
  target: string;
  platform: "local" | "ecs";
  /** the services asked for (the plan may add or drop some) */
  services: string[];
  concurrency: number;
  now?: () => number;
}

const ACTION_STAGE: Record<DeployAction, Stage> = {
  deployed: "deployed",
  unchanged: "unchanged",
  rolled_back: "rolled-back",
  failed: "failed",
  not_started: "not-started",
};

export class DeployBoard {
  readonly target: string;
  readonly platform: "local" | "ecs";
  readonly concurrency: number;
  readonly startedAt: number;
  /** set by finish() */
  finishedAt: number | null = null;
  private readonly byName = new Map<string, BoardRow>();
  private readonly clock: () => number;

  constructor(opts: DeployBoardOptions) {
    this.target = opts.target;
    this.platform = opts.platform;
    this.concurrency = opts.concurrency;
    this.clock = opts.now ?? Date.now;
    this.startedAt = this.clock();
    // local bundles every service at once; ecs images wait for a build slot until the pusher checks them
    for (const name of opts.services) this.add(name, opts.platform === "local" ? "building" : "waiting");
  }

  now(): number {
    return this.clock();
  }

  private add(name: string, stage: Stage = "waiting"): BoardRow {
    const row: BoardRow = {
      name,
      stage,
      from: null,
      to: null,
      counts: null,
      detail: "",
      since: null,
      seconds: null,
      verified: false,
      timedOut: false,
    };
    if (stage !== "waiting") row.since = this.clock();
    if (stage === "building") row.detail = "bundling";
    this.byName.set(name, row);
    return row;
  }

  private row(name: string): BoardRow {
    return this.byName.get(name) ?? this.add(name);
  }

  /** Move a row on; `phase` starts its clock anew (the build, then the rollout). */
  private enter(row: BoardRow, stage: Stage, detail: string, phase = false): void {
    if (phase || row.since === null) row.since = this.clock();
    row.stage = stage;
    row.detail = detail;
  }

  /** The pusher's stages (ecs): find the image in the registry, or build and push it. */
  image(p: PushProgress): void {
    const row = this.row(p.service);
    if (FINAL_STAGES.has(row.stage)) return;
    switch (p.stage) {
      case "checking":
        return this.enter(row, "checking", `looking for ${p.detail ?? "the image"} in the registry`);
      case "present":
        return this.enter(row, "present", "nothing to build or push");
      case "building":
        return this.enter(row, "building", p.detail ?? "");
      case "pushing":
        return this.enter(row, "pushing", p.detail ?? "");
      case "pushed":
        return this.enter(row, "pushed", p.detail ?? "");
      case "failed":
        return this.enter(row, "failed", p.detail ?? "the image did not build");
    }
  }

  /** The orchestrator's events. */
  progress(p: DeployProgress): void {
    switch (p.kind) {
      case "plan": {
        const planned = new Set([...p.changed, ...p.unchanged, ...p.failed]);
        // rows asked for that the platform does not run are not part of this deploy
        for (const name of [...this.byName.keys()]) if (!planned.has(name)) this.byName.delete(name);
        for (const name of p.changed) {
          const row = this.row(name);
          row.stage = "waiting";
          row.detail = "waiting to roll out";
          row.since = null;
        }
        for (const name of p.unchanged) {
          const row = this.row(name);
          row.stage = "unchanged";
          row.detail = "already running this build";
          row.seconds = 0;
        }
        for (const name of p.failed) {
          const row = this.row(name);
          // the reason comes with the pusher's "failed" (ecs) or with the result
          if (row.stage !== "failed") this.enter(row, "failed", "did not build");
        }
        return;
      }
      case "start": {
        const row = this.row(p.service);
        row.from = p.from;
        row.to = p.to;
        row.counts = null;
        // ecs registers a task definition revision before the service is updated; local starts instances at once
        if (this.platform === "ecs") this.enter(row, "registering", `task definition revision for ${p.to}`, true);
        else this.enter(row, "rolling-out", "starting new instances", true);
        return;
      }
      case "rollout": {
        const row = this.row(p.service);
        row.counts = { running: p.running, desired: p.desired, pending: p.pending, failed: p.failed };
        if (row.stage === "rolling-back") return;
        if (row.to === null) {
          row.from = p.from;
          row.to = p.to;
        }
        const parts = [p.pending ? `${p.pending} pending` : "", p.failed ? `${p.failed} failed` : ""].filter(Boolean);
        this.enter(row, "rolling-out", parts.join(", "));
        return;
      }
      case "verify":
        return this.enter(this.row(p.service), "verifying", "waiting for the new version to answer over NATS");
      case "rollback":
        return this.enter(this.row(p.service), "rolling-back", p.reason);
      case "done":
        return this.settle(p.result);
    }
  }

  private settle(r: ServiceDeployResult): void {
    const row = this.row(r.name);
    const verified = r.action === "deployed" && row.stage === "verifying";
    row.stage = ACTION_STAGE[r.action];
    row.from = r.from;
    row.to = r.to;
    row.seconds = r.seconds;
    row.timedOut = Boolean(r.timedOut);
    row.verified ||= verified;
    if (row.since === null) row.since = this.clock();
    if (r.action === "deployed") {
      row.detail = row.verified ? "answers over NATS" : "";
      // the bar shows where the rollout ended
      if (row.counts)
        row.counts = { ...row.counts, running: Math.max(row.counts.running, row.counts.desired), pending: 0 };
    } else if (r.action === "unchanged") row.detail = "already running this build";
    else if (r.action === "not_started") row.detail = r.reason ?? "";
    else row.detail = r.reason ?? (r.action === "failed" ? "failed" : "rolled back");
  }

  /** The orchestrator's result: every row final, with the versions and reasons it reports. */
  finish(result: DeployResult): void {
    const names = new Set(result.services.map((s) => s.name));
    for (const name of [...this.byName.keys()]) if (!names.has(name)) this.byName.delete(name);
    for (const r of result.services) this.settle(r);
    this.finishedAt ??= this.clock();
  }

  rows(): BoardRow[] {
    return [...this.byName.values()].map((r) => ({ ...r, counts: r.counts && { ...r.counts } }));
  }

  summary(): BoardSummary {
    const s: BoardSummary = {
      services: 0,
      waiting: 0,
      active: 0,
      deployed: 0,
      unchanged: 0,
      rolledBack: 0,
      failed: 0,
      notStarted: 0,
    };
    for (const r of this.byName.values()) {
      s.services++;
      if (r.stage === "waiting") s.waiting++;
      else if (r.stage === "deployed") s.deployed++;
      else if (r.stage === "unchanged") s.unchanged++;
      else if (r.stage === "rolled-back") s.rolledBack++;
      else if (r.stage === "failed") s.failed++;
      else if (r.stage === "not-started") s.notStarted++;
      else s.active++;
    }
    return s;
  }

  /** Time since the deploy began (until finish()). */
  elapsedMs(): number {
    return (this.finishedAt ?? this.clock()) - this.startedAt;
  }

  snapshot(): BoardSnapshot {
    return {
      target: this.target,
      platform: this.platform,
      concurrency: this.concurrency,
      rows: this.rows(),
      summary: this.summary(),
      elapsedMs: this.elapsedMs(),
      now: this.now(),
      finished: this.finishedAt !== null,
    };
  }
}
