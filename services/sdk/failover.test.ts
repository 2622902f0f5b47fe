// Node failover on the local platform (`gs up --cluster 3 --secure`): one nats-server killed under a
// steady load; clients reconnect, under 0.1% of requests fail, no acknowledged JetStream write is lost.
// bench/failover.mjs runs the same scenario longer and records the figures in bench/failover.json.
import { describe, expect, it } from "vitest";
import { runFailover } from "../../test/support/failover.js";

describe("node failover", () => {
  it("survives the loss of the nats-server leading payment's state: < 0.1% failed, no acknowledged write lost", async () => {
    const r = await runFailover({
      seconds: 15,
      killAfterSeconds: 3,
      rate: 100,
      secure: true,
      log: (l) => console.log(l),
    });
    console.log(JSON.stringify(r));
    expect(r.replicas).toEqual({ paymentKv: 3, events: 3 });
    // a loaded CI machine sends fewer than the nominal rate; a few hundred still exercise the failover
    expect(r.requests.sent).toBeGreaterThan(300);
    expect(r.requests.failedRatio, JSON.stringify(r.requests.errors)).toBeLessThan(0.001);
    expect(r.reconnect.clientMs).not.toBeNull();
    expect(r.writes.deposits.acked).toBeGreaterThan(100);
    expect(r.writes.kv.acked).toBeGreaterThan(50);
    expect(r.writes.events.acked).toBeGreaterThan(50);
    expect([r.writes.deposits.lost, r.writes.kv.lost, r.writes.events.lost]).toEqual([0, 0, 0]);
  }, 150_000);
});
