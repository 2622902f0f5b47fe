// `gs kv` on the Redis backend: payment runs with GS_STATE_BACKEND=redis against a real redis-server,
// and gs finds the store the way the service does, from gs.yaml's env for it (or --backend/--redis-url).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../../../services/test-support/harness.js";
import payment from "../../../services/payment/service.js";
import { freePort } from "../../../test/support/free-port.js";
import { RedisKvStore } from "../../../services/sdk/state.js";
import { startRedisCluster, type TestRedisCluster } from "../../../test/support/redis-cluster.js";
import { startRedisServer, type TestRedisServer } from "../../../test/support/redis-server.js";
import { runCli } from "../../../test/support/run-cli.js";
import type { KvGetJson } from "./get.js";
import type { KvHistoryJson } from "./history.js";
import type { KvLsJson } from "./ls.js";

let h: Harness;
let redis: TestRedisServer;
let project: string;
let bare: string;

beforeAll(async () => {
  redis = await startRedisServer();
  h = await startHarness();
  await h.start(payment, { env: { GS_STATE_BACKEND: "redis", GS_REDIS_URL: redis.url } });
  for (const [key, n] of [
    ["d1", 40],
    ["d2", 2],
  ] as const)
    await h.call("payment.deposit", {
      playerId: "p1",
      amount: { currency: "GOLD", minorUnits: String(n) },
      idempotencyKey: key,
    });
  project = mkdtempSync(path.join(os.tmpdir(), "gs-kv-redis-"));
  writeFileSync(
    path.join(project, "gs.yaml"),
    `project: kv-redis\nservices:\n  payment:\n    env: { GS_STATE_BACKEND: redis, GS_REDIS_URL: "${redis.url}" }\n  auth: {}\n`,
  );
  bare = mkdtempSync(path.join(os.tmpdir(), "gs-kv-bare-"));
}, 60_000);

afterAll(async () => {
  await h?.stop();
  await redis?.stop();
  for (const d of [project, bare]) if (d) rmSync(d, { recursive: true, force: true });
});

describe("gs kv on Redis", () => {
  it("reads the store gs.yaml's env names for the service: keys, value and revision", async () => {
    const ls = await runCli(["kv", "ls", "payment", "-s", h.url, "--json"], { cwd: project });
    expect(ls.code, ls.stderr).toBe(0);
    const keys = JSON.parse(ls.stdout) as KvLsJson;
    expect(keys).toMatchObject({
      backend: "redis",
      store: `Redis 127.0.0.1:${redis.port} namespace payment`,
    });
    expect(keys.keys).toEqual(expect.arrayContaining(["wallet.p1", "idem.p1.d1", "idem.p1.d2"]));
    const get = await runCli(["kv", "get", "payment", "wallet.p1", "--json"], { cwd: project });
    expect(get.code, get.stderr).toBe(0);
    const json = JSON.parse(get.stdout) as KvGetJson;
    expect(json.revision).toBeGreaterThan(0);
    expect(json.time).toBeUndefined();
    expect(JSON.stringify(json.value)).toContain('"42"');
  });

  it("says Redis keeps no history and shows the current revision alone", async () => {
    const r = await runCli(["kv", "history", "payment", "wallet.p1"], { cwd: project });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^rev \d+ {2}- {2}PUT {4}\{.*"42".*\}\n$/);
    expect(r.stderr).toContain("Redis keeps no history: only the current revision is shown");
    const json = JSON.parse(
      (await runCli(["kv", "history", "payment", "wallet.p1", "--json"], { cwd: project })).stdout,
    ) as KvHistoryJson;
    expect(json.historyKept).toBe(false);
    expect(json.entries).toHaveLength(1);
  });

  it("takes the store from --backend and --redis-url without gs.yaml", async () => {
    const r = await runCli(["kv", "get", "payment", "wallet.p1", "--backend", "redis", "--redis-url", redis.url], {
      cwd: bare,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Redis 127.0.0.1:${redis.port} namespace payment`);
    const unknown = await runCli(
      ["kv", "get", "payment", "wallet.p9", "--backend", "redis", "--redis-url", redis.url],
      {
        cwd: bare,
      },
    );
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^error: payment has no key "wallet\.p9" \(did you mean wallet\.p1\?\)/);
  });

  it("fails in one line, exit 1, when Redis cannot be reached, and never prints the URL's password", async () => {
    const port = await freePort();
    const r = await runCli(
      ["kv", "ls", "payment", "--backend", "redis", "--redis-url", `redis://gs:hunter2-secret@127.0.0.1:${port}`],
      { cwd: bare, timeoutMs: 20_000 },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`^error: cannot connect to Redis \\(127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.*\\) — `),
    );
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    const wrong = await runCli(
      ["kv", "ls", "payment", "--backend", "redis", "--redis-url", `redis://gs:hunter2-secret@127.0.0.1:${redis.port}`],
      { cwd: bare },
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^error: cannot connect to Redis \(127\.0\.0\.1:\d+: .+\) — /);
    for (const out of [r.stdout, r.stderr, wrong.stdout, wrong.stderr]) expect(out).not.toContain("hunter2-secret");
  });

  it("refuses a redis backend without an address, and an unknown service of gs.yaml, exit 2", async () => {
    const noUrl = await runCli(["kv", "ls", "payment", "--backend", "redis"], { cwd: bare });
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toMatch(
      /^error: payment keeps its state in Redis \(redis\) but no Redis address is known — pass --redis-url/,
    );
    const unknown = await runCli(["kv", "ls", "quest-system"], { cwd: project });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^error: unknown service quest-system — services in gs\.yaml: auth, payment\n$/);
  });
});

describe("gs kv on a Redis Cluster", () => {
  let cluster: TestRedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    // written as payment's SDK store writes on GS_STATE_BACKEND=redis-cluster
    const store = await RedisKvStore.open(cluster.url, "payment", { cluster: true });
    await store.put("wallet.c1", { balances: { GOLD: "5" } });
    await store.put("wallet.c2", { balances: { GOLD: "6" } });
    await store.close();
  }, 60_000);
  afterAll(async () => cluster?.stop());

  it("lists and reads the keys from the cluster's primaries", async () => {
    const flags = ["--backend", "redis-cluster", "--redis-url", cluster.url];
    const ls = await runCli(["kv", "ls", "payment", ...flags], { cwd: bare });
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toBe("wallet.c1\nwallet.c2\n");
    expect(ls.stderr).toMatch(/in Redis Cluster (127\.0\.0\.1:\d+,?)+ namespace payment/);
    const get = await runCli(["kv", "get", "payment", "wallet.c2", "--json", ...flags], { cwd: bare });
    expect((JSON.parse(get.stdout) as KvGetJson).value).toEqual({ balances: { GOLD: "6" } });
  });
});
