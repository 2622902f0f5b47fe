// `gs deploy --canary` as lines (CI, pipes, --json on stderr): the canary's start, each reading of the
// analysis (canary vs baseline), the verdict with its figures, the promotion's rollout lines (deploy's
// own log), and the summary. Under GitHub Actions an aborted canary is an `::error::` annotation.
import { DeployLog, escapeData, escapeProperty } from "../deploy/deploy-log.js";
import { formatDuration } from "../output/format.js";
import { canaryExitCode, type CanaryProgress, type CanaryResult } from "./canary-deploy.js";
import type { GroupFigures } from "./canary-stats.js";

export interface CanaryLogOptions {
  write: (line: string) => void;
  services: string[];
  github?: boolean;
  now?: () => Date;
}

/** `60 req, 0.00% errors, p99 1.2ms` */
export function groupText(g: GroupFigures): string {
  const rate = g.errorRate === null ? "-" : `${(g.errorRate * 100).toFixed(2)}%`;
  return `${g.requests} req, ${rate} errors, p99 ${g.p99Ms === null ? "-" : formatDuration(g.p99Ms)}`;
}

export class CanaryLog {
  private readonly log: DeployLog;
  private readonly started: number;

  constructor(private readonly opts: CanaryLogOptions) {
    this.log = new DeployLog({ write: opts.write, services: opts.services, github: opts.github, now: opts.now });
    this.started = (opts.now?.() ?? new Date()).getTime();
  }

  progress(p: CanaryProgress): void {
    const line = (service: string, stage: string, text: string) => this.log.line(service, stage, text);
    switch (p.kind) {
      case "plan":
        this.log.progress({ kind: "plan", changed: p.changed, unchanged: p.unchanged, failed: p.failed });
        break;
      case "start":
        line(
          p.service,
          "canary",
          `${p.from ?? "nothing"} -> ${p.to}: ${p.canaries} canary instance${p.canaries === 1 ? "" : "s"} beside the service's own`,
        );
        break;
      case "canary":
        line(p.service, "canary", `${p.running}/${p.desired} running${p.pending ? `, ${p.pending} pending` : ""}`);
        break;
      case "sample":
        line(
          p.service,
          "analysis",
          `${formatDuration(p.elapsedMs)}/${formatDuration(p.windowMs)} canary ${groupText(p.figures.canary)} | baseline ${groupText(p.figures.baseline)}`,
        );
        break;
      case "verdict":
        line(p.service, "verdict", `${p.decision}: ${p.reason}`);
        break;
      case "promote":
        // the promotion's own plan line would repeat the canary's
        if (p.progress.kind !== "plan" && p.progress.kind !== "done") this.log.progress(p.progress);
        break;
      case "done": {
        const r = p.result;
        const words: Record<typeof r.action, string> = {
          promoted: `promoted ${r.to} (verified)`,
          aborted: `canary aborted, ${r.from ?? "nothing"} kept`,
          rolled_back: `promotion rolled back: ${r.reason ?? ""}`,
          failed: `failed: ${r.reason ?? ""}`,
          unchanged: "unchanged",
          not_started: `not started (${r.reason ?? ""})`,
        };
        line(r.name, "done", `${words[r.action]} in ${r.seconds}s`);
        break;
      }
    }
  }

  summary(result: CanaryResult): void {
    this.log.close();
    const n = (a: string) => result.services.filter((s) => s.action === a).length;
    const secs = Math.round(((this.opts.now?.() ?? new Date()).getTime() - this.started) / 100) / 10;
    this.log.line(
      "gs",
      "summary",
      `target ${result.target}: ${n("promoted")} promoted, ${n("aborted")} aborted, ${n("unchanged")} unchanged, ${n("rolled_back")} rolled back, ${n("failed")} failed in ${secs}s (exit ${canaryExitCode(result)})`,
    );
    if (!this.opts.github) return;
    for (const s of result.services) {
      if (s.action !== "aborted" && s.action !== "failed" && s.action !== "rolled_back") continue;
      const what = s.action === "aborted" ? "canary aborted" : s.action === "rolled_back" ? "rolled back" : "failed";
      this.opts.write(
        `::error title=${escapeProperty(`gs deploy --canary: ${s.name} ${what}`)}::${escapeData(s.reason ?? what)}`,
      );
    }
  }

  close(): void {
    this.log.close();
  }
}
