// One contract for every KvStore backend, run against real servers: JetStream KV on a nats-server
// with JetStream and on a 3-node JetStream cluster (R3 buckets, written through the fence where the
// server needs it: see needsWriteFence), Redis on a redis-server, and Redis on a Redis Cluster of 3
// primaries with a replica each. A backend that passes can replace the others.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import {
  startNatsCluster,
  startNatsServer,
  type TestNatsCluster,
  type TestNatsServer,
} from "../../test/support/nats-server.js";
import { startRedisServer, type TestRedisServer } from "../../test/support/redis-server.js";
import { keySlot, startRedisCluster, type TestRedisCluster } from "../../test/support/redis-cluster.js";
import { freePort } from "../../test/support/free-port.js";
import { JetStreamKvStore, RedisKvStore, RevisionConflict, openStore, type KvStore } from "./state.js";

let nats: TestNatsServer;
let redis: TestRedisServer;
let cluster: TestRedisCluster;
let natsCluster: TestNatsCluster;
let nc: NatsConnection;
let clusterNc: NatsConnection;
const opened: KvStore[] = [];
let seq = 0;

beforeAll(async () => {
  [nats, redis, cluster, natsCluster] = await Promise.all([
    startNatsServer({ jetstream: true }),
    startRedisServer(),
    startRedisCluster({ primaries: 3, replicasPerPrimary: 1 }),
    startNatsCluster(3),
  ]);
  nc = await connect({ servers: nats.url });
  clusterNc = await connect({ servers: natsCluster.url.split(",") });
}, 60_000);

