// The production topology on one machine: `gs up --cluster 5 --state redis` starts a 5-node JetStream
// cluster and a Redis Cluster of 6 redis-server processes (3 primaries, a replica each), points the
// services at it, keeps it up when a primary is killed, and `gs down --purge` leaves nothing behind.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { KvLsJson } from "./kv/ls.js";
import type { RequestJson } from "./request.js";
import type { StatusJson } from "./status.js";
import type { UpJson } from "./up.js";
import { createProject, isAlive, waitFor, type TestProject } from "../../test/support/local-fleet.js";
import { startCli } from "../../test/support/live-process.js";
import { runCli } from "../../test/support/run-cli.js";

const balanceOf = async (dir: string, player: string): Promise<string | undefined> => {
  const r = await runCli(["request", "payment.get-balance", JSON.stringify({ playerId: player }), "--json"], {
    cwd: dir,
  });
  if (r.code !== 0) return undefined;
  const reply = (JSON.parse(r.stdout) as RequestJson).replies[0]!.reply as { balances: { minorUnits: string }[] };
  return reply.balances[0]?.minorUnits ?? "0";
};

/** Every file under `dir`, as text. */
const allText = (dir: string): string =>
  readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((f) => path.join(dir, f))
    .filter((f) => statSync(f).isFile())
    .map((f) => readFileSync(f, "utf8"))
    .join("\n");

