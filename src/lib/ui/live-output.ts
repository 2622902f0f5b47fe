// The one live-output module of gs (in the spirit of oclif's multi-stage-output and Shopify CLI's `ui`):
// every long-running command (status --watch, deploy, bench) chooses here, once, between
//   json   what the command does under --json (NDJSON, lines on stderr, or nothing),
//   lines  plain lines, in CI, through a pipe, with TERM=dumb, or when stderr is not a terminal,
//   live   an Ink view on stderr, when stdout and stderr are both a terminal outside CI;
// and LiveView mounts that view: Ink imported lazily, a first frame written before Ink has loaded,
// redraws capped, Ctrl-C, and the teardown. Each command keeps only its own rows, lines and component.
//
// Ctrl-C: a view that takes no keys leaves stdin cooked, so Ctrl-C is the terminal's SIGINT and goes
// to the command's interrupt (lib/process/interrupt.ts): the command stops its work and closes the
// view. A view that reads keys (the status dashboard) has the terminal in raw mode: Ctrl-C is then a
// key, which ends the view as its `q` does; `exited` resolves and the command ends as it would on SIGINT.
import type { ComponentType } from "react";
import { colorEnabled, outputMode } from "../output/mode.js";
import type { InkMount } from "./ink-mount.js";

export type Renderer = "json" | "lines" | "live";

/** The streams and environment a command talks to (the process's, or fakes in tests). */
export interface Terminal {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
  env: NodeJS.ProcessEnv;
}

export interface LiveOutput {
  renderer: Renderer;
  /** colours for the view and styled lines: NO_COLOR, FORCE_COLOR, a terminal, TERM=dumb */
  color: boolean;
  /** a person reads stdout at a terminal (outside CI), though the view may not draw (stderr redirected): lines may be throttled */
  watched: boolean;
  term: Terminal;
}

/** The choice, made once per command: JSON wins; the live view needs both streams a terminal, outside CI, with a capable TERM. */
export function liveOutput(opts: { json: boolean } & Partial<Terminal>): LiveOutput {
  const term: Terminal = {
    stdout: opts.stdout ?? process.stdout,
    stderr: opts.stderr ?? process.stderr,
    stdin: opts.stdin ?? process.stdin,
    env: opts.env ?? process.env,
  };
  const mode = outputMode({ json: opts.json, stream: term.stdout, env: term.env });
  // the view draws on stderr: a terminal at stdout is not enough
  const renderer: Renderer = mode === "json" ? "json" : mode === "tty" && term.stderr.isTTY ? "live" : "lines";
  return { renderer, color: colorEnabled(term.stderr, term.env), watched: mode === "tty", term };
}

export interface LiveViewOptions<P extends object> {
  /** the Ink component, imported lazily: `() => import("./x-view.js").then((m) => m.XView)` */
  view: () => Promise<ComponentType<P>>;
  /** its props, read at each frame */
  props: () => P;
  term: Pick<Terminal, "stderr" | "stdin">;
  /** the view reads keys (raw mode), Ctrl-C among them; otherwise stdin stays cooked (default) */
  keys?: boolean;
  /** on close: leave the last frame on screen (default), or erase it so what follows takes its place */
  onClose?: "keep" | "erase";
  /** lines already styled as the first frame will be: written now, replaced by Ink's first frame in the same write */
  firstFrame?: string[];
  /** mount once show() is called, not as soon as Ink has loaded */
  deferred?: boolean;
  /** at most one frame per this many ms (default 100) */
  frameMs?: number;
  /** also redraw this often, for clocks in the props (default: only on changed()) */
  tickMs?: number;
  /** ends the view, as close() does */
  signal?: AbortSignal;
}

/**
 * An Ink view on stderr. Ink starts loading at construction (a command gives it the time it spends
 * connecting); `exited` resolves when the view is gone (closed, aborted, or it quit on a key) and
 * rejects if Ink failed to load or mount, as close() then does unless the view is erased.
 */
