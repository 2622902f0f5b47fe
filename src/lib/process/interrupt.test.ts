// The lifecycle of a long-running command: the first SIGINT or SIGTERM stops it gracefully, a second
// exits at once (130 / 143), and the handlers are gone afterwards. On an emitter, then in a real
// process that imports the helper.
import { EventEmitter } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startProcess } from "../../../test/support/live-process.js";
import { catchInterrupts, interruptExitCode, type SignalSource } from "./interrupt.js";

function source() {
  const emitter = new EventEmitter();
  const exits: number[] = [];
  const count = () => emitter.listenerCount("SIGINT") + emitter.listenerCount("SIGTERM");
  return { emitter, exits, count, exit: (code: number) => void exits.push(code) };
}

describe("catchInterrupts", () => {
  it("aborts its signal at the first SIGINT, naming it, and exits 130 at a second", () => {
    const s = source();
    const interrupt = catchInterrupts({ source: s.emitter as SignalSource, exit: s.exit });
    expect(interrupt.signal.aborted).toBe(false);
    s.emitter.emit("SIGINT");
    expect(interrupt.signal.aborted).toBe(true);
    expect(interrupt.signal.reason).toBe("SIGINT");
    expect(interrupt.received).toBe("SIGINT");
    expect(s.exits).toEqual([]);
    s.emitter.emit("SIGINT");
    expect(s.exits).toEqual([130]);
  });

  it("treats SIGTERM the same, and exits with the code of the second signal", () => {
    const s = source();
    const interrupt = catchInterrupts({ source: s.emitter as SignalSource, exit: s.exit });
    s.emitter.emit("SIGTERM");
    expect(interrupt.received).toBe("SIGTERM");
    s.emitter.emit("SIGTERM");
    s.emitter.emit("SIGINT");
    expect(s.exits).toEqual([143, 130]);
    expect([interruptExitCode("SIGINT"), interruptExitCode("SIGTERM")]).toEqual([130, 143]);
  });

  it("removes its handlers on release, leaving others' in place", () => {
    const s = source();
    const other = () => undefined;
    s.emitter.on("SIGINT", other);
    const interrupt = catchInterrupts({ source: s.emitter as SignalSource, exit: s.exit });
    expect(s.count()).toBe(3);
    interrupt.release();
    interrupt.release();
    expect(s.count()).toBe(1);
    expect(s.emitter.listeners("SIGINT")).toEqual([other]);
    s.emitter.emit("SIGINT");
    expect(interrupt.signal.aborted).toBe(false);
  });

  it("calls onStop at the first signal, or at once when it already came", () => {
    const s = source();
    const interrupt = catchInterrupts({ source: s.emitter as SignalSource, exit: s.exit });
    const calls: string[] = [];
    interrupt.onStop(() => calls.push("before"));
    s.emitter.emit("SIGINT");
    interrupt.onStop(() => calls.push("after"));
    s.emitter.emit("SIGINT");
    expect(calls).toEqual(["before", "after"]);
  });
});

describe("catchInterrupts in a real process", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "gs-interrupt-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // a command in miniature: it works until stopped, stops slowly (a second signal lands meanwhile), then reports
  const script = path.join(dir, "command.mts");
  writeFileSync(
    script,
    `import { catchInterrupts } from ${JSON.stringify(path.join(import.meta.dirname, "interrupt.ts"))};
const count = () => process.listenerCount("SIGINT") + process.listenerCount("SIGTERM");
const before = count();
const interrupt = catchInterrupts();
// the work in progress (a command's sockets) keeps the process alive
const work = setInterval(() => undefined, 1000);
console.log(\`ready with \${count() - before} handlers\`);
await new Promise<void>((resolve) => interrupt.onStop(resolve));
clearInterval(work);
console.log(\`stopping on \${interrupt.received}\`);
await new Promise((resolve) => setTimeout(resolve, 1500));
interrupt.release();
console.log(\`report: listeners \${before} before, \${count()} after\`);
`,
  );
  const run = () => startProcess(process.execPath, ["--import", "tsx", script], { env: { ...process.env } });

  it("stops gracefully at one SIGINT, reports, exits 0 and leaves the listeners as they were", async () => {
    const p = run();
    await p.waitFor("stdout", /ready with 2 handlers/);
    p.signal("SIGINT");
    expect(await p.exit).toEqual({ code: 0, signal: null });
    expect(p.stdout()).toMatch(/stopping on SIGINT\nreport: listeners (\d+) before, \1 after\n$/);
  });

  it("exits at once with 130 at a second SIGINT, without reporting", async () => {
    const p = run();
    await p.waitFor("stdout", /ready/);
    p.signal("SIGINT");
    await p.waitFor("stdout", /stopping on SIGINT/);
    const sent = Date.now();
    p.signal("SIGINT");
    expect(await p.exit).toEqual({ code: 130, signal: null });
    expect(Date.now() - sent).toBeLessThan(1000);
    expect(p.stdout()).not.toContain("report");
  });

  it("exits with 143 at a second SIGTERM", async () => {
    const p = run();
    await p.waitFor("stdout", /ready/);
    p.signal("SIGTERM");
    await p.waitFor("stdout", /stopping on SIGTERM/);
    p.signal("SIGTERM");
    expect(await p.exit).toEqual({ code: 143, signal: null });
    expect(p.stdout()).not.toContain("report");
  });
});
