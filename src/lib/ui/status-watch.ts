// `gs status --watch`: one of three renderers, chosen once (as oclif's multi-stage-output does):
// NDJSON under --json, plain change lines without a terminal (or in CI), the Ink dashboard on a
// terminal. Ink is imported only on that last path.
import type { OutputMode } from "../output/mode.js";
import type { FleetSnapshot } from "../status/fleet-snapshot.js";
import type { FleetStore } from "../status/fleet-store.js";
import { ChangeLog, toWatchJson } from "../status/watch-output.js";
import { currentRow, initialView } from "./dashboard-keys.js";
import { listFrame } from "./fleet-lines.js";
import { theme } from "./theme.js";

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

/** The list view as the dashboard will draw it; returns how many lines were written (0 before any answer). */
function writeFirstFrame(snap: FleetSnapshot, opts: StatusWatchOptions): number {
  if (snap.lastPollAt === null) return 0;
  const keys = opts.stdin.isTTY === true && typeof opts.stdin.setRawMode === "function";
  const lines = listFrame({
    snap,
    view: initialView,
    selected: currentRow(initialView, snap.services),
    columns: opts.stderr.columns || 120,
    rows: opts.stderr.rows || 40,
    keys,
    th: theme(opts.color),
  });
  opts.stderr.write(lines.join("\n") + "\n");
  return lines.length;
}

/** Runs until the user quits or `signal` aborts; returns the last complete snapshot. */
export async function watchStatus(opts: StatusWatchOptions): Promise<FleetSnapshot | undefined> {
  const { store } = opts;
  let last: FleetSnapshot | undefined;
  const changes = opts.mode === "plain" ? new ChangeLog() : undefined;
  const unsubscribe = store.onRound((s) => {
    last = s;
    if (opts.mode === "json") opts.stdout.write(JSON.stringify(toWatchJson(s)) + "\n");
    if (changes) for (const line of changes.next(s)) opts.stdout.write(line + "\n");
  });
  try {
    if (opts.mode === "tty") {
      // The first frame does not wait for Ink: once the first round is in (or a second passed), the
      // list view is written as plain styled lines, then Ink loads and draws over them. Ink is
      // loaded after the round, not during it: its load is CPU the 44 answering instances need too.
      const firstRound = new Promise<void>((resolve) => {
        const off = store.onRound(() => {
          off();
          resolve();
        });
        setTimeout(resolve, 1000).unref();
      });
      store.start();
      await firstRound;
      const drawn = opts.signal.aborted ? 0 : writeFirstFrame(store.snapshot(), opts);
      const { runDashboard } = await import("./dashboard.js");
      await runDashboard({
        feed: store,
        color: opts.color,
        stdout: opts.stderr,
        stdin: opts.stdin,
        signal: opts.signal,
        replaceLines: drawn,
      });
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
  }
  return last;
}
