// One contract for every KvStore backend, run against real servers: JetStream KV on a nats-server
// with JetStream, and Redis on a redis-server. A backend that passes can replace the other.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startNatsServer, type TestNatsServer } from "../../test/support/nats-server.js";
import { startRedisServer, type TestRedisServer } from "../../test/support/redis-server.js";
import { JetStreamKvStore, RedisKvStore, RevisionConflict, openStore, type KvStore } from "./state.js";

let nats: TestNatsServer;
let redis: TestRedisServer;
let nc: NatsConnection;
const opened: KvStore[] = [];
let seq = 0;

beforeAll(async () => {
  [nats, redis] = await Promise.all([startNatsServer({ jetstream: true }), startRedisServer()]);
  nc = await connect({ servers: nats.url });
});

afterAll(async () => {
  for (const s of opened) await s.close().catch(() => undefined);
  await nc?.close().catch(() => undefined);
  await Promise.all([nats?.stop(), redis?.stop()]);
});

/** Each call gets a fresh, empty store of the backend. */
function fresh(open: (ns: string) => Promise<KvStore>): () => Promise<KvStore> {
  return async () => {
    const s = await open(`contract_${++seq}`);
    opened.push(s);
    return s;
  };
}

async function conflictOf(p: Promise<unknown>): Promise<RevisionConflict> {
  try {
    await p;
  } catch (err) {
    if (err instanceof RevisionConflict) return err;
    throw err;
  }
  throw new Error("expected a RevisionConflict, the operation succeeded");
}

