import { afterEach, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { canConnect } from "../../src/lib/platform/local/nats-cluster.js";
import { startRedisCluster } from "../../test/support/redis-cluster.js";

describe("startRedisCluster", () => {
  const saved = process.env.GS_REDIS_CLI;
  afterEach(() => {
    if (saved === undefined) delete process.env.GS_REDIS_CLI;
    else process.env.GS_REDIS_CLI = saved;
  });

  it("starts 3 primaries with a replica each covering every slot, and stop() leaves no process or file behind", async () => {
    const c = await startRedisCluster();
    try {
      expect(c.nodes).toHaveLength(6);
      expect(c.url).toBe(c.nodes.map((n) => `redis://127.0.0.1:${n.port}`).join(","));
      const views = await c.topology();
      const primaries = views.filter((v) => v.role === "primary");
      expect(primaries).toHaveLength(3);
      expect(primaries.flatMap((p) => p.slots).reduce((n, [a, b]) => n + b - a + 1, 0)).toBe(16384);
      // each primary has its own replica
      expect(new Set(views.filter((v) => v.role === "replica").map((v) => v.primaryPort))).toEqual(
        new Set(primaries.map((p) => p.port)),
      );
      expect((await c.primaryOf(0)).slots.some(([a]) => a === 0)).toBe(true);
      expect(existsSync(c.dir)).toBe(true);
    } finally {
      await c.stop();
    }
    for (const n of c.nodes) {
      expect(n.running()).toBe(false);
      expect(await canConnect(n.port)).toBe(false);
    }
    expect(existsSync(c.dir)).toBe(false);
    await c.stop(); // stopping twice is harmless
  });

  it("says how to install redis-cli when the binary is missing", async () => {
    process.env.GS_REDIS_CLI = "/nonexistent/redis-cli";
    await expect(startRedisCluster()).rejects.toThrow("redis-cli not found: apt-get install redis-tools");
  });
});
