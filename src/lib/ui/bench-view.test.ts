// The live panel of `gs bench` on a terminal, frame by frame from a fed clock (no network), and the
// plain lines that replace it without a terminal.
import { EventEmitter } from "node:events";
import { createElement } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";

// Ink's chalk decides on colour when it loads, from the test runner's (non-)terminal
vi.hoisted(() => {
  process.env.FORCE_COLOR = "1";
});
import { BenchFeed, livePlan, type LivePlan } from "../bench/bench-feed.js";
import { planBench } from "../bench/plan.js";
import type { ProgressSnapshot } from "../bench/run.js";
import { benchProgress } from "./bench-live.js";
import { BAR_WIDTH, BenchView, sparkline } from "./bench-view.js";
import { liveOutput } from "./live-output.js";
import { FakeOutput, renderFrames, type Frames } from "../../../test/support/ink-frames.js";

const ESC = "\u001b";
const settings = { servers: ["nats://127.0.0.1:4222"] };
const base = { subject: "echo", payload: new Uint8Array(8), timeoutMs: 1000 };

let open: Frames | undefined;
afterEach(() => {
  open?.unmount();
  open = undefined;
});

/** A feed on a clock the test moves. */
function fed(plan: LivePlan) {
  const clock = { t: 0 };
  const feed = new BenchFeed(() => clock.t);
  feed.start(plan);
  const at = (t: number, s?: Partial<ProgressSnapshot>) => {
    clock.t = t;
    if (s)
      feed.update({
        elapsedMs: t,
        warmupMs: plan.warmupMs,
        plannedMs: plan.plannedMs,
        ok: 0,
        errors: 0,
        rps: 0,
        maxMs: 0,
        measuredRequests: 0,
        measuredMaxMs: 0,
        ...s,
      });
  };
  return { feed, at, clock };
}

function show(feed: BenchFeed, color = false): Frames {
  open = renderFrames(createElement(BenchView, { feed, color, tickMs: 0 }), { columns: 100, rows: 20 });
  return open;
}

const line = (frame: string, starts: string) => frame.split("\n").find((l) => l.startsWith(starts)) ?? "";

