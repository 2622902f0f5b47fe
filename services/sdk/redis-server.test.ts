import { afterEach, describe, expect, it } from "vitest";
import net from "node:net";
import { startRedisServer } from "../../test/support/redis-server.js";

function ping(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: "127.0.0.1" }, () => s.write("PING\r\n"));
    s.once("data", (d: Buffer) => {
      s.destroy();
      resolve(d.toString());
    });
    s.once("error", reject);
  });
}

describe("startRedisServer", () => {
  const saved = process.env.GS_REDIS_SERVER;
  afterEach(() => {
    if (saved === undefined) delete process.env.GS_REDIS_SERVER;
    else process.env.GS_REDIS_SERVER = saved;
  });

  it("starts a redis-server on a free loopback port that answers PING until stopped", async () => {
    const r = await startRedisServer();
    expect(r.url).toBe(`redis://127.0.0.1:${r.port}`);
    expect(await ping(r.port)).toBe("+PONG\r\n");
    await r.stop();
    await expect(ping(r.port)).rejects.toThrow(/ECONNREFUSED/);
    await r.stop(); // stopping twice is harmless
  });

  it("says how to install redis-server when the binary is missing", async () => {
    process.env.GS_REDIS_SERVER = "/nonexistent/redis-server";
    await expect(startRedisServer()).rejects.toThrow("redis-server not found: apt-get install redis-server");
  });
});
