// The status store with the NATS layer as one more source (a real nats-server for the fleet's
// connection, a layer feed the test controls): read each round, kept and marked stale when a read
// hangs, and a hung read is not asked again until it returns.
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NatsLayer } from "../nats-layer/nats-layer.js";
import type { NatsLayerFeed } from "../nats-layer/read-layer.js";
import type { Platform, ServiceDescription } from "../platform/platform.js";
import { FleetStore } from "./fleet-store.js";
import { service } from "../../../test/support/fleet-fixtures.js";
import { healthyLayer, nodeDownLayer } from "../../../test/support/nats-layer-fixtures.js";
import { startNatsServer, type TestNatsServer } from "../../../test/support/nats-server.js";

class FixedPlatform implements Platform {
  readonly target = "test";
  readonly kind = "local" as const;
  constructor(private readonly services: ServiceDescription[]) {}
  async describeServices(): Promise<ServiceDescription[]> {
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

/** Answers with `next`, or never while `hang` is set; counts the reads it was asked for. */
class ControlledFeed implements NatsLayerFeed {
  next: NatsLayer = healthyLayer();
  hang = false;
  reads = 0;
  async read(): Promise<NatsLayer> {
    this.reads++;
    if (this.hang) await new Promise(() => undefined);
    return this.next;
  }
}

describe("the status store reading the NATS layer", () => {
  let server: TestNatsServer;
  let nc: NatsConnection;

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
  });

  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  it("reads the layer each round, keeps the last read when one hangs, and does not pile up reads", async () => {
    const feed = new ControlledFeed();
    const store = new FleetStore({
      platform: new FixedPlatform([service("echo")]),
      nc,
      natsServer: server.url,
      intervalMs: 1000,
      timeoutMs: 300,
      natsLayer: feed,
    });
    const first = await store.round();
    expect(first.natsLayer?.layer?.servers.map((s) => s.state)).toEqual(["up", "up", "up"]);
    expect(first.natsLayer?.health).toMatchObject({ ok: true, stale: false });

    feed.next = nodeDownLayer();
    expect((await store.round()).natsLayer?.layer?.problems.map((p) => p.kind)).toEqual(["server-down", "no-leader"]);

    feed.hang = true;
    const hung = await store.round();
    // what was last read stays, marked stale with the reason
    expect(hung.natsLayer?.layer?.problems).toHaveLength(2);
    expect(hung.natsLayer?.health).toMatchObject({ ok: false, stale: true, error: "no answer within 300ms" });
    // the other sources carry on
    expect(hung.sources.platform.ok).toBe(true);
    await store.round();
    expect(feed.reads).toBe(3);
  });

  it("has no NATS layer in its snapshots when it is not given one", async () => {
    const store = new FleetStore({
      platform: new FixedPlatform([service("echo")]),
      nc,
      natsServer: server.url,
      intervalMs: 1000,
    });
    expect((await store.round()).natsLayer).toBeNull();
  });
});
