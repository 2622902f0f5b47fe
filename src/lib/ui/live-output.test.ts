// The one live-output module: which renderer each environment gets, and how a live view mounts,
// redraws, ends and fails, on a fake terminal.
import { EventEmitter } from "node:events";
import { createElement } from "react";
import { Text, useApp, useInput } from "ink";
import { describe, expect, it, vi } from "vitest";
import { FakeOutput, stripAnsi } from "../../../test/support/ink-frames.js";
import { liveOutput, LiveView, type Renderer } from "./live-output.js";

const ESC = "\u001b";
const stream = (isTTY: boolean) => new FakeOutput({ isTTY, columns: 80, rows: 20 }) as unknown as NodeJS.WriteStream;
const stdinOf = (isTTY = false) => Object.assign(new EventEmitter(), { isTTY }) as unknown as NodeJS.ReadStream;

describe("the renderer chosen", () => {
  const choose = (o: { json?: boolean; stdout: boolean; stderr: boolean; env?: NodeJS.ProcessEnv }) =>
    liveOutput({ json: o.json ?? false, stdout: stream(o.stdout), stderr: stream(o.stderr), env: o.env ?? {} });

  it("is live only with both streams a terminal, outside CI, with a capable TERM", () => {
    const cases: [string, Parameters<typeof choose>[0], Renderer][] = [
      ["a terminal", { stdout: true, stderr: true }, "live"],
      ["stdout piped", { stdout: false, stderr: true }, "lines"],
      ["stderr redirected", { stdout: true, stderr: false }, "lines"],
      ["both piped", { stdout: false, stderr: false }, "lines"],
      ["CI", { stdout: true, stderr: true, env: { CI: "true" } }, "lines"],
      ["CI=0", { stdout: true, stderr: true, env: { CI: "0" } }, "live"],
      ["CONTINUOUS_INTEGRATION", { stdout: true, stderr: true, env: { CONTINUOUS_INTEGRATION: "1" } }, "lines"],
      ["TERM=dumb", { stdout: true, stderr: true, env: { TERM: "dumb" } }, "lines"],
      ["NO_COLOR", { stdout: true, stderr: true, env: { NO_COLOR: "1" } }, "live"],
      ["--json at a terminal", { json: true, stdout: true, stderr: true }, "json"],
      ["--json in CI", { json: true, stdout: false, stderr: false, env: { CI: "true" } }, "json"],
    ];
    for (const [what, o, renderer] of cases) expect({ what, renderer: choose(o).renderer }).toEqual({ what, renderer });
  });

  it("colours what it draws unless NO_COLOR, TERM=dumb or stderr is not a terminal; FORCE_COLOR wins", () => {
    expect(choose({ stdout: true, stderr: true }).color).toBe(true);
    expect(choose({ stdout: true, stderr: true, env: { NO_COLOR: "1" } }).color).toBe(false);
    expect(choose({ stdout: true, stderr: true, env: { NO_COLOR: "" } }).color).toBe(true);
    expect(choose({ stdout: true, stderr: true, env: { TERM: "dumb" } }).color).toBe(false);
    expect(choose({ stdout: true, stderr: false }).color).toBe(false);
    expect(choose({ stdout: false, stderr: false, env: { FORCE_COLOR: "1" } }).color).toBe(true);
  });

  it("says a person watches stdout only when it is a terminal outside CI, even if stderr is redirected", () => {
    expect(choose({ stdout: true, stderr: false }).watched).toBe(true);
    expect(choose({ stdout: true, stderr: false, env: { CI: "true" } }).watched).toBe(false);
    expect(choose({ stdout: false, stderr: true }).watched).toBe(false);
    expect(choose({ json: true, stdout: true, stderr: true }).watched).toBe(false);
  });
});

interface Props {
  text: string;
}
const Line = ({ text }: Props) => createElement(Text, null, text);
const line = async () => Line;

/** a live view of `Line` on a fake terminal; `text` is what the next frame shows */
function lineView(opts: Partial<ConstructorParameters<typeof LiveView<Props>>[0]> = {}) {
  const term = new FakeOutput({ columns: 80, rows: 20 });
  const state = { text: "one" };
  const view = new LiveView<Props>({
    view: line,
    props: () => ({ text: state.text }),
    term: { stderr: term as unknown as NodeJS.WriteStream, stdin: stdinOf() },
    ...opts,
  });
  return { term, state, view };
}

