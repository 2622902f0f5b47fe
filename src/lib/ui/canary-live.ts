// How `gs deploy --canary` shows its progress, chosen by live-output.ts: timestamped lines (CanaryLog:
// CI, pipes, --json) or, live, the Ink table of canary vs baseline per service (canary-view.tsx), whose
// last frame stays on screen.
import { CanaryBoard } from "../canary/canary-board.js";
import type { CanaryProgress, CanaryResult } from "../canary/canary-deploy.js";
import { CanaryLog } from "../canary/canary-log.js";
import { LiveView, type LiveOutput } from "./live-output.js";
import type { CanaryViewProps } from "./canary-view.js";

export interface CanaryReporter {
  progress(p: CanaryProgress): void;
  summary(result: CanaryResult): Promise<void>;
  close(): Promise<void>;
}

export interface CanaryReporterOptions {
  target: string;
  services: string[];
  /** GITHUB_ACTIONS: ::error:: annotations in the lines */
  github: boolean;
  /** the lines' sink (stderr) */
  write: (line: string) => void;
  frameMs?: number;
}

export function canaryReporter(out: LiveOutput, opts: CanaryReporterOptions): CanaryReporter {
  if (out.renderer === "live") {
    const board = new CanaryBoard(opts.target, opts.services);
    const view = new LiveView<CanaryViewProps>({
      view: () => import("./canary-view.js").then((m) => m.CanaryView),
      props: () => ({ state: board.snapshot(), color: out.color }),
      term: out.term,
      frameMs: opts.frameMs,
      tickMs: 1000,
    });
    return {
      progress: (p) => {
        board.progress(p);
        view.changed();
      },
      summary: async (result) => {
        board.finish(result);
        await view.close();
      },
      close: () => view.close(),
    };
  }
  const log = new CanaryLog({ write: opts.write, services: opts.services, github: opts.github });
  return {
    progress: (p) => log.progress(p),
    summary: async (result) => log.summary(result),
    close: async () => log.close(),
  };
}
