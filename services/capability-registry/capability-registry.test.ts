import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { startHarness, type Harness } from "../test-support/harness.js";
import service from "./service.js";
import {
  clampTtl,
  compareSemver,
  durationToMs,
  lookup,
  msToDuration,
  validateRegistration,
  type Lease,
} from "./domain.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const lease = (over: Partial<Lease>): Lease => ({
  instanceId: "i1",
  serviceName: "quest-system",
  capabilities: [{ name: "quest.start", version: "1.2.0", methods: ["StartQuest"] }],
  version: "1.0.0",
  metadata: {},
  ttlMs: 1000,
  registeredAt: "2025-01-01T00:00:00.000Z",
  lastHeartbeatAt: "2025-01-01T00:00:00.000Z",
  expiresAtMs: 2000,
  ...over,
});

describe("lease rules", () => {
  it("parses and formats proto durations and clamps the TTL", () => {
    expect(durationToMs("1.5s")).toBe(1500);
    expect(durationToMs("")).toBe(0);
    expect(durationToMs("abc")).toBeNaN();
    expect(msToDuration(1500)).toBe("1.5s");
    expect(msToDuration(30000)).toBe("30s");
    const limits = { defaultMs: 30000, minMs: 1000, maxMs: 60000 };
    expect([clampTtl(0, limits), clampTtl(10, limits), clampTtl(1e9, limits), clampTtl(5000, limits)]).toEqual([
      30000, 1000, 60000, 5000,
    ]);
  });

  it("returns only live leases at or above the minimum version, latest heartbeat first", () => {
    const leases = [
      lease({ instanceId: "old", lastHeartbeatAt: "2025-01-01T00:00:01Z" }),
      lease({ instanceId: "new", lastHeartbeatAt: "2025-01-01T00:00:05Z" }),
      lease({ instanceId: "dead", expiresAtMs: 500 }),
      lease({ instanceId: "v0", capabilities: [{ name: "quest.start", version: "0.9.0", methods: [] }] }),
    ];
    expect(lookup(leases, "quest.start", "1.0.0", 1000).map((l) => l.instanceId)).toEqual(["new", "old"]);
    expect(lookup(leases, "quest.start", "", 1000).map((l) => l.instanceId)).toContain("v0");
    expect(compareSemver("1.10.0", "1.9.9")).toBeGreaterThan(0);
  });

  it("explains what is wrong with a registration", () => {
    const p = validateRegistration({
      instanceId: "",
      serviceName: "Quest System",
      capabilities: [{ name: "Quest Start", version: "x", methods: ["start_quest"] }],
      metadata: {},
    });
    expect(p).toHaveLength(5);
  });
});

describe("capability-registry service", () => {
  let h: Harness;
  const env = { CAPABILITY_MIN_TTL_MS: "100", CAPABILITY_SWEEP_MS: "100" };
  beforeAll(async () => {
    h = await startHarness();
    // two instances sharing one store, as in production
    await h.start(service, { env });
    await h.start(service, { env });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const register = (instanceId: string, over: Record<string, unknown> = {}) =>
    h.call<{ created: boolean; instance: { expiresAt: string; ttl: string; capabilities: { version: string }[] } }>(
      "capability-registry.register",
      {
        instanceId,
        serviceName: "quest-system",
        capabilities: [{ name: "quest.start", methods: ["StartQuest"] }],
        ttl: "10s",
        ...over,
      },
    );

  it("registers an instance, refreshes it, and finds it by capability", async () => {
    const a = await register("qs-1", { metadata: { zone: "eu" } });
    expect(a.created).toBe(true);
    expect(a.instance.ttl).toBe("10s");
    expect(a.instance.capabilities[0]!.version).toBe("1.0.0");
    const b = await register("qs-1", { metadata: { zone: "eu" } });
    expect(b.created).toBe(false);
    const found = await h.call<{ instances: { instanceId: string; metadata: Record<string, string> }[] }>(
      "capability-registry.lookup",
      { capability: "quest.start" },
    );
    expect(found.instances.map((i) => i.instanceId)).toEqual(["qs-1"]);
    expect(found.instances[0]!.metadata).toEqual({ zone: "eu" });
    const list = await h.call<{ capabilities: string[] }>("capability-registry.list-registrations", {});
    expect(list.capabilities).toContain("quest.start");
  });

  it("drops a lease that is not renewed and publishes CapabilityExpiredEvent exactly once", async () => {
    const expired: string[] = [];
    const sub = h.nc.subscribe("events.capability-registry.capability-expired", {
      callback: (_e, m) => void expired.push(m.subject),
    });
    await register("short-1", { capabilities: [{ name: "npc.decide", methods: ["Decide"] }], ttl: "0.3s" });
    expect(
      (await h.call<{ instances: unknown[] }>("capability-registry.lookup", { capability: "npc.decide" })).instances,
    ).toHaveLength(1);
    await sleep(600);
    const [a, b] = await Promise.all([
      h.call<{ instances: unknown[] }>("capability-registry.lookup", { capability: "npc.decide" }),
      h.call<{ instances: unknown[] }>("capability-registry.lookup", { capability: "npc.decide" }),
    ]);
    expect([a.instances.length, b.instances.length]).toEqual([0, 0]);
    await sleep(300);
    sub.unsubscribe();
    expect(expired).toHaveLength(1);
    expect((await h.call<{ known: boolean }>("capability-registry.heartbeat", { instanceId: "short-1" })).known).toBe(
      false,
    );
  });

  it("keeps a lease alive with heartbeats", async () => {
    await register("beat-1", { capabilities: [{ name: "weather.get", methods: ["GetWeather"] }], ttl: "0.4s" });
    for (let i = 0; i < 4; i++) {
      await sleep(150);
      expect((await h.call<{ known: boolean }>("capability-registry.heartbeat", { instanceId: "beat-1" })).known).toBe(
        true,
      );
    }
    expect(
      (await h.call<{ instances: unknown[] }>("capability-registry.lookup", { capability: "weather.get" })).instances,
    ).toHaveLength(1);
  });

  it("filters lookups by minimum version and unregisters on request", async () => {
    await register("v2", { capabilities: [{ name: "loot.roll", version: "2.1.0", methods: ["Roll"] }] });
    await register("v1", { capabilities: [{ name: "loot.roll", version: "1.4.0", methods: ["Roll"] }] });
    const r = await h.call<{ instances: { instanceId: string }[] }>("capability-registry.lookup", {
      capability: "loot.roll",
      minVersion: "2.0.0",
    });
    expect(r.instances.map((i) => i.instanceId)).toEqual(["v2"]);
    expect((await h.call<{ removed: boolean }>("capability-registry.unregister", { instanceId: "v2" })).removed).toBe(
      true,
    );
    expect((await h.call<{ removed: boolean }>("capability-registry.unregister", { instanceId: "v2" })).removed).toBe(
      false,
    );
    expect(
      (
        await h.call<{ instances: unknown[] }>("capability-registry.lookup", {
          capability: "loot.roll",
          minVersion: "2.0.0",
        })
      ).instances,
    ).toHaveLength(0);
  });

  it("rejects invalid registrations and lookups with 400", async () => {
    const err = await h.fail("capability-registry.register", {
      instanceId: "x",
      serviceName: "Bad Name",
      capabilities: [],
    });
    expect(err.code).toBe(400);
    expect(err.message).toMatch(/service_name/);
    expect((await h.fail("capability-registry.lookup", { capability: "" })).code).toBe(400);
    expect((await h.fail("capability-registry.lookup", { capability: "a.b", minVersion: "latest" })).code).toBe(400);
  });
});
