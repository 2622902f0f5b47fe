// What the live view of `gs deploy --canary` shows: one row per service (its phase, canary vs baseline
// figures, the verdict so far or the final one), kept from the orchestrator's events. Lines and JSON
// do not use it; the Ink view (ui/canary-view.tsx) renders its snapshots.
import type { CanaryAction, CanaryProgress, CanaryResult } from "./canary-deploy.js";
import type { CanaryFigures } from "./canary-stats.js";

export type CanaryPhase = "waiting" | "starting" | "analysing" | "promoting" | CanaryAction;

export interface CanaryRow {
  service: string;
  phase: CanaryPhase;
  from: string | null;
  to: string | null;
  canaries: number;
  running: number;
  elapsedMs: number;
  windowMs: number;
  figures?: CanaryFigures;
  /** the verdict so far, the final reason, or what the promotion is doing */
  note: string;
}

export interface CanarySnapshot {
  target: string;
  rows: CanaryRow[];
  done: boolean;
}

export class CanaryBoard {
  private readonly rows = new Map<string, CanaryRow>();
  private done = false;

  constructor(
    private readonly target: string,
    services: string[],
  ) {
    for (const s of services) this.row(s);
  }

  private row(service: string): CanaryRow {
    let r = this.rows.get(service);
    if (!r) {
      r = {
        service,
        phase: "waiting",
        from: null,
        to: null,
        canaries: 0,
        running: 0,
        elapsedMs: 0,
        windowMs: 0,
        note: "",
      };
      this.rows.set(service, r);
    }
    return r;
  }

  progress(p: CanaryProgress): void {
    switch (p.kind) {
      case "plan":
        for (const s of p.unchanged) Object.assign(this.row(s), { phase: "unchanged", note: "unchanged" });
        for (const s of p.failed) Object.assign(this.row(s), { phase: "failed", note: "build failed" });
        break;
      case "start":
        Object.assign(this.row(p.service), {
          phase: "starting",
          from: p.from,
          to: p.to,
          canaries: p.canaries,
          note: `starting ${p.canaries} canary instance${p.canaries === 1 ? "" : "s"}`,
        });
        break;
      case "canary":
        Object.assign(this.row(p.service), { running: p.running });
        break;
      case "sample":
        Object.assign(this.row(p.service), {
          phase: "analysing",
          elapsedMs: p.elapsedMs,
          windowMs: p.windowMs,
          figures: p.figures,
          note: p.so_far,
        });
        break;
      case "verdict":
        Object.assign(this.row(p.service), {
          phase: p.decision === "promote" ? "promoting" : "aborted",
          note: `${p.decision}: ${p.reason}`,
        });
        break;
      case "promote":
        if (p.progress.kind === "rollout")
          this.row(p.service).note = `promoting: ${p.progress.running}/${p.progress.desired} running`;
        break;
      case "done": {
        const r = this.row(p.result.name);
        r.phase = p.result.action;
        if (p.result.figures) r.figures = p.result.figures;
        r.note = p.result.reason ?? p.result.action;
        break;
      }
    }
  }

  finish(_result: CanaryResult): void {
    this.done = true;
  }

  snapshot(): CanarySnapshot {
    return { target: this.target, rows: [...this.rows.values()].map((r) => ({ ...r })), done: this.done };
  }
}