function contract(name: string, open: () => Promise<KvStore>): void {
  describe(`${name} honours the KvStore contract`, () => {
    it("returns null for a key that was never written", async () => {
      const s = await open();
      expect(await s.get("nobody.here")).toBeNull();
    });

    it("returns what was put, with the revision put returned", async () => {
      const s = await open();
      const value = { name: "Ada", tags: ["x", "y"], n: 1.5, nested: { ok: true }, none: null };
      const rev = await s.put("player.p1", value);
      expect(rev).toBeGreaterThan(0);
      expect(await s.get("player.p1")).toEqual({ value, revision: rev });
      expect((await s.get<number>("player.count")) ?? null).toBeNull();
      const rev2 = await s.put("player.count", 0);
      expect(await s.get("player.count")).toEqual({ value: 0, revision: rev2 });
    });

    it("refuses a create (expected revision 0) when the key already exists, with a 409", async () => {
      const s = await open();
      const rev = await s.put("wallet.w1", { balance: 10 }, 0);
      const err = await conflictOf(s.put("wallet.w1", { balance: 99 }, 0));
      expect(err.code).toBe(409);
      expect(err.message).toMatch(/wallet\.w1 already exists/);
      expect(await s.get("wallet.w1")).toEqual({ value: { balance: 10 }, revision: rev });
    });

    it("refuses a put at a stale revision and accepts one at the current revision", async () => {
      const s = await open();
      const r1 = await s.put("wallet.w2", 1);
      const r2 = await s.put("wallet.w2", 2, r1);
      expect(r2).toBeGreaterThan(r1);
      const err = await conflictOf(s.put("wallet.w2", 3, r1));
      expect(err.code).toBe(409);
      expect(await s.get("wallet.w2")).toEqual({ value: 2, revision: r2 });
      // an update of a key that does not exist is a conflict too
      expect((await conflictOf(s.put("wallet.absent", 1, r2))).code).toBe(409);
    });

    it("deletes only at the expected revision, and the key can be created again afterwards", async () => {
      const s = await open();
      const r1 = await s.put("session.s1", "a");
      const r2 = await s.put("session.s1", "b", r1);
      expect((await conflictOf(s.delete("session.s1", r1))).code).toBe(409);
      expect((await s.get("session.s1"))?.value).toBe("b");
      await s.delete("session.s1", r2);
      expect(await s.get("session.s1")).toBeNull();
      const r3 = await s.put("session.s1", "c", 0);
      expect(r3).toBeGreaterThan(r2);
      expect(await s.get("session.s1")).toEqual({ value: "c", revision: r3 });
      await s.delete("session.s1");
      expect(await s.get("session.s1")).toBeNull();
    });

    it("lists only the keys under a prefix, decoded and sorted, whatever characters they hold", async () => {
      const s = await open();
      const under = [
        "player.a b",
        "player.x:y",
        "player.p/q",
        "player.ünïcødé ✓",
        "player.1.inventory",
        "player.Z",
        "player.-dash_",
      ];
      const others = ["playerx.z", "other.player.a", "player", "guild.x y.member"];
      for (const k of [...others, ...under]) await s.put(k, k);
      await s.put("player.gone", 1);
      await s.delete("player.gone");
      expect(await s.keys("player")).toEqual([...under].sort());
      expect(await s.keys("guild.x y")).toEqual(["guild.x y.member"]);
      expect(await s.keys("nothing")).toEqual([]);
      expect(await s.keys()).toEqual([...under, ...others].sort());
      for (const k of under) expect((await s.get(k))?.value).toBe(k);
    });

    it("counts exactly 20 when 20 writers increment the same counter concurrently", async () => {
      const s = await open();
      const results = await Promise.all(
        Array.from({ length: 20 }, () => s.update<number>("stats.counter", (n) => (n ?? 0) + 1)),
      );
      expect((await s.get("stats.counter"))?.value).toBe(20);
      // every writer saw a different value: no increment was lost or applied twice
      expect(results.map((r) => r.value).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      const final = await s.get("stats.counter");
      expect(Math.max(...results.map((r) => r.revision))).toBe(final?.revision);
    });

    it("hands out strictly increasing revisions across keys, puts, updates and deletes", async () => {
      const s = await open();
      const revs: number[] = [];
      revs.push(await s.put("a.one", 1));
      revs.push(await s.put("b.two", 2));
      revs.push(await s.put("a.one", 3, revs[0]));
      revs.push((await s.update<number>("b.two", (n) => (n ?? 0) + 1)).revision);
      await s.delete("a.one");
      revs.push(await s.put("a.one", 4, 0));
      revs.push(await s.put("c.three", 5));
      for (let i = 1; i < revs.length; i++) expect(revs[i]).toBeGreaterThan(revs[i - 1]!);
    });
  });
}

contract(
  "JetStreamKvStore",
  fresh((ns) => JetStreamKvStore.open(nc, ns)),
);
contract(
  "RedisKvStore",
  fresh((ns) => RedisKvStore.open(redis.url, ns)),
);

describe("openStore", () => {
  it("opens a Redis store for backend redis, isolated per service", async () => {
    const a = await openStore(nc, "quest-system", { backend: "redis", redisUrl: redis.url });
    const b = await openStore(nc, "auth", { backend: "redis", redisUrl: redis.url });
    opened.push(a, b);
    expect(a).toBeInstanceOf(RedisKvStore);
    await a.put("quest.q1", { title: "x" });
    expect(await b.get("quest.q1")).toBeNull();
    expect(await b.keys()).toEqual([]);
    expect(await a.keys("quest")).toEqual(["quest.q1"]);
  });

  it("opens a JetStream KV store by default and for backend jetstream", async () => {
    const a = await openStore(nc, "weather-manager");
    const b = await openStore(nc, "weather-manager", { backend: "jetstream" });
    opened.push(a, b);
    expect(a).toBeInstanceOf(JetStreamKvStore);
    const rev = await a.put("region.r1", "rain");
    expect(await b.get("region.r1")).toEqual({ value: "rain", revision: rev });
  });

  it("says GS_REDIS_URL is needed when backend redis has no URL", async () => {
    await expect(openStore(nc, "auth", { backend: "redis" })).rejects.toThrow(
      /GS_STATE_BACKEND=redis needs GS_REDIS_URL/,
    );
  });

  it("names the valid backends when the backend is unknown", async () => {
    await expect(openStore(nc, "auth", { backend: "etcd" })).rejects.toThrow(
      'unknown state backend "etcd": use jetstream or redis',
    );
  });
});
