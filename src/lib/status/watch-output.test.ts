// The pieces of `gs status --watch` that need no network: rates from $SRV.STATS deltas, health,
// the plain change lines, the NDJSON document and the --check rule.
import { describe, expect, it } from "vitest";
import { buildSnapshot, FAILED_DEPLOYMENT_SHOWN_MS } from "./fleet-snapshot.js";
import { instanceRates, sampleOf, sumRates } from "./stats-rates.js";
import { ChangeLog, snapshotUnhealthy, toWatchJson } from "./watch-output.js";
import {
  degradedFleet,
  failingFleet,
  healthyFleet,
  natsDownFleet,
  natsUnavailableFleet,
  NOW,
  platformDownFleet,
  rollingOutFleet,
} from "../../../test/support/fleet-fixtures.js";

const counters = (id: string, requests: number, errors: number, ms: number) => ({
  id,
  service: "svc",
  requests,
  errors,
  processingNs: ms * 1e6,
});

describe("stats rates", () => {
  it("computes req/s, error rate and average time from the deltas between two polls", () => {
    const prev = sampleOf([counters("a", 100, 1, 100)], 0);
    const cur = sampleOf([counters("a", 300, 11, 300)], 2000);
    const r = instanceRates(prev, cur).get("a")!;
    expect(r.rps).toBe(100);
    expect(r.errorRate).toBeCloseTo(0.05);
    expect(r.avgMs).toBeCloseTo(1);
  });

  it("has no rate for an instance seen once, or one whose counters went back (a restart)", () => {
    const prev = sampleOf([counters("a", 100, 0, 10)], 0);
    const rates = instanceRates(prev, sampleOf([counters("a", 5, 0, 1), counters("b", 50, 0, 5)], 2000));
    expect(rates.get("a")).toBeUndefined();
    expect(rates.get("b")).toBeUndefined();
    expect(instanceRates(undefined, prev).get("a")).toBeUndefined();
  });

  it("sums a service's instances, with the average weighted by their rates", () => {
    const r = sumRates([
      { counters: counters("a", 1, 0, 1), rates: { rps: 30, eps: 3, errorRate: 0.1, avgMs: 1 } },
      { counters: counters("b", 1, 0, 1), rates: { rps: 10, eps: 0, errorRate: 0, avgMs: 5 } },
      { counters: counters("c", 1, 0, 1) },
    ])!;
    expect(r.rps).toBe(40);
    expect(r.errorRate).toBeCloseTo(3 / 40);
    expect(r.avgMs).toBeCloseTo(2);
  });
});

describe("service health", () => {
  const health = (d: ReturnType<typeof healthyFleet>, now = NOW) =>
    Object.fromEntries(buildSnapshot(d, now).services.map((s) => [s.name, s.health]));

  it("is healthy when the desired count runs and answers", () => {
    expect(health(healthyFleet())).toEqual({ auth: "healthy", payment: "healthy", settings: "healthy" });
  });

  it("is rolling out while a deployment is in progress, with its progress", () => {
    const s = buildSnapshot(rollingOutFleet(), NOW).services.find((x) => x.name === "payment")!;
    expect(s.health).toBe("rolling-out");
    expect(s.progress).toEqual({ running: 1, desired: 2 });
  });

  it("is degraded below desired, or running but silent on NATS", () => {
    expect(health(degradedFleet())).toMatchObject({ auth: "degraded", settings: "degraded" });
    expect(buildSnapshot(degradedFleet(), NOW).services.find((x) => x.name === "auth")!.why).toMatch(
      /silent on NATS: 1 of 2/,
    );
  });

  it("is not called silent when only one discovery poll missed an instance", () => {
    const d = degradedFleet();
    d.previousDiscovery = healthyFleet().discovery;
    expect(health(d).auth).toBe("healthy");
  });

  it("is failing in a crash loop, and for a while after a failed deployment", () => {
    expect(health(failingFleet())).toMatchObject({ payment: "failing", settings: "failing", auth: "healthy" });
    expect(health(failingFleet(), NOW + FAILED_DEPLOYMENT_SHOWN_MS).settings).toBe("healthy");
  });

  it("does not judge NATS silence while NATS is down", () => {
    const s = buildSnapshot(natsDownFleet(), NOW);
    expect(s.natsDown).toBe(true);
    expect(s.services.every((x) => x.health === "healthy" && x.responding === null && x.rps === null)).toBe(true);
    expect(s.sources.nats).toMatchObject({ ok: false, stale: true, error: "NATS down", ageMs: 9000 });
  });

  it("keeps a stale platform's data, with its age", () => {
    const s = buildSnapshot(platformDownFleet(), NOW);
    expect(s.sources.platform).toMatchObject({
      ok: false,
      stale: true,
      ageMs: 14_000,
      error: "no answer within 2000ms",
    });
    expect(s.services.find((x) => x.name === "auth")).toMatchObject({ running: 2, desired: 2 });
    expect(s.lastPollAt).toBe(NOW - 14_000);
  });
});

