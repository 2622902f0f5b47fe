// The write fence of a replicated JetStream KV bucket (see needsWriteFence in state.ts): on a
// nats-server before 2.9.21 two updates of one key at one revision can both be stored; through the
// fence, instances that each hold their own connection lose no increment while other keys are written.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Kvm } from "@nats-io/kv";
import { natsServerVersion, startNatsCluster, type TestNatsCluster } from "../../test/support/nats-server.js";
import { JetStreamKvStore, needsWriteFence } from "./state.js";

let cluster: TestNatsCluster;
const conns: NatsConnection[] = [];
let bucketSeq = 0;

beforeAll(async () => {
  cluster = await startNatsCluster(3);
  // one connection per "instance", each to another node first
  for (let i = 0; i < 6; i++) {
    const urls = cluster.nodes.map((n) => n.url);
    conns.push(await connect({ servers: [...urls.slice(i % 3), ...urls.slice(0, i % 3)], noRandomize: true }));
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
  await cluster?.stop();
});

describe("needsWriteFence", () => {
  it("fences replicated buckets on nats-server before 2.9.21 only", () => {
    expect(needsWriteFence("2.9.10", 3)).toBe(true);
    expect(needsWriteFence("v2.9.20", 5)).toBe(true);
    expect(needsWriteFence("2.8.4", 3)).toBe(true);
    expect(needsWriteFence("2.9.21", 3)).toBe(false);
    expect(needsWriteFence("2.10.0", 3)).toBe(false);
    expect(needsWriteFence("2.11.3", 3)).toBe(false);
    expect(needsWriteFence("2.9.10", 1)).toBe(false);
    expect(needsWriteFence(undefined, 3)).toBe(false);
  });
});

describe("a replicated bucket written by six instances at once", () => {
  it.runIf(needsWriteFence(natsServerVersion(), 3))(
    "loses increments on this nats-server without the fence: two updates at one revision both stored",
    async () => {
      const bucket = `raw_${++bucketSeq}`;
      // created once, then opened by each (six creates at once can time out on a busy 2.9 cluster)
      await new Kvm(conns[0]!).create(bucket, { replicas: 3, allow_direct: false });
      const kvs = await Promise.all(conns.map((c) => new Kvm(c).create(bucket, { replicas: 3, allow_direct: false })));
      await kvs[0]!.put("counter", "0");
      let stored = 0;
      await Promise.all(
        kvs.map(async (kv) => {
          for (let i = 0; i < 60; i++) {
            const e = await kv.get("counter");
            try {
              await kv.update("counter", String(Number(e!.string()) + 1), e!.revision);
              stored++;
            } catch {
              // refused: another instance updated it first
            }
          }
        }),
      );
      const final = Number((await kvs[0]!.get("counter"))!.string());
      expect(final).toBeLessThan(stored);
    },
    60_000,
  );

  it("keeps every increment through the fence while other keys are written meanwhile", async () => {
    const bucket = `fenced_${++bucketSeq}`;
    await JetStreamKvStore.open(conns[0]!, bucket, { replicas: 3 });
    const stores = await Promise.all(conns.map((c) => JetStreamKvStore.open(c, bucket, { replicas: 3 })));
    let writing = true;
    let others = 0;
    // other keys written meanwhile: unconditionally, and put-once records (around the fence)
    const noise = stores.slice(0, 2).map(async (s, i) => {
      while (writing) {
        await s.put(`other.${i}`, others++);
        expect(await s.putOnce(`once.${i}.${others}`, others)).toBe(true);
        await new Promise((r) => setTimeout(r, 20));
      }
    });
    const revisions: number[] = [];
    await Promise.all(
      stores.map(async (s) => {
        for (let i = 0; i < 25; i++)
          revisions.push((await s.update<number>("counter", (n) => (n ?? 0) + 1, 1000)).revision);
      }),
    );
    writing = false;
    await Promise.all(noise);
    expect(others).toBeGreaterThan(0);
    expect((await stores[0]!.get<number>("counter"))?.value).toBe(6 * 25);
    expect(new Set(revisions).size).toBe(6 * 25);
    // a create and a conditional delete go through the same fence
    expect(await stores[1]!.put("fresh", 1, 0)).toBeGreaterThan(0);
    await expect(stores[2]!.put("fresh", 2, 0)).rejects.toMatchObject({ code: 409 });
    const cur = await stores[3]!.get<number>("fresh");
    await expect(stores[4]!.delete("fresh", cur!.revision - 1)).rejects.toMatchObject({ code: 409 });
    await stores[4]!.delete("fresh", cur!.revision);
    expect(await stores[5]!.get("fresh")).toBeNull();
    expect(await stores[5]!.put("fresh", 3, 0)).toBeGreaterThan(cur!.revision);
  }, 120_000);

  it("stores put-once records without waiting for the fence's turn", async () => {
    const bucket = `once_${++bucketSeq}`;
    const store = await JetStreamKvStore.open(conns[0]!, bucket, { replicas: 3 });
    const fence = (store as unknown as { fence?: { turn: Promise<unknown> } }).fence;
    expect(fence).toBeDefined();
    // a conditional write in flight that never ends: what waits its turn behind it waits for ever
    let release!: () => void;
    fence!.turn = new Promise<void>((r) => (release = r));
    const fenced = store.put("queued", 1, 0);
    expect(await store.putOnce("txn.t1", { amount: 5 })).toBe(true);
    expect(await store.putOnce("txn.t1", { amount: 6 })).toBe(false);
    expect((await store.get("txn.t1"))?.value).toEqual({ amount: 5 });
    expect(
      await Promise.race([fenced.then(() => "stored"), new Promise((r) => setTimeout(() => r("waiting"), 300))]),
    ).toBe("waiting");
    release();
    expect(await fenced).toBeGreaterThan(0);
  }, 60_000);
});
