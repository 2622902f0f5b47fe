// How `gs deploy` shows its progress, chosen by live-output.ts: timestamped lines (DeployLog: CI, pipes,
// --json) or, live, the Ink view of every service's stage (deploy-view.tsx), whose last frame stays on
// screen. Both take the pusher's and the orchestrator's events.
import { DeployBoard } from "../deploy/deploy-board.js";
import type { DeployProgress, DeployResult } from "../deploy/deploy.js";
import { DeployLog } from "../deploy/deploy-log.js";
import type { PushProgress } from "../registry/push.js";
import { LiveView, type LiveOutput } from "./live-output.js";
import type { DeployViewProps } from "./deploy-view.js";

export interface DeployReporter {
  image(p: PushProgress): void;
  progress(p: DeployProgress): void;
  /** the outcome: the closing line(s), or the live view's last frame left on screen */
  summary(result: DeployResult): Promise<void>;
  /** the end, after summary() or instead of it (an error): close a log group, or take the live view down so what follows prints below it */
  close(): Promise<void>;
}

export interface DeployReporterOptions {
  target: string;
  platform: "local" | "ecs";
  services: string[];
  concurrency: number;
  /** GITHUB_ACTIONS: ::group:: blocks and ::error:: annotations in the lines */
  github: boolean;
  /** the lines' sink (stderr) */
  write: (line: string) => void;
  /** live view: at most one frame per this many ms (default 100) */
  frameMs?: number;
}

export function deployReporter(out: LiveOutput, opts: DeployReporterOptions): DeployReporter {
  if (out.renderer === "live") return new DeployLive(out, opts);
  // a person reading lines at a terminal gets one a second per service, a log every change
  const log = new DeployLog({
    write: opts.write,
    services: opts.services,
    github: opts.github,
    throttleMs: out.watched ? 1000 : 0,
  });
  return {
    image: (p) => log.image(p),
    progress: (p) => log.progress(p),
    summary: async (result) => log.summary(result),
    close: async () => log.close(),
  };
}

/** Feeds a DeployBoard; the view redraws at most every `frameMs`, plus once a second for the clocks. */
class DeployLive implements DeployReporter {
  private readonly board: DeployBoard;
  private readonly view: LiveView<DeployViewProps>;

  constructor(out: LiveOutput, opts: DeployReporterOptions) {
    const board = new DeployBoard({
      target: opts.target,
      platform: opts.platform,
      services: opts.services,
      concurrency: opts.concurrency,
    });
    this.board = board;
    this.view = new LiveView({
      view: () => import("./deploy-view.js").then((m) => m.DeployView),
      props: () => ({ state: board.snapshot(), color: out.color }),
      term: out.term,
      frameMs: opts.frameMs,
      tickMs: 1000,
    });
  }

  image(p: PushProgress): void {
    this.board.image(p);
    this.view.changed();
  }

  progress(p: DeployProgress): void {
    this.board.progress(p);
    this.view.changed();
  }

  async summary(result: DeployResult): Promise<void> {
    this.board.finish(result);
    await this.view.close();
  }

  /** The board as it is now is the last frame, left on screen; the command's output follows below it. */
  async close(): Promise<void> {
    await this.view.close();
  }
}
