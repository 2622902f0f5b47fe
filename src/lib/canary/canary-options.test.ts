// What `gs deploy --canary` accepts, and the one-line refusals (exit 2) of what it cannot do.
import { describe, expect, it } from "vitest";
import { EXIT, GsError } from "../output/errors.js";
import {
  canaryInstances,
  parseCanaryAsk,
  parseCanaryCount,
  parsePercent,
  parseRatio,
  resolveCanaryCount,
  resolveCanarySettings,
} from "./canary-options.js";

const refusal = (fn: () => unknown): GsError => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GsError);
    expect((err as GsError).exitCode).toBe(EXIT.usage);
    return err as GsError;
  }
  throw new Error("expected a refusal");
};

describe("canary options", () => {
  it("reads a count of instances or a percent of the desired count, rounded up", () => {
    expect(parseCanaryCount("1")).toEqual({ instances: 1 });
    expect(parseCanaryCount("25%")).toEqual({ percent: 25 });
    expect(canaryInstances({ percent: 25 }, "auth", 6)).toBe(2);
    expect(canaryInstances({ percent: 1 }, "auth", 3)).toBe(1);
    expect(refusal(() => parseCanaryCount("0")).message).toBe('bad canary count "0"');
    expect(refusal(() => parseCanaryCount("150%")).message).toMatch(/^bad canary percent "150%"/);
    expect(refusal(() => parseCanaryCount("auth")).hint).toMatch(/--canary 25%/);
  });

  it("sizes a bare --canary from the service's canary.size in gs.yaml, else 1 instance; a given count wins", () => {
    const bare = parseCanaryAsk("from-config");
    expect(resolveCanaryCount(bare, undefined)).toEqual({ instances: 1 });
    expect(resolveCanaryCount(bare, { analysis: "1m" })).toEqual({ instances: 1 });
    expect(resolveCanaryCount(bare, { size: 2 })).toEqual({ instances: 2 });
    expect(resolveCanaryCount(bare, { size: "25%" })).toEqual({ percent: 25 });
    expect(resolveCanaryCount(parseCanaryAsk("3"), { size: "25%" })).toEqual({ instances: 3 });
    expect(canaryInstances(resolveCanaryCount(bare, { size: "25%" }), "payment", 8)).toBe(2);
  });

  it("refuses a canary as large as the service, or larger than RunTask starts at once", () => {
    const e = refusal(() => canaryInstances({ instances: 2 }, "payment", 2));
    expect(e.message).toBe("payment runs 2 instances: a canary of 2 would be as large as the service");
    expect(e.hint).toBe("pass --canary 1 or less, or scale payment up first (`gs scale payment 3`)");
    expect(refusal(() => canaryInstances({ percent: 50 }, "payment", 1)).code).toBe("canary_too_large");
    expect(refusal(() => canaryInstances({ instances: 11 }, "payment", 40)).message).toMatch(/more than 10/);
  });

  it("reads percents and ratios as users write them", () => {
    expect(parsePercent("1%")).toBe(0.01);
    expect(parsePercent("0.5%")).toBe(0.005);
    expect(refusal(() => parsePercent("0.01")).message).toBe('bad percent "0.01": use e.g. 1% or 0.5%');
    expect(parseRatio("1.5")).toBe(1.5);
    expect(refusal(() => parseRatio("0.9")).code).toBe("bad_ratio");
  });

  it("takes flags over the service's gs.yaml over the defaults, and refuses a window shorter than two polls", () => {
    expect(resolveCanarySettings({}, undefined)).toEqual({
      analysisMs: 120_000,
      maxErrorRate: 0.01,
      maxP99Ratio: 1.5,
      minRequests: 200,
      promoteOnNoTraffic: false,
      sampleMs: 2000,
    });
    const yaml = { analysis: "30s", maxErrorRate: "2%", minRequests: 50, promoteOnNoTraffic: true };
    expect(resolveCanarySettings({ minRequests: 80 }, yaml)).toMatchObject({
      analysisMs: 30_000,
      maxErrorRate: 0.02,
      minRequests: 80,
      promoteOnNoTraffic: true,
    });
    const e = refusal(() => resolveCanarySettings({ analysisMs: 3000 }, yaml));
    expect(e.message).toBe("analysis window 3s is shorter than two polls of $SRV.STATS (every 2s)");
    expect(e.hint).toBe("pass --analysis 4s or more");
  });
});
