// Renders an Ink tree into a fake terminal of a chosen size and keeps its frames, like Shopify's
// `private/node/testing/ui.ts`. ink-testing-library 4 fixes the width at 100 columns, has no rows
// and cannot resize; the dashboard's layout depends on all three.
import { EventEmitter } from "node:events";
import type { ReactElement } from "react";
import { render } from "ink";

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;

/** `text` without its escape codes. */
export const stripAnsi = (text: string): string => text.replace(ANSI, "");

/**
 * A terminal, or with `isTTY: false` a pipe (no size unless given), that keeps every chunk written
 * to it: pass it as a `NodeJS.WriteStream`.
 */
export class FakeOutput extends EventEmitter {
  isTTY: boolean;
  columns: number | undefined;
  rows: number | undefined;
  readonly chunks: string[] = [];
  constructor(opts: { isTTY?: boolean; columns?: number; rows?: number } = {}) {
    super();
    this.isTTY = opts.isTTY ?? true;
    this.columns = opts.columns;
    this.rows = opts.rows;
  }
  write = (chunk: string, cb?: () => void): boolean => {
    this.chunks.push(chunk);
    cb?.();
    return true;
  };
  /** everything written, escape codes included */
  raw(): string {
    return this.chunks.join("");
  }
  /** everything written, without escape codes */
  get text(): string {
    return stripAnsi(this.raw());
  }
}

class FakeStdin extends EventEmitter {
  isTTY: boolean;
  private data: string | null = null;
  constructor(tty: boolean) {
    super();
    this.isTTY = tty;
  }
  write(data: string): void {
    this.data = data;
    this.emit("readable");
    this.emit("data", data);
  }
  read = (): string | null => {
    const d = this.data;
    this.data = null;
    return d;
  };
  setEncoding(): void {}
  setRawMode(): void {}
  resume(): void {}
  pause(): void {}
  ref(): void {}
  unref(): void {}
}

export interface Frames {
  /** the latest frame, without escape codes */
  last(): string;
  /** the latest frame as written, escape codes included */
  lastRaw(): string;
  /** type keys: strings as typed; `key.down` etc. for the special ones */
  press(...keys: string[]): Promise<void>;
  resize(columns: number, rows: number): Promise<void>;
  /** wait until the frame shows `text` (renders are throttled and async) */
  waitFor(check: string | RegExp | ((frame: string) => boolean), timeoutMs?: number): Promise<string>;
  exited: Promise<void>;
  unmount(): void;
}

export const key = { up: "\u001b[A", down: "\u001b[B", enter: "\r", escape: "\u001b", backspace: "\u007f" } as const;

const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));

export function renderFrames(
  tree: ReactElement,
  opts: { columns?: number; rows?: number; stdinTTY?: boolean } = {},
): Frames {
  const stdout = new FakeOutput({ columns: opts.columns ?? 140, rows: opts.rows ?? 40 });
  const stdin = new FakeStdin(opts.stdinTTY ?? true);
  const app = render(tree, {
    stdout: stdout as unknown as NodeJS.WriteStream,
    stderr: stdout as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    debug: true,
    exitOnCtrlC: false,
    patchConsole: false,
  });
  const lastRaw = () => stdout.chunks.at(-1) ?? "";
  const last = () => stripAnsi(lastRaw());
  return {
    last,
    lastRaw,
    async press(...keys: string[]) {
      for (const k of keys) {
        stdin.write(k);
        // Ink holds a lone ESC briefly to tell it from the start of an escape sequence
        await tick(k === key.escape ? 80 : 30);
      }
    },
    async resize(columns: number, rows: number) {
      stdout.columns = columns;
      stdout.rows = rows;
      stdout.emit("resize");
      await tick();
    },
    async waitFor(check, timeoutMs = 2000) {
      const ok =
        typeof check === "string"
          ? (f: string) => f.includes(check)
          : check instanceof RegExp
            ? (f: string) => check.test(f)
            : check;
      const deadline = Date.now() + timeoutMs;
      while (!ok(last())) {
        if (Date.now() > deadline) throw new Error(`the frame never matched ${String(check)}; last frame:\n${last()}`);
        await tick(15);
      }
      return last();
    },
    exited: app.waitUntilExit().then(() => undefined),
    unmount: () => app.unmount(),
  };
}
