// The canary's judgement from figures: each rule, when it may abort early, and what the reasons say.
import { describe, expect, it } from "vitest";
import { CANARY_DEFAULTS, type CanarySettings } from "./canary-options.js";
import type { CanaryFigures, GroupFigures } from "./canary-stats.js";
import { judge, slowEnough } from "./verdict.js";

const settings: CanarySettings = { ...CANARY_DEFAULTS, analysisMs: 60_000, minRequests: 200 };

function group(requests: number, errors: number, p99Ms: number | null, instances = 1): GroupFigures {
  return { instances, requests, errors, errorRate: requests ? errors / requests : null, p50Ms: p99Ms, p99Ms };
}
/** `slow`: canary requests slower than the p99 limit (default: all of them, as a truly slower version's) */
const figures = (canary: GroupFigures, baseline: GroupFigures, slow = canary.requests): CanaryFigures => ({
  canary,
  baseline,
  canaryLifetime: { requests: canary.requests, errors: canary.errors },
  canarySlow: slow,
  slowLimitMs: baseline.p99Ms === null ? null : Math.max(baseline.p99Ms * 1.5, baseline.p99Ms + 2),
});
const run = (f: CanaryFigures, final: boolean, p99Streak = 0, s = settings) =>
  judge(f, s, final, { p99Streak }).verdict;

describe("judge", () => {
  it("promotes at the end of the window when errors and p99 are within the limits, with the figures", () => {
    const v = run(figures(group(300, 1, 2.1), group(600, 0, 2), 0), true);
    expect(v).toEqual({
      decision: "promote",
      rule: "passed",
      reason:
        "canary error rate 0.33% (1 of 300) within the limit 1%; p99 2.10ms vs baseline 2.00ms (x1.05, limit x1.5, 0 of 300 slower than 4.00ms)",
    });
  });

  it("keeps going before the end, saying where the canary stands", () => {
    const v = run(figures(group(50, 0, 2), group(100, 0, 2)), false);
    expect(v).toEqual({
      decision: "continue",
      so_far: "error rate 0.00% (0 of 50), p99 not compared yet, 50 of 200 requests",
    });
  });

  it("aborts early on errors once the limit cannot be met even if every request up to --min-requests succeeded", () => {
    expect(run(figures(group(40, 2, 1), group(80, 0, 1)), false).decision).toBe("continue");
    const v = run(figures(group(40, 3, 1), group(80, 0, 1)), false);
    expect(v).toMatchObject({ decision: "abort", rule: "error_rate" });
    expect(v.decision === "abort" && v.reason).toBe(
      "canary error rate 7.50% (3 of 40) is above the limit 1% (baseline 0.00% (0 of 80))",
    );
  });

  it("judges the error rate at every reading once the canary has --min-requests requests", () => {
    expect(run(figures(group(400, 4, 1), group(800, 0, 1)), false).decision).toBe("continue");
    expect(run(figures(group(400, 5, 1), group(800, 0, 1)), false)).toMatchObject({
      decision: "abort",
      rule: "error_rate",
    });
    expect(run(figures(group(400, 4, 1), group(800, 0, 1)), true)).toMatchObject({ decision: "promote" });
  });

  it("aborts on p99 only when both groups have enough requests, early only at the second conclusive reading in a row", () => {
    const slow = figures(group(250, 0, 30), group(500, 0, 2));
    expect(run(figures(group(150, 0, 30), group(500, 0, 2)), true)).toMatchObject({ rule: "no_traffic" });
    expect(judge(figures(group(150, 0, 30), group(500, 0, 2)), settings, false, { p99Streak: 5 }).p99Failing).toBe(
      false,
    );
    expect(run(slow, false, 0).decision).toBe("continue");
    expect(judge(slow, settings, false, { p99Streak: 0 }).p99Failing).toBe(true);
    const v = run(slow, false, 1);
    expect(v).toMatchObject({ decision: "abort", rule: "p99_ratio" });
    expect(v.decision === "abort" && v.reason).toBe(
      "canary p99 30ms vs baseline 2.00ms (x15.00, limit x1.5, 250 of 250 slower than 4.00ms)",
    );
    expect(run(slow, true, 0)).toMatchObject({ decision: "abort", rule: "p99_ratio" });
  });

  it("does not take a few slow requests (a GC pause) for a slower version: more than chance must be slower than the limit, a tenth to abort early", () => {
    const blip = (slow: number) => figures(group(300, 0, 5.3), group(600, 0, 0.26), slow);
    expect(run(blip(3), true)).toMatchObject({ decision: "promote" });
    // 6 of 300 above a p99 happens to a version as fast as the baseline (a fresh process on a busy machine)
    expect(run(blip(6), true)).toMatchObject({ decision: "promote" });
    expect(run(blip(9), false, 3).decision).toBe("continue");
    expect(run(blip(9), true)).toMatchObject({ decision: "abort", rule: "p99_ratio" });
    expect(run(blip(30), false, 1)).toMatchObject({ decision: "abort", rule: "p99_ratio" });
  });

  it("needs more slow requests, in proportion, the more the canary served", () => {
    expect([slowEnough(4, 100), slowEnough(5, 100), slowEnough(8, 300), slowEnough(9, 300)]).toEqual([
      false,
      true,
      false,
      true,
    ]);
    expect([slowEnough(19, 1000), slowEnough(20, 1000), slowEnough(10_000, 10_000)]).toEqual([false, true, true]);
  });

  it("does not judge p99s less than 2 ms apart, whatever their ratio (a fresh process's cold start is not a regression)", () => {
    expect(run(figures(group(300, 0, 1.7), group(600, 0, 0.8)), true)).toMatchObject({ decision: "promote" });
    expect(run(figures(group(300, 0, 2.9), group(600, 0, 0.8)), true)).toMatchObject({ decision: "abort" });
  });

  it("says when p99 could not be compared because the baseline saw too little traffic", () => {
    const v = run(figures(group(300, 0, 9), group(100, 0, 1)), true);
    expect(v).toMatchObject({ decision: "promote", rule: "passed" });
    expect(v.decision === "promote" && v.reason).toMatch(
      /p99 not compared \(baseline served 100 requests, fewer than 200\)$/,
    );
  });

  it("aborts a canary with too little traffic unless --promote-on-no-traffic", () => {
    const quiet = figures(group(20, 0, 1), group(40, 0, 1));
    const v = run(quiet, true);
    expect(v).toMatchObject({ decision: "abort", rule: "no_traffic" });
    expect(v.decision === "abort" && v.reason).toBe(
      "too little traffic: the canary served 20 requests in 1m, fewer than --min-requests 200 (pass --promote-on-no-traffic to promote anyway)",
    );
    expect(run(quiet, true, 0, { ...settings, promoteOnNoTraffic: true })).toMatchObject({
      decision: "promote",
      rule: "no_traffic",
    });
  });
});
