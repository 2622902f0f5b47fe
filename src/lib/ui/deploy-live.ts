// How `gs deploy` shows its progress, chosen once (as oclif's multi-stage-output does): timestamped
// lines (DeployLog: CI, pipes, --json) or, on a terminal, the live Ink view of every service's stage.
// Both take the pusher's and the orchestrator's events; Ink is imported only for the live view.
import { DeployBoard } from "../deploy/deploy-board.js";
import type { DeployProgress, DeployResult } from "../deploy/deploy.js";
import { DeployLog } from "../deploy/deploy-log.js";
import { colorEnabled, type OutputMode } from "../output/mode.js";
import type { PushProgress } from "../registry/push.js";
import type { DeployViewHandle, DeployViewState } from "./deploy-view.js";

export interface DeployReporter {
  image(p: PushProgress): void;
  progress(p: DeployProgress): void;
  /** the outcome: the closing line(s), or the live view's last frame left on screen */
  summary(result: DeployResult): Promise<void>;
  /** the end, after summary() or instead of it (an error): close a log group, or take the live view down so what follows prints below it */
  close(): Promise<void>;
}

export interface DeployReporterOptions {
  mode: OutputMode;
  target: string;
  platform: "local" | "ecs";
  services: string[];
  concurrency: number;
  /** GITHUB_ACTIONS: ::group:: blocks and ::error:: annotations in the lines */
  github: boolean;
  /** the live view's colours (default: colorEnabled(stderr), which reads NO_COLOR) */
  color?: boolean;
  /** the lines' sink (stderr) */
  write: (line: string) => void;
  /** where the live view draws (default process.stderr, like every live UI of gs) */
  stderr?: NodeJS.WriteStream;
  /** the live view's stdin (default process.stdin, touched only when the view is used) */
  stdin?: NodeJS.ReadStream;
  /** live view: at most one frame per this many ms (default 100) */
  frameMs?: number;
}

/** The live view on a terminal (both stdout and stderr one), timestamped lines otherwise. */
export function deployReporter(opts: DeployReporterOptions): DeployReporter {
  const stderr = opts.stderr ?? process.stderr;
  if (opts.mode === "tty" && stderr.isTTY)
    return new DeployLive({ ...opts, stderr, color: opts.color ?? colorEnabled(stderr) });
  const log = new DeployLog({
    write: opts.write,
    services: opts.services,
    github: opts.github,
    throttleMs: opts.mode === "tty" ? 1000 : 0,
  });
  return {
    image: (p) => log.image(p),
    progress: (p) => log.progress(p),
    summary: async (result) => log.summary(result),
    close: async () => log.close(),
  };
}

/** Feeds a DeployBoard and redraws it at most every `frameMs`, plus once a second for the clocks. */
class DeployLive implements DeployReporter {
  readonly board: DeployBoard;
  private readonly view: Promise<Mounted>;
  private mounted: Mounted | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly clock: NodeJS.Timeout;
  private lastFrame = 0;
  private ended = false;

  constructor(private readonly opts: DeployReporterOptions & { stderr: NodeJS.WriteStream; color: boolean }) {
    this.board = new DeployBoard({
      target: opts.target,
      platform: opts.platform,
      services: opts.services,
      concurrency: opts.concurrency,
    });
    this.view = this.mount();
    // an error while Ink loads surfaces from summary() or close(), not as an unhandled rejection
    this.view.catch(() => undefined);
    this.clock = setInterval(() => this.draw(), 1000);
    this.clock.unref();
  }

  private get frameMs(): number {
    return this.opts.frameMs ?? 100;
  }

  private async mount(): Promise<Mounted> {
    // Ink and React load here and only here: the line output never pays for them
    const ui = await import("./deploy-view.js");
    const handle = ui.renderDeployView(ui.viewState(this.board), {
      color: this.opts.color,
      stdout: this.opts.stderr,
      stdin: this.opts.stdin ?? process.stdin,
      maxFps: Math.round(1000 / this.frameMs),
    });
    this.lastFrame = Date.now();
    this.mounted = { handle, viewState: ui.viewState };
    return this.mounted;
  }

  image(p: PushProgress): void {
    this.board.image(p);
    this.schedule();
  }

  progress(p: DeployProgress): void {
    this.board.progress(p);
    this.schedule();
  }

  /** Redraw now if the last frame is old enough, else once it is. */
  private schedule(): void {
    if (this.timer || this.ended) return;
    const wait = this.lastFrame + this.frameMs - Date.now();
    if (wait <= 0) this.draw();
    else this.timer = setTimeout(() => this.draw(), wait);
  }

  private draw(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.ended || !this.mounted) return;
    this.lastFrame = Date.now();
    this.mounted.handle.update(this.mounted.viewState(this.board));
  }

  async summary(result: DeployResult): Promise<void> {
    this.board.finish(result);
    await this.end();
  }

  async close(): Promise<void> {
    await this.end();
  }

  /** The board as it is now is the last frame, left on screen; the command's output follows below it. */
  private async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    if (this.timer) clearTimeout(this.timer);
    clearInterval(this.clock);
    const { handle, viewState } = await this.view;
    await handle.finish(viewState(this.board));
  }
}

interface Mounted {
  handle: DeployViewHandle;
  viewState: (b: DeployBoard) => DeployViewState;
}