export class LiveView<P extends object> {
  readonly exited: Promise<void>;
  private settle!: (error?: unknown) => void;
  private readonly loaded: Promise<void>;
  private mount: InkMount<P> | undefined;
  /** mounts the loaded view, once show() is called */
  private pending: (() => void) | undefined;
  private shown: boolean;
  private closing: Promise<void> | undefined;
  /** the mounted view is gone: unmounted, or it quit on a key */
  private gone = false;
  /** Ink failed to load or mount */
  private failure: unknown;
  private lastFrame = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly tick: NodeJS.Timeout | undefined;
  private readonly replaceLines: number;
  private readonly onAbort = () => void this.close().catch(() => undefined);

  constructor(private readonly opts: LiveViewOptions<P>) {
    this.shown = !opts.deferred;
    this.exited = new Promise<void>((resolve, reject) => {
      this.settle = (error) => (error === undefined ? resolve() : reject(error));
    });
    // awaited by whoever cares; a view that is only closed must not leave an unhandled rejection
    this.exited.catch(() => undefined);
    this.replaceLines = opts.firstFrame?.length ?? 0;
    if (this.replaceLines) opts.term.stderr.write(opts.firstFrame!.join("\n") + "\n");
    this.loaded = Promise.all([import("./ink-mount.js"), opts.view()]).then(([ink, view]) => {
      this.pending = () => this.mountWith(ink.mountInk, view);
      if (this.shown) this.show();
    });
    this.loaded.catch((err: unknown) => this.fail(err));
    if (opts.tickMs) {
      this.tick = setInterval(() => this.draw(), opts.tickMs);
      this.tick.unref();
    }
    if (opts.signal?.aborted) this.onAbort();
    else opts.signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  private get frameMs(): number {
    return this.opts.frameMs ?? 100;
  }

  private get erases(): boolean {
    return this.opts.onClose === "erase";
  }

  /** Mount a deferred view (once Ink has loaded, if it has not yet). */
  show(): void {
    this.shown = true;
    const pending = this.pending;
    this.pending = undefined;
    pending?.();
  }

  /** The props changed: redraw now if the last frame is old enough, else once it is. */
  changed(): void {
    if (this.timer || this.closing) return;
    const wait = this.lastFrame + this.frameMs - Date.now();
    if (wait <= 0) this.draw();
    else this.timer = setTimeout(() => this.draw(), wait);
  }

  /** End the view: its last frame kept (mounted first if Ink is still loading) or erased. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= this.end();
    return this.closing;
  }

  private async end(): Promise<void> {
    this.stopTimers();
    if (this.erases) {
      // nothing drawn yet is nothing to erase, and no reason to wait for Ink
      if (this.mount && !this.gone) this.mount.erase();
      this.gone = true;
      return this.settle();
    }
    await this.loaded;
    if (this.failure !== undefined) throw this.failure;
    if (this.mount && !this.gone) await this.mount.keep(this.opts.props());
    this.gone = true;
    this.settle();
  }

  private mountWith(mountInk: typeof import("./ink-mount.js").mountInk, view: ComponentType<P>): void {
    // a view closed before Ink loaded: an erased one never shows, a kept one shows its last frame
    if (this.closing && this.erases) return;
    try {
      this.mount = mountInk(view, this.opts.props(), {
        stdout: this.opts.term.stderr,
        stdin: this.opts.term.stdin,
        keys: this.opts.keys ?? false,
        maxFps: Math.round(1000 / this.frameMs),
        replaceLines: this.replaceLines,
      });
    } catch (err) {
      return this.fail(err);
    }
    this.lastFrame = Date.now();
    this.mount.exited.then(
      () => {
        // a view that quits on a key ends here
        this.gone = true;
        this.stopTimers();
        this.settle();
      },
      (err: unknown) => this.fail(err),
    );
  }

  private draw(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closing || !this.mount || this.gone) return;
    this.lastFrame = Date.now();
    this.mount.update(this.opts.props());
  }

  private fail(err: unknown): void {
    this.failure = err ?? new Error("the live view failed");
    this.stopTimers();
    this.settle(this.failure);
  }

  private stopTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.tick) clearInterval(this.tick);
    this.opts.signal?.removeEventListener("abort", this.onAbort);
  }
}
