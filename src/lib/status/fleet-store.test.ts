// The dashboard's store against a real nats-server and real micro services (@nats-io/services),
// with a platform the test controls: each source is polled on its own, a slow one goes stale
// without holding the others, and NATS going down reads as NATS down.
import { spawn, type ChildProcess } from "node:child_process";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Svcm, type Service } from "@nats-io/services";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Platform, ServiceDescription } from "../platform/platform.js";
import { canConnect } from "../platform/local/nats-cluster.js";
import { FleetStore } from "./fleet-store.js";
import { gather } from "../nats/gather.js";
import { service } from "../../../test/support/fleet-fixtures.js";
import { natsServerBinary, startNatsServer, type TestNatsServer } from "../../../test/support/nats-server.js";

class TestPlatform implements Platform {
  readonly target = "test";
  readonly kind = "local" as const;
  services: ServiceDescription[] = [];
  hang = false;
  async describeServices(): Promise<ServiceDescription[]> {
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the status store", () => {
  let server: TestNatsServer;
  let restarted: ChildProcess | undefined;
  let svcNc: NatsConnection;
  let nc: NatsConnection;
  const services: Service[] = [];
  const platform = new TestPlatform();

  beforeAll(async () => {
    server = await startNatsServer();
    svcNc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    for (let i = 0; i < 2; i++) {
      const svc = await new Svcm(svcNc).add({ name: "echo", version: "1.0.0", description: "test" });
      svc.addEndpoint("say", {
        subject: "echo.say",
        handler: (_err, m) => {
          // an exception is what the micro stats count as an error
          if (!m.data.length) throw new Error("empty");
          m.respond(m.data);
        },
      });
      services.push(svc);
    }
    nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    platform.services = [service("echo")];
  });

  afterAll(async () => {
    for (const s of services) await s.stop().catch(() => undefined);
    await svcNc?.close().catch(() => undefined);
    await nc?.close().catch(() => undefined);
    restarted?.kill("SIGKILL");
    await server?.stop();
  });

  it("computes req/s and the error rate from the STATS deltas between two rounds", async () => {
    const store = new FleetStore({ platform, nc, natsServer: server.url, intervalMs: 1000 });
    await store.round();
    const t0 = Date.now();
    for (let i = 0; i < 90; i++) await nc.request("echo.say", "hi");
    for (let i = 0; i < 10; i++) await nc.request("echo.say", "").catch(() => undefined);
    await sleep(Math.max(0, 1000 - (Date.now() - t0)));
    const snap = await store.round();
    const echo = snap.services.find((s) => s.name === "echo")!;
    expect(echo.responding).toBe(2);
    expect(echo.rps).toBeGreaterThan(40);
    expect(echo.rps).toBeLessThan(110);
    expect(echo.errorRate).toBeCloseTo(0.1, 2);
    expect(echo.avgMs).toBeGreaterThanOrEqual(0);
    expect(snap.sources).toMatchObject({ platform: { ok: true }, nats: { ok: true }, stats: { ok: true } });
  });

  it("stops gathering once the expected count is known and met, even when it becomes known after the last answer", async () => {
    let expected: number | undefined;
    setTimeout(() => (expected = 2), 100);
    const t0 = performance.now();
    const replies = await gather(nc, "$SRV.PING.echo", { maxWaitMs: 3000, stallMs: 2000, expected: () => expected });
    expect(replies).toHaveLength(2);
    // neither the 2 s quiet period nor the 3 s limit: the count landed at 100 ms
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it("waits past a pause between answers while the expected count is to come or not met (a busy machine is not a silent instance)", async () => {
    // two answers at once, the third 400 ms later, the platform's count at 250 ms: the 150 ms quiet
    // period alone would end the window at two
    const subject = `gs.test.pause.${Date.now()}`;
    const subs = [0, 0, 400].map((delay) =>
      nc.subscribe(subject, { callback: (_e, m) => void setTimeout(() => m.respond("{}"), delay) }),
    );
    await nc.flush();
    try {
      let expected: number | undefined;
      setTimeout(() => (expected = 3), 250);
      const replies = await gather(nc, subject, { maxWaitMs: 3000, stallMs: 150, expected: () => expected });
      expect(replies).toHaveLength(3);
      // and with no count to come (the platform failed), the quiet period ends it
      expect(await gather(nc, subject, { maxWaitMs: 3000, stallMs: 150, expected: () => 0 })).toHaveLength(2);
      expect(await gather(nc, subject, { maxWaitMs: 3000, stallMs: 150 })).toHaveLength(2);
    } finally {
      for (const s of subs) s.unsubscribe();
    }
  });

  it("marks a platform that does not answer as stale, with its age, without holding NATS's columns", async () => {
    const store = new FleetStore({ platform, nc, natsServer: server.url, intervalMs: 500 });
    await store.round();
    platform.hang = true;
    try {
      const t0 = Date.now();
      await sleep(300);
      const snap = await store.round();
      expect(Date.now() - t0).toBeLessThan(1500);
      expect(snap.sources.platform).toMatchObject({ ok: false, stale: true, error: "no answer within 500ms" });
      expect(snap.sources.platform.ageMs).toBeGreaterThanOrEqual(700);
      expect(snap.sources.nats.ok).toBe(true);
      expect(snap.services.find((s) => s.name === "echo")).toMatchObject({ running: 2, responding: 2 });
      // the hung call is not asked again while it hangs
      const again = await store.round();
      expect(again.sources.platform.stale).toBe(true);
    } finally {
      platform.hang = false;
    }
  });

  it("shows NATS down as NATS down, not as zero instances, and recovers when it is back", async () => {
    const store = new FleetStore({ platform, nc, natsServer: server.url, intervalMs: 500 });
    await store.round();
    await server.stop();
    await sleep(300);
    const down = await store.round();
    expect(down.natsDown).toBe(true);
    expect(down.services.find((s) => s.name === "echo")!.responding).toBeNull();
    expect(down.sources.nats).toMatchObject({ ok: false, error: "NATS down" });

    restarted = spawn(natsServerBinary(), ["-a", "127.0.0.1", "-p", String(server.port)], { stdio: "ignore" });
    const deadline = Date.now() + 15_000;
    while (!(await canConnect(server.port))) {
      if (Date.now() > deadline) throw new Error("nats-server did not restart");
      await sleep(50);
    }
    let snap = down;
    while (Date.now() < deadline) {
      snap = await store.round();
      if (!snap.natsDown && snap.services.find((s) => s.name === "echo")!.responding === 2) break;
      await sleep(200);
    }
    expect(snap.natsDown).toBe(false);
    expect(snap.services.find((s) => s.name === "echo")!.responding).toBe(2);
  }, 30_000);
});