describe("bench panel frames", () => {
  it("says the workers are starting until the first snapshot comes", async () => {
    const { feed, at } = fed(livePlan(planBench({ ...base, warmupMs: 1000, durationMs: 5000 }, settings, 4)));
    at(600);
    const f = await show(feed).waitFor("starting");
    expect(line(f, "bench echo")).toBe("bench echo  closed loop, 64 in flight · 4 workers · 4 connections");
    expect(line(f, "starting")).toBe(`starting  ${"░".repeat(BAR_WIDTH)} workers starting, then 1s warm-up`);
    expect(line(f, "-")).toBe("- req/s");
    expect(line(f, "ok")).toBe("ok 0  errors 0  max -");
  });

  it("shows the warm-up distinctly, as not measured", async () => {
    const { feed, at, clock } = fed(livePlan(planBench({ ...base, warmupMs: 2000, durationMs: 5000 }, settings, 4)));
    at(1000, { rps: 20_000, ok: 20_000, maxMs: 7 });
    clock.t = 1200;
    const f = await show(feed).waitFor("warm-up");
    const phase = line(f, "warm-up");
    expect(phase).toMatch(/^warm-up {3}▒{18}░{12} 1\.2s\/2s {2}60% {2}\(not measured\)$/);
    expect(f).not.toContain("measuring");
    expect(line(f, "20,000")).toBe("20,000 req/s  █");
    expect(line(f, "ok")).toBe("ok 20,000  errors 0  max 7.00ms");
  });

  it("shows a closed loop mid-run: measured time, req/s with its sparkline, and the measured max", async () => {
    const { feed, at } = fed(livePlan(planBench({ ...base, warmupMs: 1000, durationMs: 5000 }, settings, 4)));
    at(1000, { rps: 30_000, ok: 30_000, maxMs: 9 });
    at(2000, { rps: 40_000, ok: 70_000, maxMs: 2.5, measuredMaxMs: 2.5 });
    at(3000, { rps: 42_000, ok: 112_000, maxMs: 3.2, measuredMaxMs: 3.2 });
    const ui = show(feed);
    const f = await ui.waitFor("measuring");
    const phase = line(f, "measuring");
    expect(phase).toMatch(/^measuring █{12}░{18} 2s\/5s {2}40%$/);
    expect(line(f, "42,000")).toBe(`42,000 req/s  ${sparkline([30_000, 40_000, 42_000])}`);
    expect(sparkline([30_000, 40_000, 42_000])).toBe("▆██");
    // the warm-up's 9 ms does not count in the measured max
    expect(line(f, "ok")).toBe("ok 112,000  errors 0  max 3.20ms");
    expect(f).not.toContain("warm-up");
  });

  it("moves the bar on between snapshots, and not past the plan", async () => {
    const { feed, at, clock } = fed(livePlan(planBench({ ...base, durationMs: 2000 }, settings, 2)));
    at(1000, { rps: 100, ok: 100 });
    clock.t = 1500;
    const ui = show(feed);
    expect(line(await ui.waitFor("measuring"), "measuring")).toContain("1.5s/2s  75%");
    // the last snapshot can land after the planned end
    at(2400, { rps: 100, ok: 240 });
    expect(line(await ui.waitFor("2s/2s"), "measuring")).toMatch(/█{30} 2s\/2s {2}100%$/);
  });

  it("marks an open loop that falls more than 5% behind its rate, in the warning colour", async () => {
    const { feed, at } = fed(livePlan(planBench({ ...base, rate: 10_000, durationMs: 10_000 }, settings, 2)));
    at(1000, { rps: 9_990, ok: 9_990, maxMs: 1.5 });
    const ui = show(feed, true);
    let f = await ui.waitFor("9,990");
    expect(line(f, "bench echo")).toBe("bench echo  open loop at 10,000 req/s · 2 workers · 2 connections");
    expect(line(f, "9,990")).toBe("9,990 of 10,000 req/s (99%)  █");
    expect(f).not.toContain("behind");
    expect(ui.lastRaw()).not.toContain(`${ESC}[33m`);

    at(2000, { rps: 9_000, ok: 18_990, maxMs: 40 });
    f = await ui.waitFor("behind");
    expect(line(f, "9,000")).toBe("9,000 of 10,000 req/s (90%)  ▲ behind by 10%  █▇");
    expect(ui.lastRaw()).toMatch(new RegExp(`${ESC}\\[33m[^\\n]*9,000`));
    expect(ui.lastRaw()).toMatch(new RegExp(`${ESC}\\[33m \\(90%\\) {2}▲ behind by 10%`));
  });

  it("counts errors, with their share, in red", async () => {
    const { feed, at } = fed(livePlan(planBench({ ...base, durationMs: 10_000 }, settings, 2)));
    at(1000, { rps: 1000, ok: 850, errors: 150, maxMs: 1000, measuredMaxMs: 1000 });
    const ui = show(feed, true);
    const f = await ui.waitFor("errors");
    expect(line(f, "ok")).toBe("ok 850  errors 150 (15.0%)  max 1s");
    expect(ui.lastRaw()).toMatch(new RegExp(`${ESC}\\[31merrors 150 \\(15\\.0%\\)`));
  });

  it("counts a --requests run by the requests measured, not those of the warm-up", async () => {
    const { feed, at } = fed(livePlan(planBench({ ...base, requests: 100_000, warmupMs: 500 }, settings, 2)));
    at(1000, { rps: 20_000, ok: 20_000, measuredRequests: 10_000 });
    at(2000, { rps: 20_000, ok: 40_000, measuredRequests: 30_000 });
    const f = await show(feed).waitFor("requests");
    // 10,000 of the first second's 20,000 were warm-up
    expect(line(f, "measuring")).toMatch(/^measuring █{9}░{21} 30,000\/100,000 requests {2}30%$/);
  });

  it("draws no escape codes at all without colour, and still marks falling behind in words", async () => {
    const { feed, at } = fed(livePlan(planBench({ ...base, rate: 1000, warmupMs: 1000 }, settings, 1)));
    at(500, { rps: 500, ok: 500, errors: 3, maxMs: 5 });
    const ui = show(feed, false);
    const f = await ui.waitFor("behind");
    expect(f).toContain("warm-up");
    expect(line(f, "500")).toContain("500 of 1,000 req/s (50%)  ▲ behind by 50%");
    expect(line(f, "ok")).toBe("ok 500  errors 3 (0.6%)  max 5.00ms");
    expect(ui.lastRaw()).not.toContain(ESC);
  });

  it("draws nothing once the run has ended", async () => {
    const { feed, at } = fed(livePlan(planBench({ ...base, durationMs: 1000 }, settings, 1)));
    at(500, { rps: 10, ok: 5 });
    const ui = show(feed);
    await ui.waitFor("measuring");
    feed.end();
    expect(await ui.waitFor((x) => x.trim() === "")).toBe("");
  });
});