describe("a live view", () => {
  it("writes the first frame at once and has Ink's first frame replace it in the same write", async () => {
    const { term, view } = lineView({ firstFrame: ["first", "frame"] });
    expect(term.chunks[0]).toBe("first\nframe\n");
    await vi.waitFor(() => expect(term.text).toContain("one"), { timeout: 5000 });
    const replacing = term.chunks.find((c) => c.includes("one"))!;
    expect(replacing.startsWith(`${ESC}[2A\r${ESC}[J`)).toBe(true);
    await view.close();
  });

  it("redraws at most once per frameMs, whatever the number of changes", async () => {
    const { term, state, view } = lineView({ frameMs: 200 });
    await vi.waitFor(() => expect(term.text).toContain("one"), { timeout: 5000 });
    const before = term.chunks.length;
    for (let i = 0; i < 50; i++) {
      state.text = `change ${i}`;
      view.changed();
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(term.text).not.toContain("change 49");
    await vi.waitFor(() => expect(term.text).toContain("change 49"), { timeout: 1000 });
    // the changes in between were never drawn
    expect(term.text).not.toMatch(/change (?!49)\d+/);
    // one frame for the 50 changes (Ink may split a frame in a few writes)
    expect(term.chunks.length - before).toBeLessThanOrEqual(4);
    await view.close();
  });

  it("keeps its last frame on close, drawn from the props as they are then, and shows the cursor", async () => {
    const { term, state, view } = lineView();
    await vi.waitFor(() => expect(term.text).toContain("one"), { timeout: 5000 });
    state.text = "last";
    await view.close();
    expect(stripAnsi(term.chunks.filter((c) => c.includes("last")).at(-1)!)).toContain("last");
    expect(term.raw()).toContain(`${ESC}[?25h`);
    const written = term.chunks.length;
    view.changed();
    await view.close();
    await new Promise((r) => setTimeout(r, 150));
    expect(term.chunks.length).toBe(written);
    await expect(view.exited).resolves.toBeUndefined();
  });

  it("shows the last frame of a view closed before Ink loaded", async () => {
    const { term, state, view } = lineView();
    state.text = "final";
    await view.close();
    expect(term.text).toContain("final");
  });

  it("erases itself on close, or never shows when closed before it was shown", async () => {
    const shown = lineView({ onClose: "erase" });
    await vi.waitFor(() => expect(shown.term.text).toContain("one"), { timeout: 5000 });
    await shown.view.close();
    expect(shown.term.raw().endsWith(`${ESC}[1A`)).toBe(true);

    const never = lineView({ onClose: "erase", deferred: true });
    await new Promise((r) => setTimeout(r, 300));
    await never.view.close();
    never.view.show();
    await new Promise((r) => setTimeout(r, 100));
    expect(never.term.chunks).toEqual([]);
  });

  it("mounts a deferred view only once shown", async () => {
    const { term, view } = lineView({ deferred: true });
    await new Promise((r) => setTimeout(r, 300));
    expect(term.chunks).toEqual([]);
    view.show();
    await vi.waitFor(() => expect(term.text).toContain("one"), { timeout: 5000 });
    await view.close();
  });

  it("ends when its signal aborts, even one aborted before the view was made", async () => {
    const abort = new AbortController();
    const { term, view } = lineView({ signal: abort.signal });
    await vi.waitFor(() => expect(term.text).toContain("one"), { timeout: 5000 });
    abort.abort();
    await view.exited;

    const early = lineView({ signal: AbortSignal.abort() });
    await early.view.exited;
  });

  it("ends when a view that reads keys quits on one (Ctrl-C is a key there)", async () => {
    let pending: string | null = null;
    const stdin = Object.assign(new EventEmitter(), {
      isTTY: true,
      setRawMode: () => undefined,
      setEncoding: () => undefined,
      read: (): string | null => {
        const d = pending;
        pending = null;
        return d;
      },
      ref: () => undefined,
      unref: () => undefined,
      resume: () => undefined,
      pause: () => undefined,
    });
    const Quits = () => {
      const { exit } = useApp();
      useInput((input) => input === "q" && exit());
      return createElement(Text, null, "press q");
    };
    const term = new FakeOutput({ columns: 80, rows: 20 });
    const view = new LiveView<object>({
      view: async () => Quits,
      props: () => ({}),
      term: { stderr: term as unknown as NodeJS.WriteStream, stdin: stdin as unknown as NodeJS.ReadStream },
      keys: true,
    });
    await vi.waitFor(() => expect(term.text).toContain("press q"), { timeout: 5000 });
    pending = "q";
    stdin.emit("readable");
    await view.exited;
  });

  it("rejects exited and a keeping close() when the view cannot load", async () => {
    const { view } = lineView({ view: () => Promise.reject(new Error("no ink here")) });
    await expect(view.exited).rejects.toThrow("no ink here");
    await expect(view.close()).rejects.toThrow("no ink here");
  });
});
