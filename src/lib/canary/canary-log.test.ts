// `gs deploy --canary` as lines (CI, pipes): the canary's start, each reading, the verdict with its
// figures, the promotion's rollout, the summary, and an annotation per abort under GitHub Actions.
import { describe, expect, it } from "vitest";
import type { CanaryResult } from "./canary-deploy.js";
import { CanaryLog } from "./canary-log.js";

const NOW = new Date("2026-12-07T10:00:00Z");
const figures = {
  canary: { instances: 1, requests: 120, errors: 6, errorRate: 0.05, p50Ms: 1, p99Ms: 2.5 },
  baseline: { instances: 2, requests: 240, errors: 0, errorRate: 0, p50Ms: 1, p99Ms: 2 },
  canaryLifetime: { requests: 150, errors: 7 },
  canarySlow: 0,
  slowLimitMs: 4,
};
const aborted: CanaryResult = {
  target: "prod",
  services: [
    {
      name: "payment",
      action: "aborted",
      from: "0.1.0+aaaaaaaaaaaa",
      to: "0.1.0+bbbbbbbbbbbb",
      canaries: 1,
      verdict: "abort",
      rule: "error_rate",
      reason: "canary error rate 5.00% (6 of 120) is above the limit 1%",
      figures,
      seconds: 12.5,
    },
  ],
};

function lines(github: boolean): string[] {
  const out: string[] = [];
  const log = new CanaryLog({ write: (l) => out.push(l), services: ["payment"], github, now: () => NOW });
  log.progress({ kind: "plan", changed: ["payment"], unchanged: [], failed: [] });
  log.progress({
    kind: "start",
    service: "payment",
    from: "0.1.0+aaaaaaaaaaaa",
    to: "0.1.0+bbbbbbbbbbbb",
    canaries: 1,
  });
  log.progress({ kind: "canary", service: "payment", running: 1, pending: 0, desired: 1 });
  log.progress({ kind: "sample", service: "payment", elapsedMs: 4000, windowMs: 10_000, figures, so_far: "" });
  log.progress({ kind: "verdict", service: "payment", decision: "abort", reason: aborted.services[0]!.reason! });
  log.progress({ kind: "done", result: aborted.services[0]! });
  log.summary(aborted);
  return out;
}

describe("CanaryLog", () => {
  it("writes a line per step, with canary and baseline figures side by side", () => {
    expect(lines(false)).toEqual([
      "2026-12-07T10:00:00Z gs       plan     1 to deploy (payment), 0 unchanged",
      "2026-12-07T10:00:00Z payment  canary   0.1.0+aaaaaaaaaaaa -> 0.1.0+bbbbbbbbbbbb: 1 canary instance beside the service's own",
      "2026-12-07T10:00:00Z payment  canary   1/1 running",
      "2026-12-07T10:00:00Z payment  analysis 4s/10s canary 120 req, 5.00% errors, p99 2.50ms | baseline 240 req, 0.00% errors, p99 2.00ms",
      "2026-12-07T10:00:00Z payment  verdict  abort: canary error rate 5.00% (6 of 120) is above the limit 1%",
      "2026-12-07T10:00:00Z payment  done     canary aborted, 0.1.0+aaaaaaaaaaaa kept in 12.5s",
      "2026-12-07T10:00:00Z gs       summary  target prod: 0 promoted, 1 aborted, 0 unchanged, 0 rolled back, 0 failed in 0s (exit 3)",
    ]);
  });

  it("annotates an aborted canary under GitHub Actions", () => {
    const out = lines(true);
    expect(out).toContain("::group::roll out");
    expect(out.at(-1)).toBe(
      "::error title=gs deploy --canary%3A payment canary aborted::canary error rate 5.00%25 (6 of 120) is above the limit 1%25",
    );
  });
});
