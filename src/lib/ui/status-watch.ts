// `gs status --watch`, in the renderer live-output.ts chose: NDJSON under --json, one plain line per
// change as lines, the dashboard (dashboard-app.tsx) live. Its first frame does not wait for Ink.
import type { FleetSnapshot } from "../status/fleet-snapshot.js";
import type { FleetStore } from "../status/fleet-store.js";
import { ChangeLog, toWatchJson } from "../status/watch-output.js";
import { currentRow, initialView } from "./dashboard-keys.js";
import { listFrame } from "./fleet-lines.js";
import { LiveView, type LiveOutput } from "./live-output.js";
import type { DashboardProps } from "./dashboard-app.js";
import { theme } from "./theme.js";

export interface StatusWatchOptions {
  out: LiveOutput;
  store: FleetStore;
  /** ends the watch (SIGINT, SIGTERM) */
  signal: AbortSignal;
}

/** The list view as the dashboard will draw it (none before any answer). */
function firstFrame(snap: FleetSnapshot, out: LiveOutput): string[] {
  if (snap.lastPollAt === null) return [];
  const { stdin, stderr } = out.term;
  return listFrame({
    snap,
    view: initialView,
    selected: currentRow(initialView, snap.services),
    columns: stderr.columns || 120,
    rows: stderr.rows || 40,
    keys: stdin.isTTY === true && typeof stdin.setRawMode === "function",
    th: theme(out.color),
  });
}

/** Runs until the user quits or `signal` aborts; returns the last complete snapshot. */
export async function watchStatus(opts: StatusWatchOptions): Promise<FleetSnapshot | undefined> {
  const { store, out, signal } = opts;
  let last: FleetSnapshot | undefined;
  const changes = out.renderer === "lines" ? new ChangeLog() : undefined;
  const unsubscribe = store.onRound((s) => {
    last = s;
    if (out.renderer === "json") out.term.stdout.write(JSON.stringify(toWatchJson(s)) + "\n");
    if (changes) for (const line of changes.next(s)) out.term.stdout.write(line + "\n");
  });
  try {
    if (out.renderer === "live") {
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
      const view = new LiveView<DashboardProps>({
        view: () => import("./dashboard-app.js").then((m) => m.Dashboard),
        props: () => ({ feed: store, color: out.color }),
        term: out.term,
        keys: true,
        firstFrame: signal.aborted ? [] : firstFrame(store.snapshot(), out),
        signal,
      });
      await view.exited;
    } else {
      store.start();
      await new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        signal.addEventListener("abort", () => resolve(), { once: true });
      });
    }
  } finally {
    store.stop();
    unsubscribe();
  }
  return last;
}
