// Canary vs baseline figures from $SRV.STATS as the SDK reports them: only what happened since the
// analysis began counts, instances are split by version, and p99 comes from the merged histograms.
import { describe, expect, it } from "vitest";
import type { ServiceStats } from "@nats-io/services";
import { EndpointLatency } from "../../../services/sdk/latency.js";
import { CanaryStats, instanceReading } from "./canary-stats.js";

const OLD = "0.1.0+aaaaaaaaaaaa";
const NEW = "0.1.0+bbbbbbbbbbbb";

/** An instance as $SRV.STATS shows it, its one endpoint's latency kept by the SDK's own tracker. */
class Instance {
  readonly latency = new EndpointLatency(0);
  requests = 0;
  errors = 0;
  constructor(
    readonly id: string,
    readonly version: string,
  ) {}
  serve(n: number, ms: number, failed = false): this {
    for (let i = 0; i < n; i++) this.latency.record(ms * 1e6, failed);
    this.requests += n;
    if (failed) this.errors += n;
    return this;
  }
  stats(): ServiceStats {
    return {
      type: "io.nats.micro.v1.stats_response",
      name: "auth",
      id: this.id,
      version: this.version,
      started: new Date(0).toISOString(),
      endpoints: [
        {
          name: "Login",
          subject: "auth.login",
          num_requests: this.requests,
          num_errors: this.errors,
          processing_time: 0,
          average_processing_time: 0,
          data: this.latency.snapshot(1000),
        },
      ],
    } as ServiceStats;
  }
}

const read = (...i: Instance[]) => i.map((x) => instanceReading(x.stats()));

describe("CanaryStats", () => {
  it("counts only the requests since the analysis began, split by version, p99 from the merged histograms", () => {
    const b1 = new Instance("b1", OLD).serve(1000, 50); // lifetime requests before the canary: not counted
    const b2 = new Instance("b2", OLD).serve(1000, 50);
    const c = new Instance("c1", NEW).serve(5, 100);
    const stats = new CanaryStats(NEW, 1.5);
    stats.begin(read(b1, b2, c));
    b1.serve(99, 1).serve(1, 3);
    b2.serve(100, 1);
    c.serve(95, 10).serve(5, 10, true);
    const f = stats.update(read(b1, b2, c));
    expect(f.baseline).toMatchObject({ instances: 2, requests: 200, errors: 0, errorRate: 0 });
    // HDR's precision: 2 significant digits
    expect(f.baseline.p50Ms).toBeCloseTo(1, 1);
    expect(f.baseline.p99Ms).toBeCloseTo(1, 1);
    expect(f.canary).toMatchObject({ instances: 1, requests: 100, errors: 5, errorRate: 0.05 });
    expect(f.canary.p99Ms).toBeCloseTo(10, 0);
    // what clients got from the canary counts its requests before the analysis too
    expect(f.canaryLifetime).toEqual({ requests: 105, errors: 5 });
    // the p99 limit: 1.5 x the baseline's p99, and at least 2 ms above it; every canary request of the analysis is slower
    expect(f.slowLimitMs).toBeCloseTo(3, 1);
    expect(f.canarySlow).toBe(100);
  });

  it("counts all of an instance that started during the analysis, and keeps one that missed a reading", () => {
    const b = new Instance("b1", OLD).serve(10, 1);
    const stats = new CanaryStats(NEW, 1.5);
    stats.begin(read(b));
    b.serve(10, 2);
    const late = new Instance("c1", NEW).serve(20, 4);
    expect(stats.update(read(b, late)).canary).toMatchObject({ instances: 1, requests: 20 });
    // b does not answer this time: its figures stay
    expect(stats.update(read(late)).baseline).toMatchObject({ instances: 1, requests: 10 });
  });
});