afterAll(async () => {
  for (const s of opened) await s.close().catch(() => undefined);
  await nc?.close().catch(() => undefined);
  await clusterNc?.close().catch(() => undefined);
  await Promise.all([nats?.stop(), redis?.stop(), cluster?.stop(), natsCluster?.stop()]);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function conflictOf(p: Promise<unknown>): Promise<RevisionConflict> {
  try {
    await p;
  } catch (err) {
    if (err instanceof RevisionConflict) return err;
    throw err;
  }
  throw new Error("expected a RevisionConflict, the operation succeeded");
}

const backends: Array<{ name: string; open: (ns: string) => Promise<KvStore> }> = [
  { name: "JetStreamKvStore on nats-server", open: (ns) => JetStreamKvStore.open(nc, ns) },
  {
    name: "JetStreamKvStore on a 3-node JetStream cluster (R3)",
    open: (ns) => JetStreamKvStore.open(clusterNc, ns, { replicas: 3 }),
  },
  { name: "RedisKvStore on one redis-server", open: (ns) => RedisKvStore.open(redis.url, ns) },
  {
    name: "RedisKvStore on a Redis Cluster",
    open: (ns) => RedisKvStore.open(cluster.url, ns, { cluster: true }),
  },
];

describe.each(backends)("$name honours the KvStore contract", ({ open: openBackend }) => {
  /** Each call gets a fresh, empty store of the backend. */
  const open = async (): Promise<KvStore> => {
    const s = await openBackend(`contract_${++seq}`);
    opened.push(s);
    return s;
  };

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

  it("stores a put-once record when the key is absent or deleted, and leaves one that is there", async () => {
    const s = await open();
    expect(await s.putOnce("txn.t1", { amount: 5 })).toBe(true);
    const first = await s.get("txn.t1");
    expect(first?.value).toEqual({ amount: 5 });
    expect(await s.putOnce("txn.t1", { amount: 99 })).toBe(false);
    expect(await s.get("txn.t1")).toEqual(first);
    await s.delete("txn.t1");
    expect(await s.putOnce("txn.t1", { amount: 7 })).toBe(true);
    expect((await s.get("txn.t1"))?.value).toEqual({ amount: 7 });
    // a conditional write after it still sees the key where it is
    const cur = (await s.get("txn.t1"))!;
    expect(await s.put("txn.t1", { amount: 8 }, cur.revision)).toBeGreaterThan(cur.revision);
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
      "player.{tag}",
      "player.}{",
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

  // On a Redis Cluster each script call names several keys (the key, the revision counter, the write
  // ids): spread over slots they would be refused with CROSSSLOT. The keys below hash to slots of
  // every primary when they carry no hash tag (checked in the cluster tests further down).
  it("creates, compare-and-sets, lists and deletes 60 keys that hash to many slots on their own", async () => {
    const s = await open();
    const keys = Array.from({ length: 60 }, (_, i) => `item.${i}.${"x".repeat(i % 7)}`);
    const revs = await Promise.all(keys.map((k, i) => s.put(k, i, 0)));
    const next = await Promise.all(keys.map((k, i) => s.put(k, i + 100, revs[i])));
    for (const [i, k] of keys.entries()) {
      expect((await conflictOf(s.put(k, -1, revs[i]))).code).toBe(409);
      expect(await s.get(k)).toEqual({ value: i + 100, revision: next[i] });
    }
    expect(await s.keys("item")).toEqual([...keys].sort());
    await Promise.all(keys.map((k, i) => conflictOf(s.delete(k, revs[i]))));
    await Promise.all(keys.map((k, i) => s.delete(k, next[i])));
    expect(await s.keys("item")).toEqual([]);
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

describe("RedisKvStore on a Redis Cluster", () => {
  /** A direct connection to each primary, to see where the store's keys landed. */
  async function primaries(): Promise<Redis[]> {
    const views = (await cluster.topology()).filter((v) => v.role === "primary");
    return views.map((v) => new Redis(v.port, "127.0.0.1", { lazyConnect: true }));
  }

  /** A namespace whose slot the primary on `port` serves. */
  async function namespaceServedBy(port: number, tag: string): Promise<string> {
    const owner = (await cluster.topology()).find((v) => v.port === port)!;
    for (let i = 0; ; i++) {
      const ns = `${tag}_${i}`;
      const slot = keySlot(ns);
      if (owner.slots.some(([a, b]) => slot >= a && slot <= b)) return ns;
    }
  }

  it("keeps every Redis key of a store in the slot of its hash tag, whatever the keys", async () => {
    const ns = `slots_${++seq}`;
    const s = await RedisKvStore.open(cluster.url, ns, { cluster: true });
    opened.push(s);
    const keys = Array.from({ length: 60 }, (_, i) => `item.${i}.${"x".repeat(i % 7)}`);
    const nodes = await primaries();
    try {
      // without the tag these names alone would hash to slots of every primary
      const ranges = (await cluster.topology()).filter((v) => v.role === "primary").map((v) => v.slots);
      const served = (slot: number) => ranges.findIndex((r) => r.some(([a, b]) => slot >= a && slot <= b));
      expect(new Set(keys.map((k) => served(keySlot(k)))).size).toBe(3);
      expect(await nodes[0]!.cluster("KEYSLOT", keys[5]!)).toBe(keySlot(keys[5]!));

      for (const k of [...keys, "odd.{x}", "odd.}{", "odd.{}"]) {
        const r = await s.put(k, 1, 0);
        await s.put(k, 2, r);
      }
      await s.delete("odd.{}");
      const found: string[] = [];
      for (const n of nodes) {
        let cursor = "0";
        do {
          const [next, batch] = await n.scan(cursor, "MATCH", `gs:{${ns}}:*`, "COUNT", 1000);
          cursor = next;
          found.push(...batch);
        } while (cursor !== "0");
      }
      // 62 keys, the revision counter and at least one hash of write ids
      expect(found.length).toBeGreaterThanOrEqual(keys.length + 2 + 2);
      expect(new Set(found.map(keySlot))).toEqual(new Set([keySlot(`{${ns}}`)]));
    } finally {
      for (const n of nodes) n.disconnect();
    }
  });

  it("lists the keys of stores whose slots live on each of the three primaries", async () => {
    const ports = (await cluster.topology()).filter((v) => v.role === "primary").map((v) => v.port);
    expect(ports).toHaveLength(3);
    for (const port of ports) {
      const ns = await namespaceServedBy(port, `listing_${++seq}`);
      const s = await RedisKvStore.open(cluster.url, ns, { cluster: true });
      opened.push(s);
      const keys = Array.from({ length: 25 }, (_, i) => `quest.q${i}`);
      await Promise.all(keys.map((k) => s.put(k, { port })));
      await s.put("player.p1", 1);
      // several calls: a listing sent to one node picked at random would miss now and then
      for (let i = 0; i < 5; i++) expect(await s.keys("quest")).toEqual([...keys].sort());
      expect(await s.keys()).toEqual([...keys, "player.p1"].sort());
    }
  });

  it("lists only its own keys when another store's namespace hashes to the same slot", async () => {
    // find two namespaces that share a slot
    const bySlot = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; !pair; i++) {
      const ns = `twin_${i}`;
      const other = bySlot.get(keySlot(ns));
      if (other) pair = [other, ns];
      else bySlot.set(keySlot(ns), ns);
    }
    const [a, b] = await Promise.all(pair.map((ns) => RedisKvStore.open(cluster.url, ns, { cluster: true })));
    opened.push(a!, b!);
    await a!.put("doc.1", "a");
    await b!.put("doc.2", "b");
    expect(await a!.keys()).toEqual(["doc.1"]);
    expect(await b!.keys("doc")).toEqual(["doc.2"]);
  });
});

// Spins for ARGV[1] microseconds: Redis runs nothing else meanwhile, so commands sent then queue up.
const BUSY_SCRIPT = `
local t0 = redis.call('TIME')
repeat local t = redis.call('TIME') until (t[1] - t0[1]) * 1000000 + (t[2] - t0[2]) >= tonumber(ARGV[1])
return 1`;

describe.each([
  {
    name: "one redis-server",
    open: (ns: string) => RedisKvStore.open(redis.url, ns),
    portOf: async () => redis.port,
  },
  {
    name: "a Redis Cluster",
    open: (ns: string) => RedisKvStore.open(cluster.url, ns, { cluster: true }),
    portOf: async (ns: string) => (await cluster.primaryOf(keySlot(`{${ns}}`))).port,
  },
])("RedisKvStore on $name, when the connection drops after a write was applied", ({ open, portOf }) => {
  /**
   * Runs `op` so that Redis applies its write and then drops the connection before the answer is sent:
   * a busy script holds the server while the write and a CLIENT KILL queue up behind it, in that order.
   * ioredis then sends the write again.
   */
  async function withAnswerLost<T>(port: number, op: () => Promise<T>): Promise<T> {
    const blocker = new Redis(port, "127.0.0.1", { retryStrategy: () => null });
    const killer = new Redis(port, "127.0.0.1", { retryStrategy: () => null });
    try {
      await Promise.all([blocker.ping(), killer.ping()]);
      const busy = blocker.eval(BUSY_SCRIPT, 0, 300_000);
      await sleep(50);
      const result = op();
      await sleep(50);
      const killed = Number(await killer.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"));
      // when all three arrived together the blocker's own answer is cut off too: it does not matter
      await busy.catch(() => undefined);
      // the blocker and the store's connection at least
      expect(killed).toBeGreaterThanOrEqual(2);
      return await result;
    } finally {
      blocker.disconnect();
      killer.disconnect();
    }
  }

  it("applies a create, an update and a delete once when ioredis sends them again", async () => {
    const ns = `resend_${++seq}`;
    const s = await open(ns);
    opened.push(s);
    const port = await portOf(ns);

    const created = await withAnswerLost(port, () => s.put("wallet.w1", { balance: 10 }, 0));
    expect(await s.get("wallet.w1")).toEqual({ value: { balance: 10 }, revision: created });

    const counted = await withAnswerLost(port, () => s.update<number>("stats.counter", (n) => (n ?? 0) + 1));
    expect(counted.value).toBe(1);
    expect(await s.get("stats.counter")).toEqual(counted);

    await withAnswerLost(port, () => s.delete("wallet.w1", created));
    expect(await s.get("wallet.w1")).toBeNull();
  });
});

describe("RedisKvStore on a Redis Cluster whose primary dies", () => {
  let own: TestRedisCluster;
  let s: KvStore | undefined;
  beforeAll(async () => {
    // its own cluster: the test kills a node
    own = await startRedisCluster({ primaries: 3, replicasPerPrimary: 1, nodeTimeoutMs: 1000 });
  });
  afterAll(async () => {
    await s?.close();
    await own?.stop();
  });

  it("keeps every acknowledged write and refuses a stale revision when the store's primary is killed while writing", async () => {
    const store = (s = await RedisKvStore.open(own.url, "failover", { cluster: true }));
    const slot = keySlot("{failover}");
    const primary = await own.primaryOf(slot);
    const replica = (await own.topology()).find((v) => v.primaryPort === primary.port)!;
    expect(replica).toBeDefined();

    const acked = new Map<string, { value: number; revision: number }>();
    for (let i = 0; i < 20; i++) acked.set(`before.${i}`, { value: i, revision: await store.put(`before.${i}`, i, 0) });
    const stale = await store.put("wallet.w", 1);
    const current = await store.put("wallet.w", 2, stale);

    let phase = "during";
    let stop = false;
    const conflicts: string[] = [];
    const failures: string[] = [];
    const increments = { attempted: 0, acked: 0 };
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        // each key is created once: a refusal ("already exists") could only be a write applied twice
        const key = `${phase}.${w}.${i}`;
        try {
          acked.set(key, { value: i, revision: await store.put(key, i, 0) });
        } catch (err) {
          (err instanceof RevisionConflict ? conflicts : failures).push(`${key}: ${(err as Error).message}`);
        }
        increments.attempted++;
        try {
          await store.update<number>("stats.counter", (n) => (n ?? 0) + 1);
          increments.acked++;
        } catch (err) {
          failures.push(`stats.counter: ${(err as Error).message}`);
        }
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    await sleep(300);

    await own.kill(primary.port);
    const killedAt = Date.now();
    const deadline = Date.now() + 15_000;
    while ((await own.primaryOf(slot).catch(() => undefined))?.port !== replica.port) {
      expect(Date.now(), "the replica was not promoted within 15 s").toBeLessThan(deadline);
      await sleep(50);
    }
    const failoverMs = Date.now() - killedAt;
    // only now: a primary without persistence restarted before its replica took over would come
    // back empty and its replica would copy that
    await own.restart(primary.port);
    await own.waitUntilHealthy();
    expect((await own.topology()).find((v) => v.port === primary.port)?.primaryPort).toBe(replica.port);
    phase = "after";
    const sizeAtRecovery = acked.size;
    // writes resume: the client finds the new primary (its slot refresh and retry backoff take a while on a loaded machine)
    const resumeBy = Date.now() + 10_000;
    while (acked.size - sizeAtRecovery <= 10 && Date.now() < resumeBy) await sleep(100);
    stop = true;
    await Promise.all(writers);

    console.log(
      JSON.stringify({ failoverMs, acked: acked.size, failed: failures.length, firstFailure: failures[0], increments }),
    );
    expect(conflicts).toEqual([]);
    expect(acked.size - sizeAtRecovery, "writes acknowledged after the failover").toBeGreaterThan(10);
    for (const [key, v] of acked) expect(await store.get(key), key).toEqual(v);
    const listed = new Set([
      ...(await store.keys("during")),
      ...(await store.keys("after")),
      ...(await store.keys("before")),
    ]);
    for (const key of acked.keys()) expect(listed.has(key), key).toBe(true);
    // an increment whose answer was lost may be applied; none is applied twice
    const counter = (await s.get<number>("stats.counter"))!.value;
    expect(counter).toBeGreaterThanOrEqual(increments.acked);
    expect(counter).toBeLessThanOrEqual(increments.attempted);
    expect((await conflictOf(store.put("wallet.w", 3, stale))).code).toBe(409);
    expect(await store.put("wallet.w", 3, current)).toBeGreaterThan(current);
  }, 60_000);

  it("does not acknowledge a write its replica does not hold, so failing over loses nothing acknowledged", async () => {
    await own.waitUntilHealthy();
    const store = await RedisKvStore.open(own.url, "lagging", { cluster: true, replicaTimeoutMs: 500 });
    try {
      const slot = keySlot("{lagging}");
      const primary = await own.primaryOf(slot);
      const replica = (await own.topology()).find((v) => v.primaryPort === primary.port)!;
      const kept = await store.put("wallet.kept", 1, 0);

      // the replica is frozen and cut off, so what its primary applies now reaches no replica
      own.pause(replica.port);
      const direct = new Redis(primary.port, "127.0.0.1", { retryStrategy: () => null });
      expect(await direct.call("CLIENT", "KILL", "TYPE", "replica")).toBe(1);
      direct.disconnect();
      let acknowledged: number | undefined;
      try {
        acknowledged = await store.put("wallet.lagging", 2, 0);
      } catch (err) {
        expect((err as { code?: number }).code).toBe(503);
        expect((err as Error).message).toBe(
          "wallet.lagging: the write was not confirmed by 1 Redis replica(s) within 500ms",
        );
      }
      await own.kill(primary.port);
      own.resume(replica.port);
      const deadline = Date.now() + 15_000;
      while ((await own.primaryOf(slot).catch(() => undefined))?.port !== replica.port) {
        expect(Date.now(), "the replica was not promoted within 15 s").toBeLessThan(deadline);
        await sleep(50);
      }
      await own.restart(primary.port);
      await own.waitUntilHealthy();

      expect(await store.get("wallet.kept")).toEqual({ value: 1, revision: kept });
      if (acknowledged !== undefined)
        expect(await store.get("wallet.lagging")).toEqual({ value: 2, revision: acknowledged });
      expect(acknowledged).toBeUndefined();
    } finally {
      await store.close();
    }
  }, 60_000);
});

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

  it("opens a Redis Cluster store for backend redis-cluster from one seed or several, isolated per service", async () => {
    const seeds = cluster.url.split(",");
    const a = await openStore(nc, "quest-system", { backend: "redis-cluster", redisUrl: seeds[4] });
    const b = await openStore(nc, "auth", { backend: "redis-cluster", redisUrl: seeds.slice(0, 2).join(", ") });
    const a2 = await openStore(nc, "quest-system", { backend: "redis-cluster", redisUrl: cluster.url });
    opened.push(a, b, a2);
    expect(a).toBeInstanceOf(RedisKvStore);
    const rev = await a.put("quest.q1", { title: "x" });
    expect(await b.get("quest.q1")).toBeNull();
    expect(await a2.get("quest.q1")).toEqual({ value: { title: "x" }, revision: rev });
    expect(await a2.keys("quest")).toEqual(["quest.q1"]);
  });

  it("opens a JetStream KV store by default and for backend jetstream", async () => {
    const a = await openStore(nc, "weather-manager");
    const b = await openStore(nc, "weather-manager", { backend: "jetstream" });
    opened.push(a, b);
    expect(a).toBeInstanceOf(JetStreamKvStore);
    const rev = await a.put("region.r1", "rain");
    expect(await b.get("region.r1")).toEqual({ value: "rain", revision: rev });
  });

  it("says GS_REDIS_URL is needed when a Redis backend has no URL", async () => {
    await expect(openStore(nc, "auth", { backend: "redis" })).rejects.toThrow(
      /GS_STATE_BACKEND=redis needs GS_REDIS_URL/,
    );
    await expect(openStore(nc, "auth", { backend: "redis-cluster" })).rejects.toThrow(
      "GS_STATE_BACKEND=redis-cluster needs GS_REDIS_URL (e.g. redis://10.0.0.1:6379,redis://10.0.0.2:6379)",
    );
  });

  it("says to choose redis-cluster when backend redis is given several URLs", async () => {
    await expect(openStore(nc, "auth", { backend: "redis", redisUrl: cluster.url })).rejects.toThrow(
      "GS_REDIS_URL lists 6 servers: for a Redis Cluster set GS_STATE_BACKEND=redis-cluster",
    );
  });

  it("names the URL that is not a redis:// URL", async () => {
    await expect(
      openStore(nc, "auth", { backend: "redis-cluster", redisUrl: "redis://127.0.0.1:1,http://x:2" }),
    ).rejects.toThrow('GS_REDIS_URL has an invalid URL "http://x:2": use redis://host:port (rediss:// for TLS)');
    // a password in a URL is never repeated
    await expect(openStore(nc, "auth", { backend: "redis", redisUrl: "redis://u:s3cret@[bad" })).rejects.toThrow(
      'GS_REDIS_URL has an invalid URL "redis://***@[bad": use redis://host:port',
    );
  });

  it("names the servers it cannot reach, without their credentials", async () => {
    const down = `redis://u:s3cret@127.0.0.1:${await freePort()}`;
    const single = await openStore(nc, "auth", { backend: "redis", redisUrl: down }).catch((e: Error) => e);
    const several = await openStore(nc, "auth", { backend: "redis-cluster", redisUrl: `${down},${down}` }).catch(
      (e: Error) => e,
    );
    expect((single as Error).message).toMatch(/^cannot reach Redis at 127\.0\.0\.1:\d+ \(.+\): check GS_REDIS_URL$/);
    expect((several as Error).message).toMatch(
      /^cannot reach Redis at 127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+ \(.+\): check GS_REDIS_URL$/,
    );
  });

  it("refuses a namespace that would end the hash tag early", async () => {
    await expect(RedisKvStore.open(redis.url, "a}b")).rejects.toThrow(
      'invalid Redis store namespace "a}b": use letters, digits, - and _',
    );
  });

  it("names the valid backends when the backend is unknown", async () => {
    await expect(openStore(nc, "auth", { backend: "etcd" })).rejects.toThrow(
      'unknown state backend "etcd": use jetstream, redis or redis-cluster',
    );
  });
});