/** a 100x20 terminal; `written` is everything written to it */
class FakeTerminal extends FakeOutput {
  constructor() {
    super({ columns: 100, rows: 20 });
  }
  get written(): string {
    return this.raw();
  }
}

describe("bench panel on a terminal", () => {
  it("erases itself on close, shows the cursor again and leaves it where the panel began", async () => {
    const term = new FakeTerminal();
    const p = benchProgress(
      liveOutput({
        json: false,
        stdout: term as unknown as NodeJS.WriteStream,
        stderr: term as unknown as NodeJS.WriteStream,
        stdin: new EventEmitter() as unknown as NodeJS.ReadStream,
        env: { NO_COLOR: "1" },
      }),
    );
    p.start(planBench({ ...base, durationMs: 1000 }, settings, 1));
    await vi.waitFor(() => expect(term.written).toContain("bench echo  closed loop"), { timeout: 5000 });
    expect(term.written).toContain(`${ESC}[?25l`);
    const drawn = term.written.length;
    await p.end();
    // without the synchronized-output brackets Ink puts around a frame, and once for "show the cursor"
    const after = term.written
      .slice(drawn)
      .replaceAll(`${ESC}[?2026h`, "")
      .replaceAll(`${ESC}[?2026l`, "")
      .replace(new RegExp(`(${ESC}\\[\\?25h)+`), `${ESC}[?25h`);
    // the 5 lines of the frame (4 and Ink's trailing newline) erased, one newline, the cursor shown, one line up
    expect(after).toBe(`${ESC}[2K${ESC}[1A`.repeat(4) + `${ESC}[2K${ESC}[G\n${ESC}[?25h${ESC}[1A`);
  });
});

/** `written`: each write */
class FakeStream extends FakeOutput {
  constructor(isTTY: boolean) {
    super({ isTTY });
  }
  get written(): string[] {
    return this.chunks;
  }
}

describe("bench progress without the panel", () => {
  const snap = (elapsedMs: number): ProgressSnapshot => ({
    elapsedMs,
    warmupMs: 1000,
    plannedMs: 10_000,
    ok: 1234,
    errors: 5,
    rps: 6789.4,
    maxMs: 12.5,
    measuredRequests: 1000,
    measuredMaxMs: 12.5,
  });
  const plan = planBench({ ...base, durationMs: 10_000, warmupMs: 1000 }, settings, 1);
  /** the choice of a command whose stdout is (or is not) a terminal, its progress going to `stderr` */
  const output = (opts: { json?: boolean; stdoutTTY: boolean; stderr: FakeStream }) =>
    liveOutput({
      json: opts.json ?? false,
      stdout: new FakeStream(opts.stdoutTTY) as unknown as NodeJS.WriteStream,
      stderr: opts.stderr as unknown as NodeJS.WriteStream,
      stdin: new EventEmitter() as unknown as NodeJS.ReadStream,
      env: {},
    });

  it("prints a plain line every 5 s without a terminal", async () => {
    const out = new FakeStream(false);
    const p = benchProgress(output({ stdoutTTY: false, stderr: out }));
    p.start(plan);
    for (const t of [1000, 2000, 5000, 6000, 10_000]) p.update(snap(t));
    await p.end();
    expect(out.written).toEqual([
      "4s/10s  6,789 req/s  1,234 ok  5 errors  max 13ms\n",
      "9s/10s  6,789 req/s  1,234 ok  5 errors  max 13ms\n",
    ]);
  });

  it("prints nothing under --json", async () => {
    const out = new FakeStream(false);
    const p = benchProgress(output({ json: true, stdoutTTY: false, stderr: out }));
    p.start(plan);
    p.update(snap(6000));
    await p.end();
    expect(out.written).toEqual([]);
  });

  it("falls back to plain lines when stdout is a terminal but the progress stream is not", async () => {
    const out = new FakeStream(false);
    const p = benchProgress(output({ stdoutTTY: true, stderr: out }));
    p.start(plan);
    p.update(snap(6000));
    await p.end();
    expect(out.written).toEqual(["5s/10s  6,789 req/s  1,234 ok  5 errors  max 13ms\n"]);
  });
});
