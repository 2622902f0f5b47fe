// The live view of `gs deploy --canary`: frames rendered from a CanaryBoard fed the orchestrator's events.
import { createElement } from "react";
import { afterEach, describe, expect, it } from "vitest";
import { CanaryBoard } from "../canary/canary-board.js";
import { CanaryView } from "./canary-view.js";
import { renderFrames, type Frames } from "../../../test/support/ink-frames.js";

let open: Frames | undefined;
afterEach(() => {
  open?.unmount();
  open = undefined;
});

const figures = {
  canary: { instances: 1, requests: 120, errors: 6, errorRate: 0.05, p50Ms: 1, p99Ms: 2.5 },
  baseline: { instances: 2, requests: 240, errors: 0, errorRate: 0, p50Ms: 1, p99Ms: 2 },
  canaryLifetime: { requests: 150, errors: 7 },
  canarySlow: 0,
  slowLimitMs: 4,
};

describe("CanaryView", () => {
  it("shows canary vs baseline per service with the window's progress and the verdict so far, then the verdict", async () => {
    const board = new CanaryBoard("prod", ["payment", "auth"]);
    board.progress({ kind: "plan", changed: ["payment"], unchanged: ["auth"], failed: [] });
    board.progress({
      kind: "start",
      service: "payment",
      from: "0.1.0+aaaaaaaaaaaa",
      to: "0.1.0+bbbbbbbbbbbb",
      canaries: 1,
    });
    board.progress({
      kind: "sample",
      service: "payment",
      elapsedMs: 5000,
      windowMs: 10_000,
      figures,
      so_far: "error rate 5.00% (6 of 120), p99 not compared yet",
    });
    open = renderFrames(createElement(CanaryView, { state: board.snapshot(), color: false }), { columns: 120 });
    const frame = await open.waitFor("payment");
    const lines = frame.split("\n");
    expect(lines[0]).toBe("gs deploy --canary · target prod");
    expect(lines[1]).toMatch(/^SERVICE\s+PHASE\s+WINDOW\s+CANARY req\s+err\s+p99\s+BASELINE req\s+err\s+p99$/);
    expect(lines.find((l) => l.startsWith("payment"))).toMatch(
      /^payment\s+analysing\s+5s\/10s\s+120\s+5\.00%\s+2\.50ms\s+240\s+0\.00%\s+2\.00ms\s+██████░░░░░░$/,
    );
    expect(frame).toContain("  error rate 5.00% (6 of 120), p99 not compared yet");
    expect(lines.find((l) => l.startsWith("auth"))).toMatch(/^auth\s+unchanged\s+-/);

    board.progress({
      kind: "verdict",
      service: "payment",
      decision: "abort",
      reason: "canary error rate 5.00% is above the limit 1%",
    });
    open.unmount();
    open = renderFrames(createElement(CanaryView, { state: board.snapshot(), color: false }), { columns: 120 });
    expect(await open.waitFor("abort:")).toContain("  abort: canary error rate 5.00% is above the limit 1%");
  });
});
