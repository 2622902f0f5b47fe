// How `gs bench` shows its progress, chosen by live-output.ts: nothing under --json, a plain line every
// few seconds as lines, the panel (bench-view.tsx) live. Ink loads while the run connects; the panel
// mounts when the workers start and is erased at the end, so the report takes its place.
import { BenchFeed, livePlan } from "../bench/bench-feed.js";
import type { Plan } from "../bench/plan.js";
import { ProgressLine } from "../bench/progress.js";
import type { ProgressSnapshot } from "../bench/run.js";
import { LiveView, type LiveOutput } from "./live-output.js";
import type { BenchViewProps } from "./bench-view.js";

export interface BenchProgress {
  /** the workers are about to start */
  start(plan: Plan): void;
  update(s: ProgressSnapshot): void;
  /** remove the live view (before the report is printed); safe to call more than once */
  end(): Promise<void>;
}

export function benchProgress(out: LiveOutput): BenchProgress {
  if (out.renderer === "live") return new BenchLive(out);
  const line = new ProgressLine(out.renderer === "json" ? "json" : "plain", out.term.stderr);
  return { start: () => undefined, update: (s) => line.update(s), end: async () => line.end() };
}

class BenchLive implements BenchProgress {
  private readonly feed = new BenchFeed();
  private readonly view: LiveView<BenchViewProps>;
  // should Ink fail to load or mount, the line rewritten in place still shows progress
  private fallback?: ProgressLine;

  constructor(private readonly out: LiveOutput) {
    this.view = new LiveView({
      view: () => import("./bench-view.js").then((m) => m.BenchView),
      props: () => ({ feed: this.feed, color: out.color }),
      term: out.term,
      deferred: true,
      onClose: "erase",
    });
    this.view.exited.catch(() => (this.fallback ??= new ProgressLine("tty", this.out.term.stderr)));
  }

  start(plan: Plan): void {
    this.feed.start(livePlan(plan));
    this.view.show();
  }

  update(s: ProgressSnapshot): void {
    this.feed.update(s);
    this.fallback?.update(s);
  }

  async end(): Promise<void> {
    this.feed.end();
    await this.view.close();
    this.fallback?.end();
  }
}
