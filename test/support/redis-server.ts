// Test helper: a real redis-server on a free loopback port, with no persistence.
import { spawn, spawnSync } from "node:child_process";
import net from "node:net";
import { freePort } from "./free-port.js";

export interface TestRedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export function redisServerBinary(): string {
  const bin = process.env.GS_REDIS_SERVER ?? "redis-server";
  const probe = spawnSync(bin, ["--version"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) throw new Error("redis-server not found: apt-get install redis-server");
  return bin;
}

/** Sends PING on a fresh TCP connection; true when the server answers +PONG. */
export function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: "127.0.0.1" });
    let buf = "";
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.on("connect", () => s.write("PING\r\n"));
    s.on("data", (d: Buffer) => {
      buf += d.toString();
      if (buf.includes("\r\n")) done(buf.startsWith("+PONG"));
    });
    s.on("error", () => done(false));
  });
}

export async function startRedisServer(): Promise<TestRedisServer> {
  const bin = redisServerBinary();
  const port = await freePort();
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const collect = (d: Buffer) => (output = (output + d.toString()).slice(-4000));
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const deadline = Date.now() + 5000;
  while (!(await answersPing(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      const last = output.trim().split("\n").pop() ?? "";
      throw new Error(`redis-server did not start on port ${port}: ${last}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 2000);
      await exited;
      clearTimeout(t);
    },
  };
}
