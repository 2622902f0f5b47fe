// Mounts the dashboard with Ink. Loaded only by `gs status --watch` on a terminal (a dynamic import):
// Ink and React cost ~0.5 s to load, which no other form of `gs status` should pay.
import { render } from "ink";
import type { FleetFeed } from "../status/fleet-store.js";
import { Dashboard } from "./dashboard-app.js";

export interface DashboardOptions {
  feed: FleetFeed;
  color: boolean;
  /** where the dashboard draws (the live UI goes to stderr) */
  stdout: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
  /** stop (e.g. on SIGTERM) */
  signal?: AbortSignal;
  /** at most this many frames a second */
  maxFps?: number;
  /** lines just above the cursor that Ink's first frame replaces (a frame drawn before Ink loaded) */
  replaceLines?: number;
}

/** Resolves when the user quits (q, Ctrl-C) or `signal` aborts. */
export async function runDashboard(opts: DashboardOptions): Promise<void> {
  // move up over those lines and clear them in the same tick as Ink's first frame: no flicker
  if (opts.replaceLines) opts.stdout.write(`\u001b[${opts.replaceLines}A\r\u001b[J`);
  const app = render(<Dashboard feed={opts.feed} color={opts.color} />, {
    stdout: opts.stdout,
    stdin: opts.stdin,
    stderr: opts.stdout,
    exitOnCtrlC: true,
    patchConsole: false,
    maxFps: opts.maxFps ?? 10,
  });
  const stop = () => app.unmount();
  opts.signal?.addEventListener("abort", stop, { once: true });
  try {
    await app.waitUntilExit();
  } finally {
    opts.signal?.removeEventListener("abort", stop);
  }
}
