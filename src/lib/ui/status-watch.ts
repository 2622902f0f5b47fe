// `gs status --watch`: one of three renderers, chosen once (as oclif's multi-stage-output does):
// NDJSON under --json, plain change lines without a terminal (or in CI), the Ink dashboard on a
// terminal. Ink is imported only on that last path.
import type { OutputMode } from "../output/mode.js";
import type { FleetSnapshot } from "../status/fleet-snapshot.js";
import type { FleetStore } from "../status/fleet-store.js";
import { ChangeLog, toWatchJson } from "../status/watch-output.js";

export interface StatusWatchOptions {
  mode: OutputMode;
  store: FleetStore;
  color: boolean;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
  /** ends the watch (SIGINT, SIGTERM) */
  signal: AbortSignal;
}

/** Runs until the user quits or `signal` aborts; returns the last complete snapshot. */
export async function watchStatus(opts: StatusWatchOptions): Promise<FleetSnapshot | undefined> {
  const { store } = opts;
  let last: FleetSnapshot | undefined;
  const unsubscribe = store.onRound((s) => {
    last = s;
    if (opts.mode === "json") opts.stdout.write(JSON.stringify(toWatchJson(s)) + "\n");
  });
  const changes = new ChangeLog();
  const unsubscribePlain =
    opts.mode === "plain"
      ? store.onRound((s) => {
          for (const line of changes.next(s)) opts.stdout.write(line + "\n");
        })
      : () => undefined;
  try {
    if (opts.mode === "tty") {
      // poll while Ink loads, and mount once the first round is in (or a second passed): the first
      // frame is then a full one, and no render is spent on an empty table
      const firstRound = new Promise<void>((resolve) => {
        const off = store.onRound(() => {
          off();
          resolve();
        });
        setTimeout(resolve, 1000).unref();
      });
      store.start();
      // React picks its build from NODE_ENV when it loads: the development build (the default when
      // unset) checks and times every render, which doubles the dashboard's CPU
      process.env.NODE_ENV = "production";
      const { runDashboard } = await import("./dashboard.js");
      await firstRound;
      await runDashboard({ feed: store, color: opts.color, stdout: opts.stderr, stdin: opts.stdin, signal: opts.signal });
    } else {
      store.start();
      await new Promise<void>((resolve) => {
        if (opts.signal.aborted) resolve();
        opts.signal.addEventListener("abort", () => resolve(), { once: true });
      });
    }
  } finally {
    store.stop();
    unsubscribe();
    unsubscribePlain();
  }
  return last;
}