describe("plain change lines", () => {
  it("describes the starting state, then prints nothing while nothing changes", () => {
    const log = new ChangeLog();
    const first = log.next(buildSnapshot(healthyFleet(), NOW));
    expect(first).toEqual([
      expect.stringMatching(
        /^\d\d:\d\d:\d\d local: 3\/3 services healthy, 6\/6 tasks \(NATS nats:\/\/127\.0\.0\.1:4222\)$/,
      ),
    ]);
    expect(log.next(buildSnapshot(healthyFleet(), NOW + 2000))).toEqual([]);
    expect(log.next(buildSnapshot(healthyFleet(99), NOW + 4000))).toEqual([]);
  });

  it("prints one line per service whose state changed, then the totals", () => {
    const log = new ChangeLog();
    log.next(buildSnapshot(healthyFleet(), NOW));
    const lines = log.next(buildSnapshot(degradedFleet(), NOW + 2000));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      /auth: degraded \(2\/2 running, 1 answering\) — running but silent on NATS: 1 of 2 answer \(was healthy\)$/,
    );
    expect(lines[1]).toMatch(
      /settings: degraded \(1\/2 running, 1 answering\) — 1\/2 running, 1 pending; last stop: was killed by SIGKILL \(was healthy\)$/,
    );
    expect(lines[2]).toMatch(/1\/3 services healthy, 5\/6 tasks$/);
    expect(
      log.next(buildSnapshot(healthyFleet(), NOW + 4000)).filter((l) => l.includes("(was degraded)")),
    ).toHaveLength(2);
  });

  it("says when NATS goes down and comes back", () => {
    const log = new ChangeLog();
    log.next(buildSnapshot(healthyFleet(), NOW));
    expect(log.next(buildSnapshot(natsDownFleet(), NOW + 2000))).toEqual([
      expect.stringMatching(/NATS nats:\/\/127\.0\.0\.1:4222: down$/),
    ]);
    expect(log.next(buildSnapshot(healthyFleet(), NOW + 4000))).toEqual([
      expect.stringMatching(/NATS nats:\/\/127\.0\.0\.1:4222: back$/),
    ]);
  });

  it("says when the platform stops answering", () => {
    const log = new ChangeLog();
    log.next(buildSnapshot(healthyFleet(), NOW));
    expect(log.next(buildSnapshot(platformDownFleet(), NOW + 2000))).toEqual([
      expect.stringMatching(/platform: no answer within 2000ms \(showing data from 16s ago\)$/),
    ]);
  });
});

describe("--watch --json and --check", () => {
  it("keeps the fields of `gs status --json` in each document and adds health and rates", () => {
    const doc = toWatchJson(buildSnapshot(degradedFleet(), NOW));
    expect(doc.target).toBe("local");
    expect(doc.totals).toMatchObject({ services: 3, healthy: 1, desired: 6, running: 5 });
    expect(doc.services.find((s) => s.name === "auth")).toMatchObject({
      desired: 2,
      running: 2,
      pending: 0,
      responding: 1,
      restarts: 0,
      state: "silent",
      health: "degraded",
      rps: 50,
      errorRate: 0,
      avgMs: 0.5,
      // the last minute over the one instance answering: 98 requests at 0.4 ms, 2 at 3 ms
      p50Ms: 0.401,
      p99Ms: 3,
    });
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });

  it("reports responding as null, not 0, while NATS is down", () => {
    const doc = toWatchJson(buildSnapshot(natsDownFleet(), NOW));
    expect(doc.nats.down).toBe(true);
    expect(doc.services.every((s) => s.responding === null)).toBe(true);
  });

  it("counts a fleet as unhealthy below desired, silent, or with NATS down", () => {
    expect(snapshotUnhealthy(buildSnapshot(healthyFleet(), NOW))).toBe(false);
    expect(snapshotUnhealthy(buildSnapshot(degradedFleet(), NOW))).toBe(true);
    expect(snapshotUnhealthy(buildSnapshot(natsDownFleet(), NOW))).toBe(true);
  });

  it("counts a platform that stopped answering, or a NATS never reached, as unhealthy", () => {
    expect(snapshotUnhealthy(buildSnapshot(platformDownFleet(), NOW))).toBe(true);
    expect(snapshotUnhealthy(buildSnapshot(natsUnavailableFleet(), NOW))).toBe(true);
  });

  it("has the platform's counts and NATS's reason when NATS could not be reached", () => {
    const doc = toWatchJson(buildSnapshot(natsUnavailableFleet(), NOW));
    expect(doc.nats).toMatchObject({
      server: "nats://nats.invalid:4222",
      down: true,
      available: false,
      reason: "cannot connect to NATS at nats://nats.invalid:4222: host not found",
    });
    expect(doc.sources.nats).toMatchObject({ ok: false, error: doc.nats.reason });
    expect(doc.services.find((s) => s.name === "auth")).toMatchObject({
      desired: 2,
      running: 2,
      pending: 0,
      responding: null,
      p50Ms: null,
      p99Ms: null,
    });
  });
});
