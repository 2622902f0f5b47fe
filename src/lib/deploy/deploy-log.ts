// Deploy progress as lines for CI logs and terminals: `2026-11-28T08:00:00Z auth  rollout  1/2 running`.
// Under GitHub Actions the build and roll-out phases are `::group::` blocks and each failed service an
// `::error::` annotation. Rollout lines of one service are throttled (a terminal gets at most one a
// second per service; the final state always shows). Lines go to `write`; this module never prints.
import type { PushProgress } from "../registry/push.js";
import { deployExitCode, type DeployProgress, type DeployResult } from "./deploy.js";

export interface DeployLogOptions {
  write: (line: string) => void;
  /** the services of the run, to align the prefix column */
  services: string[];
  /** GITHUB_ACTIONS: ::group:: blocks and ::error:: annotations */
  github?: boolean;
  /** minimum ms between two rollout lines of one service (0: every change) */
  throttleMs?: number;
  now?: () => Date;
}

/** `%`, CR and LF escaped as the workflow-command syntax wants. */
export function escapeData(s: string): string {
  return s.replaceAll("%", "%25").replaceAll("\r", "%0D").replaceAll("\n", "%0A");
}
export function escapeProperty(s: string): string {
  return escapeData(s).replaceAll(":", "%3A").replaceAll(",", "%2C");
}

export class DeployLog {
  private readonly width: number;
  private group: string | undefined;
  private readonly lastRollout = new Map<string, number>();
  private readonly rollouts = new Set<string>();
  private readonly started: number;

  constructor(private readonly opts: DeployLogOptions) {
    this.width = Math.max(7, ...opts.services.map((s) => s.length));
    this.started = this.now().getTime();
  }

  private now(): Date {
    return this.opts.now?.() ?? new Date();
  }

  line(service: string, stage: string, text: string): void {
    const at = this.now()
      .toISOString()
      .replace(/\.\d{3}Z$/, "Z");
    this.opts.write(`${at} ${service.padEnd(this.width)}  ${stage.padEnd(8)} ${text}`.trimEnd());
  }

  private open(name: string): void {
    if (!this.opts.github || this.group === name) return;
    this.close();
    this.opts.write(`::group::${name}`);
    this.group = name;
  }

  close(): void {
    if (this.group) this.opts.write("::endgroup::");
    this.group = undefined;
  }

  /** Image stages from the builder: build, push, or found in the registry. */
  image(p: PushProgress): void {
    this.open("build and push");
    const text: Record<PushProgress["stage"], string> = {
      checking: `looking for ${p.detail ?? "the image"} in the registry`,
      present: `in the registry (${p.detail ?? ""}): nothing to build or push`,
      building: `building ${p.detail ?? ""}`,
      pushing: `pushing ${p.detail ?? ""}`,
      pushed: `pushed (${p.detail ?? ""})`,
      failed: `failed: ${p.detail ?? ""}`,
    };
    if (p.stage !== "checking")
      this.line(
        p.service,
        p.stage === "present" ? "image" : p.stage === "failed" ? "build" : p.stage.replace(/ing$|ed$/, ""),
        text[p.stage],
      );
  }

  progress(p: DeployProgress): void {
    switch (p.kind) {
      case "plan":
        this.close();
        this.line(
          "gs",
          "plan",
          `${p.changed.length} to deploy${p.changed.length ? ` (${p.changed.join(", ")})` : ""}, ${p.unchanged.length} unchanged${p.failed.length ? `, ${p.failed.length} failed to build (${p.failed.join(", ")})` : ""}`,
        );
        if (p.changed.length) this.open("roll out");
        break;
      case "start":
        this.announce(p.service, p.from, p.to);
        break;
      case "rollout": {
        const now = this.now().getTime();
        const last = this.lastRollout.get(p.service);
        const final = p.running >= p.desired && p.pending === 0;
        if (!final && last !== undefined && now - last < (this.opts.throttleMs ?? 0)) return;
        this.announce(p.service, p.from, p.to);
        this.lastRollout.set(p.service, now);
        this.line(
          p.service,
          "rollout",
          `${p.running}/${p.desired} running${p.pending ? `, ${p.pending} pending` : ""}${p.failed ? `, ${p.failed} failed` : ""}`,
        );
        break;
      }
      case "verify":
        this.line(p.service, "verify", `waiting for ${p.to} to answer over NATS`);
        break;
      case "rollback":
        this.line(p.service, "rollback", p.reason);
        break;
      case "done": {
        const r = p.result;
        // a rollout an earlier deploy left in progress, which this one took over
        const over = r.resumed ? ` (took over ${r.resumed})` : "";
        const words = {
          deployed: `deployed ${r.to} (verified)`,
          unchanged: "unchanged",
          rolled_back: `rolled back: ${r.reason ?? ""}`,
          failed: `failed: ${r.reason ?? ""}`,
          not_started: `not started (${r.reason ?? ""})`,
        };
        this.line(r.name, "done", `${words[r.action]}${over} in ${r.seconds}s`);
        break;
      }
    }
  }

  /** The first line of a rollout names both versions (when it starts, or at its first count); later ones only count. */
  private announce(service: string, from: string | null, to: string): void {
    const key = `${service} ${to}`;
    if (this.rollouts.has(key)) return;
    this.rollouts.add(key);
    this.line(service, "rollout", `${from ?? "nothing"} -> ${to}`);
  }

  /** The closing lines: one summary, then an annotation per service that failed or was rolled back. */
  summary(result: DeployResult): void {
    this.close();
    const n = (a: string) => result.services.filter((s) => s.action === a).length;
    const secs = Math.round((this.now().getTime() - this.started) / 100) / 10;
    this.line(
      "gs",
      "summary",
      `target ${result.target}: ${n("deployed")} deployed, ${n("unchanged")} unchanged, ${n("rolled_back")} rolled back, ${n("failed")} failed${n("not_started") ? `, ${n("not_started")} not started` : ""} in ${secs}s (exit ${deployExitCode(result)})`,
    );
    if (!this.opts.github) return;
    for (const s of result.services) {
      if (s.action !== "failed" && s.action !== "rolled_back") continue;
      const what = s.timedOut ? "timed out" : s.action === "rolled_back" ? "rolled back" : "failed";
      this.opts.write(
        `::error title=${escapeProperty(`gs deploy: ${s.name} ${what}`)}::${escapeData(s.reason ?? what)}`,
      );
    }
  }
}
