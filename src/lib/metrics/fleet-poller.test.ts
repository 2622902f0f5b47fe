// The exporter's poller against a real nats-server and a real service (the SDK runtime with its
// latency histograms), with a platform the test controls: one round reads every source, a hung
// source is reported down without holding the others, and an instance that stops answering keeps
// its last figures for a few polls, then goes.
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Svcm } from "@nats-io/services";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../../services/sdk/log.js";
import { defaultRegistry, startService, type RunningService } from "../../../services/sdk/runtime.js";
import { npcProbe } from "../../../services/test-support/npc-probe.js";
import { service } from "../../../test/support/fleet-fixtures.js";
import { startNatsServer, type TestNatsServer } from "../../../test/support/nats-server.js";
import type { Platform, ServiceDescription } from "../platform/platform.js";
import { FleetPoller } from "./fleet-poller.js";
import { LATENCY_BUCKETS_SECONDS } from "./latency-buckets.js";

class TestPlatform implements Platform {
  readonly target = "test";
  readonly kind = "local" as const;
  services: ServiceDescription[] = [];
  hang = false;
  calls = 0;
  async describeServices(): Promise<ServiceDescription[]> {
    this.calls++;
    if (this.hang) await new Promise(() => undefined);
    return this.services;
  }
  scale(): never {
    throw new Error("not here");
  }
  startDeployment(): never {
    throw new Error("not here");
  }
  describeDeployment(): never {
    throw new Error("not here");
  }
  stopDeployment(): never {
    throw new Error("not here");
  }
  async *logs() {}
}

const quiet = createLogger({}, { write: () => undefined });

describe("the exporter's poller", () => {
  let server: TestNatsServer;
  let nc: NatsConnection;
  const running: RunningService[] = [];
  const decide = (npcId: string) =>
    defaultRegistry().rpc("npc-behavior.decide")!.request.encode({ npc_id: npcId }).finish();

  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
    nc = await connect({ servers: server.url });
    for (let i = 0; i < 2; i++) running.push(await startService(npcProbe(), { nc, log: quiet }));
  });
  afterAll(async () => {
    for (const s of running) await s.stop(1000).catch(() => undefined);
    await nc?.close();
    await server?.stop();
  });

  it("reads the platform and every instance's counters and latency buckets in one round", async () => {
    for (let i = 0; i < 40; i++) await nc.request("npc-behavior.decide", decide(i % 4 === 0 ? "missing" : `n${i}`));
    const platform = new TestPlatform();
    platform.services = [service("npc-behavior", { desired: 2, running: 2 })];
    const poller = new FleetPoller({ sources: { platform, nc }, intervalMs: 1000, onSample: () => undefined });
    // the first round learns the platform's count; the second knows how many instances to wait for
    await poller.round();
    const s = await poller.round();
    expect(s.sources.platform).toMatchObject({ up: true });
    expect(s.sources.nats).toMatchObject({ up: true });
    expect(s.sources.nats_layer).toBeUndefined();
    expect(s.platform?.map((p) => p.name)).toEqual(["npc-behavior"]);
    expect(s.answering.get("npc-behavior")).toBe(2);
    expect(s.instances.map((i) => i.id).sort()).toEqual(running.map((r) => r.id).sort());
    const eps = s.instances.flatMap((i) => i.endpoints.filter((e) => e.subject === "npc-behavior.decide"));
    expect(eps.reduce((n, e) => n + e.requests, 0)).toBe(40);
    expect(eps.reduce((n, e) => n + e.errors, 0)).toBe(10);
    // every request answered is in the histograms, all well under 10 s
    expect(eps.reduce((n, e) => n + e.latency!.count, 0)).toBe(40);
    expect(eps.reduce((n, e) => n + e.latency!.cumulative[LATENCY_BUCKETS_SECONDS.length - 1]!, 0)).toBe(40);
  });

  it("reports a hung platform down after the timeout, keeps NATS's figures, and does not ask it again while it hangs", async () => {
    const platform = new TestPlatform();
    platform.hang = true;
    const poller = new FleetPoller({ sources: { platform, nc }, intervalMs: 500, onSample: () => undefined });
    const t0 = Date.now();
    const first = await poller.round();
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(first.sources.platform).toMatchObject({ up: false, error: "no answer within 500ms" });
    expect(first.sources.nats).toMatchObject({ up: true });
    expect(first.platform).toBeUndefined();
    expect(first.answering.get("npc-behavior")).toBe(2);
    const second = await poller.round();
    expect(second.sources.platform?.up).toBe(false);
    expect(second.sources.platform?.error).toMatch(/previous poll has not answered/);
    expect(platform.calls).toBe(1);
  });

  it("keeps a silent instance's last figures for a few polls, then drops it", async () => {
    const platform = new TestPlatform();
    const extra = await startService(npcProbe(), { nc, log: quiet });
    const poller = new FleetPoller({
      sources: { platform, nc },
      intervalMs: 500,
      retainRounds: 2,
      onSample: () => undefined,
    });
    const ids = async () => (await poller.round()).instances.map((i) => i.id);
    expect(await ids()).toContain(extra.id);
    await extra.stop(1000);
    const missedOnce = await poller.round();
    expect(missedOnce.instances.map((i) => i.id)).toContain(extra.id);
    expect(missedOnce.answering.get("npc-behavior")).toBe(2);
    expect(await ids()).not.toContain(extra.id);
  });

  it("reports NATS down and exports no instance while it is disconnected", async () => {
    const own = await startNatsServer();
    const svcNc = await connect({ servers: own.url });
    const pollNc = await connect({ servers: own.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    try {
      const svc = await new Svcm(svcNc).add({ name: "echo", version: "1.0.0", description: "test" });
      svc.addEndpoint("say", { subject: "echo.say", handler: (_err, m) => m.respond(m.data) });
      // the server has its subscriptions before the poller (another connection) asks
      await svcNc.flush();
      const poller = new FleetPoller({
        sources: { platform: new TestPlatform(), nc: pollNc },
        intervalMs: 500,
        onSample: () => undefined,
      });
      expect((await poller.round()).instances.map((i) => i.service)).toEqual(["echo"]);
      const disconnected = (async () => {
        for await (const st of pollNc.status()) if (st.type === "disconnect") return;
      })();
      await own.stop();
      await disconnected;
      const down = await poller.round();
      expect(down.sources.nats).toMatchObject({ up: false, error: "NATS is disconnected" });
      expect(down.instances).toEqual([]);
      expect(down.answering.size).toBe(0);
      expect(down.sources.platform?.up).toBe(true);
    } finally {
      await svcNc.close().catch(() => undefined);
      await pollNc.close().catch(() => undefined);
      await own.stop();
    }
  });

  it("polls every interval once started, and stops", async () => {
    const platform = new TestPlatform();
    const samples: number[] = [];
    const poller = new FleetPoller({
      sources: { platform, nc },
      intervalMs: 200,
      onSample: () => samples.push(Date.now()),
    });
    poller.start();
    await new Promise((r) => setTimeout(r, 1100));
    await poller.stop();
    const n = samples.length;
    // 200 ms apart from the start of each round, each round at most the 300 ms quiet period after the last answer
    expect(n).toBeGreaterThanOrEqual(2);
    await new Promise((r) => setTimeout(r, 500));
    expect(samples.length).toBe(n);
    // a round under way when it stopped ends, but its sample is not delivered
    expect(poller.rounds - n).toBeGreaterThanOrEqual(0);
    expect(poller.rounds - n).toBeLessThanOrEqual(1);
  });
});
