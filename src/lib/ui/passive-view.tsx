// Mounting a live view that takes no keys (gs bench's panel, gs deploy's stages) on stderr: stdin stays
// cooked, so Ctrl-C is the terminal's SIGINT and reaches the command (gs bench stops early and still
// reports; gs deploy ends as it always did, Ink's exit hook showing the cursor again).
import type { ReactElement } from "react";
import { render, type Instance } from "ink";

export interface PassiveViewOptions {
  /** where the view draws (stderr) */
  stdout: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
  /** at most this many frames a second (default 10) */
  maxFps?: number;
}

export function renderPassive(tree: ReactElement, opts: PassiveViewOptions): Instance {
  return render(tree, {
    stdout: opts.stdout,
    stderr: opts.stdout,
    stdin: opts.stdin,
    exitOnCtrlC: false,
    patchConsole: false,
    maxFps: opts.maxFps ?? 10,
  });
}
