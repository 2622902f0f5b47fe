import { describe, expect, it } from "vitest";
import { explainLines, describeExit } from "./exit-reason.js";
import { backoffDelay, BACKOFF, crashStreak } from "./supervisor.js";

describe("local supervision", () => {
  it("restarts with exponential backoff up to a cap", () => {
    expect([1, 2, 3, 4].map(backoffDelay)).toEqual([500, 1000, 2000, 4000]);
    expect(backoffDelay(50)).toBe(BACKOFF.capMs);
  });

  it("judges each crash by how long the process that just exited ran: a stable run starts the backoff over", () => {
    // the waits before each restart, for processes that ran these long before exiting
    const waits = (ranMs: number[]) => {
      let streak = 0;
      return ranMs.map((ran) => backoffDelay((streak = crashStreak(streak, ran))));
    };
    // four quick crashes back off; then one that ran five minutes is restarted at once (not after 8s)
    expect(waits([100, 100, 100, 100, 5 * 60_000])).toEqual([500, 1000, 2000, 4000, 500]);
    // and the crash after that quick one backs off from there
    expect(waits([100, 100, 5 * 60_000, 100])).toEqual([500, 1000, 500, 1000]);
    expect(crashStreak(6, BACKOFF.stableMs - 1)).toBe(7);
    expect(crashStreak(6, BACKOFF.stableMs)).toBe(1);
  });

  it("explains an exit by the error line rather than the stack below it", () => {
    const lines = [
      "file:///x.mjs:3",
      'throw new Error("boom");',
      "^",
      "",
      "Error: boom",
      "    at file:///x.mjs:3:7",
      "Node.js v20.20.2",
    ];
    expect(explainLines(lines)).toBe("Error: boom");
    const json = ['{"level":"error","service":"auth","msg":"failed to start","err":{"message":"stream not found"}}'];
    expect(explainLines(json)).toBe("failed to start: stream not found");
    expect(describeExit({ code: 1, signal: null })).toBe("exited with code 1");
    expect(describeExit({ code: null, signal: "SIGKILL" })).toBe("was killed by SIGKILL");
  });
});
