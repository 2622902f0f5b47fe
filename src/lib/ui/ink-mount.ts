// The Ink side of live-output.ts, and the only module that calls Ink's render. Loaded only through a
// dynamic import: Ink and React cost ~0.5 s to load, which JSON and plain lines never pay.
import type { ComponentType } from "react";
import { createElement } from "react";
import { render, type Instance } from "ink";

export interface InkMountOptions {
  /** where the view draws (stderr: stdout keeps the command's result) */
  stdout: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
  /** the view reads keys: Ctrl-C is then a key that ends it (Ink's exitOnCtrlC) */
  keys: boolean;
  maxFps: number;
  /** lines just above the cursor that the first frame replaces (a frame drawn before Ink loaded) */
  replaceLines: number;
}

export interface InkMount<P extends object> {
  update(props: P): void;
  /** draw `props` as the last frame, unmount and leave it on screen */
  keep(props?: P): Promise<void>;
  /** unmount and erase the view, and leave the cursor where it began */
  erase(): void;
  /** resolves when the view is gone (unmounted, or it quit itself) */
  exited: Promise<void>;
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

export function mountInk<P extends object>(view: ComponentType<P>, props: P, opts: InkMountOptions): InkMount<P> {
  // move up over those lines and clear them in the very write of Ink's first frame: a terminal (or a
  // screen capture) never sees the moment between the two
  if (opts.replaceLines > 0) prefixFirstFrame(opts.stdout, `\u001b[${opts.replaceLines}A\r\u001b[J`);
  const app: Instance = render(createElement(view, props), {
    stdout: opts.stdout,
    stderr: opts.stdout,
    stdin: opts.stdin,
    exitOnCtrlC: opts.keys,
    patchConsole: false,
    maxFps: opts.maxFps,
  });
  const exited = app.waitUntilExit().then(() => undefined);
  return {
    update: (p) => app.rerender(createElement(view, p)),
    async keep(p) {
      if (p) app.rerender(createElement(view, p));
      // unmount renders the pending frame and leaves it on screen (with the cursor shown again)
      app.unmount();
      await exited;
    },
    erase() {
      // an empty tree, rendered now (a state update would only commit on a later tick), makes
      // unmount's final frame erase the view; it leaves one blank line (Ink ends each frame with a
      // newline): step back onto it, where what follows goes
      app.rerender(null);
      app.unmount();
      opts.stdout.write("\u001b[1A");
    },
    exited,
  };
}
