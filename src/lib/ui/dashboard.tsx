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

/** Prepend `prefix` to the first write that carries a frame (a line break: not Ink's cursor hiding), then step aside. */
function prefixFirstFrame(stream: NodeJS.WriteStream, prefix: string): void {
  const write = stream.write;
  stream.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]): boolean {
    if (typeof chunk === "string" && chunk.includes("\n")) {
      stream.write = write;
      chunk = prefix + chunk;
    }
    return (write as (...args: unknown[]) => boolean).apply(this, [chunk, ...rest]);
  } as NodeJS.WriteStream["write"];
}

/** Resolves when the user quits (q, Ctrl-C) or `signal` aborts. */
export async function runDashboard(opts: DashboardOptions): Promise<void> {
  // move up over those lines and clear them in the very write of Ink's first frame: a terminal (or a
  // screen capture) never sees the moment between the two
  if (opts.replaceLines) prefixFirstFrame(opts.stdout, `\u001b[${opts.replaceLines}A\r\u001b[J`);
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