describe("gs up --cluster 5 --state redis", () => {
  let project: TestProject | undefined;
  let secure: TestProject | undefined;

  afterAll(async () => {
    for (const p of [project, secure]) {
      if (!p) continue;
      await runCli(["down", "--purge"], { cwd: p.dir });
      p.remove();
    }
  });

  it("runs payment on a Redis Cluster beside 5 NATS nodes, survives a killed primary, and leaves no data or process after down --purge", async () => {
    project = createProject(["payment", "settings"], { desired: 1 });
    const dir = project.dir;
    const up = await runCli(["up", "--detach", "--cluster", "5", "--state", "redis", "--json"], { cwd: dir });
    expect(up.code, up.stderr).toBe(0);
    const upJson = JSON.parse(up.stdout) as UpJson;
    expect(upJson.redis?.nodes).toHaveLength(6);
    expect(up.stderr).toMatch(/Redis Cluster: 6 nodes on 127\.0\.0\.1:\d+/);

    // a deposit is acknowledged: payment keeps its state in the Redis Cluster
    const deposit = await runCli(
      [
        "request",
        "payment.deposit",
        JSON.stringify({ playerId: "p1", amount: { currency: "EUR", minorUnits: "250" }, idempotencyKey: "d1" }),
      ],
      { cwd: dir },
    );
    expect(deposit.code, deposit.stderr).toBe(0);
    expect(await balanceOf(dir, "p1")).toBe("250");
    // gs kv finds the fleet's Redis Cluster by itself: the store the supervisor pointed payment at
    const kv = await runCli(["kv", "ls", "payment", "--json"], { cwd: dir });
    expect(kv.code, kv.stderr).toBe(0);
    const kvJson = JSON.parse(kv.stdout) as KvLsJson;
    expect(kvJson.backend).toBe("redis-cluster");
    expect(kvJson.keys.some((k) => k.includes("p1"))).toBe(true);

    const status = async (): Promise<StatusJson> => {
      const r = await runCli(["status", "--json"], { cwd: dir });
      return JSON.parse(r.stdout) as StatusJson;
    };
    const s = await status();
    expect(s.nats.servers.map((x) => x.state)).toEqual(["up", "up", "up", "up", "up"]);
    expect(s.nats.streams.find((x) => x.name === "EVENTS")?.replicas.expected).toBe(3);
    expect(s.nats.streams.filter((x) => x.kind === "kv")).toEqual([]);
    const redis = s.redis!;
    expect(redis.clusterState).toBe("ok");
    expect(redis.problems).toEqual([]);
    expect(redis.nodes.map((n) => n.state)).toEqual(Array(6).fill("up"));
    expect(redis.nodes.filter((n) => n.role === "primary").map((n) => n.slots)).toEqual([5461, 5462, 5461]);
    for (const n of redis.nodes.filter((x) => x.role === "replica")) {
      expect(redis.nodes.find((p) => p.name === n.primary)?.role).toBe("primary");
      expect(n.inSync).toBe(true);
    }
    // the primary holding payment's keys (its replica has them too)
    const holder = redis.nodes.find((n) => n.role === "primary" && (n.keys ?? 0) > 0)!;
    expect(holder).toBeDefined();

    // the live view follows the Redis Cluster too: one line per change without a terminal
    const watch = startCli(["status", "--watch", "--interval", "500ms"], { cwd: dir, timeoutMs: 120_000 });
    await watch.waitFor("stdout", /Redis: 6\/6 nodes up · 3 primaries, 3 replicas · cluster_state ok/, 30_000);

    // killed: its replica takes over, then the supervisor starts it again and it rejoins as a replica
    const rec = project.record() as unknown as { redis: { nodes: { name: string; pid: number }[] } };
    const victim = rec.redis.nodes.find((n) => n.name === holder.name)!;
    process.kill(victim.pid, "SIGKILL");
    const healed = await waitFor(
      `${holder.name} back as a replica`,
      async () => {
        const r = (await status()).redis!;
        const back = r.nodes.find((n) => n.name === holder.name);
        return r.problems.length === 0 && back?.state === "up" && back.role === "replica" && back.inSync
          ? r
          : undefined;
      },
      60_000,
      500,
    );
    expect(healed.nodes.filter((n) => n.role === "primary")).toHaveLength(3);
    // the failover as the watch saw it: the replica promoted (the node's own down time may fall between two polls)
    const promoted = redis.nodes.find((n) => n.role === "replica" && n.primary === holder.name)!.name;
    await watch.waitFor("stdout", new RegExp(`Redis: ${promoted} is now a primary \\(was replica\\)`), 30_000);
    watch.signal("SIGINT");
    expect((await watch.exit).code).toBe(0);
    const restarted = (project.record() as unknown as typeof rec).redis.nodes.find((n) => n.name === holder.name)!;
    expect(restarted.pid).not.toBe(victim.pid);
    // the acknowledged deposit survived the failover, and new writes go to the promoted replica
    expect(await balanceOf(dir, "p1")).toBe("250");
    const again = await runCli(
      [
        "request",
        "payment.deposit",
        JSON.stringify({ playerId: "p1", amount: { currency: "EUR", minorUnits: "50" }, idempotencyKey: "d2" }),
      ],
      { cwd: dir },
    );
    expect(again.code, again.stderr).toBe(0);
    expect(await balanceOf(dir, "p1")).toBe("300");

    const last = project.record()!;
    const pids = [last.supervisor.pid, ...last.pids.map((p) => p.pid)];
    // supervisor, 5 nats-server, 6 redis-server, 2 instances
    expect(pids).toHaveLength(1 + 5 + 6 + 2);
    const down = await runCli(["down", "--purge"], { cwd: dir });
    expect(down.code, down.stderr).toBe(0);
    expect(pids.filter(isAlive)).toEqual([]);
    expect(existsSync(path.join(dir, ".gs"))).toBe(false);
  }, 300_000);

  it("requires a password on every Redis node of a --secure fleet, and never shows it", async () => {
    secure = createProject(["payment"], { desired: 1 });
    const dir = secure.dir;
    const up = await runCli(["up", "--detach", "--secure", "--state", "redis", "--json"], { cwd: dir });
    expect(up.code, up.stderr).toBe(0);
    const deposit = await runCli(
      [
        "request",
        "payment.deposit",
        JSON.stringify({ playerId: "p9", amount: { currency: "EUR", minorUnits: "7" }, idempotencyKey: "s1" }),
      ],
      { cwd: dir },
    );
    expect(deposit.code, deposit.stderr).toBe(0);
    const status = await runCli(["status", "--json"], { cwd: dir });
    const redis = (JSON.parse(status.stdout) as StatusJson).redis!;
    expect(redis.problems).toEqual([]);
    expect(redis.nodes.filter((n) => n.state === "up")).toHaveLength(6);

    const file = path.join(dir, ".gs", "secure", "redis.password");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const password = readFileSync(file, "utf8").trim();
    expect(password.length).toBeGreaterThanOrEqual(32);
    const port = redis.nodes[0]!.address.split(":")[1]!;
    // a client without the password is refused
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = net.connect({ port: Number(port), host: "127.0.0.1" }, () => socket.write("DBSIZE\r\n"));
      socket.once("data", (d) => {
        resolve(d.toString());
        socket.destroy();
      });
      socket.once("error", reject);
    });
    expect(reply).toMatch(/^-NOAUTH/);
    // not in any output, nor in what gs keeps besides the password file and the nodes' own configs
    expect(`${up.stdout}${up.stderr}${status.stdout}${status.stderr}`).not.toContain(password);
    expect(readFileSync(path.join(dir, ".gs", "local.json"), "utf8")).not.toContain(password);
    expect(allText(path.join(dir, ".gs", "logs"))).not.toContain(password);
    expect(readFileSync(path.join(dir, ".gs", "supervisor.log"), "utf8")).not.toContain(password);
  }, 180_000);

  it("says what is wrong before starting anything: --redis-shards without --state redis, redis-server missing", async () => {
    const p = createProject(["payment"], { desired: 1 });
    try {
      const shards = await runCli(["up", "--detach", "--redis-shards", "3"], { cwd: p.dir });
      expect(shards.code).toBe(2);
      expect(shards.stderr).toContain("--redis-shards needs --state redis");
      const missing = await runCli(["up", "--detach", "--state", "redis"], {
        cwd: p.dir,
        env: { GS_REDIS_SERVER: "/nonexistent/redis-server" },
      });
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(
        /redis-server not found at GS_REDIS_SERVER=\/nonexistent\/redis-server — .*apt-get install redis-server/,
      );
      expect(p.record()).toBeUndefined();
    } finally {
      p.remove();
    }
  }, 60_000);
});
