// Test helper: a real nats-server on a free loopback port.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "@nats-io/transport-node";
import os from "node:os";
import path from "node:path";
import { canConnect, freePort } from "../../src/lib/platform/local/nats-cluster.js";

export interface TestNatsServer {
  url: string;
  port: number;
  storeDir?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** GS_NATS_SERVER, else nats-server from PATH; throws with the install command when missing. */
export function natsServerBinary(): string {
  const bin = process.env.GS_NATS_SERVER || "nats-server";
  const probe = spawnSync(bin, ["--version"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0)
    throw new Error("nats-server not found: apt-get install nats-server (or set GS_NATS_SERVER)");
  return bin;
}

/** The version of that nats-server, e.g. "2.9.10". */
export function natsServerVersion(): string {
  const out = spawnSync(natsServerBinary(), ["--version"], { encoding: "utf8" }).stdout ?? "";
  return /v?(\d+\.\d+\.\d+)/.exec(out)?.[1] ?? "unknown";
}

const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

/** SIGTERM, SIGKILL after 2 s, and wait for the exit (nothing when it has exited already). */
async function stopChild(child: ChildProcess): Promise<void> {
  if (!running(child)) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const t = setTimeout(() => child.kill("SIGKILL"), 2000);
  await exited;
  clearTimeout(t);
}

/**
 * Start nats-server on 127.0.0.1 (with JetStream in a temp store dir when asked) and wait until
 * it accepts connections, on `port` when given (a server started again where a stopped one
 * listened), else on a free port. A free port can be taken between probe and bind, so a server that
 * exits at once is retried (on another free port, or the given one again).
 */
export async function startNatsServer(
  opts: { jetstream?: boolean; args?: string[]; port?: number } = {},
): Promise<TestNatsServer> {
  const bin = natsServerBinary();
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const storeDir = opts.jetstream ? mkdtempSync(path.join(os.tmpdir(), "gs-test-js-")) : undefined;
    try {
      return await startOnce(bin, opts.port ?? (await freePort()), storeDir, opts.args ?? []);
    } catch (err) {
      if (storeDir) rmSync(storeDir, { recursive: true, force: true });
      lastError = err as Error;
      if (!(err instanceof ExitedEarly)) break;
    }
  }
  throw lastError!;
}

class ExitedEarly extends Error {}

async function startOnce(
  bin: string,
  port: number,
  storeDir: string | undefined,
  extra: string[],
): Promise<TestNatsServer> {
  const args = ["-a", "127.0.0.1", "-p", String(port), ...(storeDir ? ["-js", "-sd", storeDir] : []), ...extra];
  const child = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  // keep the tail only: a chatty server (-DV) would otherwise grow this for the whole test run
  child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4096)));
  const deadline = Date.now() + 5000;
  while (!(await canConnect(port))) {
    const lastLine = () => stderr.trim().split("\n").pop() ?? "";
    if (!running(child)) throw new ExitedEarly(`nats-server exited on port ${port}: ${lastLine()}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`nats-server did not accept connections on port ${port} within 5s: ${lastLine()}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  let stopping: Promise<void> | undefined;
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    process: child,
    stop() {
      stopping ??= (async () => {
        await stopChild(child);
        if (storeDir) rmSync(storeDir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

export interface TestNatsCluster {
  /** every node's URL, comma-separated, for a client */
  url: string;
  nodes: Array<{ name: string; url: string; process: ChildProcess }>;
  stop(): Promise<void>;
}

/** A JetStream cluster of `size` nats-servers on free loopback ports, ready once JetStream answers. */
export async function startNatsCluster(size = 3): Promise<TestNatsCluster> {
  const bin = natsServerBinary();
  const dir = mkdtempSync(path.join(os.tmpdir(), "gs-test-cluster-"));
  const specs: Array<{ name: string; port: number; cluster: number }> = [];
  for (let i = 1; i <= size; i++) specs.push({ name: `n${i}`, port: await freePort(), cluster: await freePort() });
  const children = specs.map((s) => {
    const routes = specs.filter((o) => o !== s).map((o) => `nats://127.0.0.1:${o.cluster}`);
    const config = path.join(dir, `${s.name}.conf`);
    writeFileSync(
      config,
      [
        `server_name: ${s.name}`,
        `listen: "127.0.0.1:${s.port}"`,
        `jetstream { store_dir: ${JSON.stringify(path.join(dir, s.name))} }`,
        `cluster { name: test, listen: "127.0.0.1:${s.cluster}", routes: ${JSON.stringify(routes)} }`,
      ].join("\n"),
    );
    return spawn(bin, ["-c", config], { stdio: "ignore" });
  });
  const stop = async () => {
    await Promise.all(children.map(stopChild));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 20_000;
    for (const s of specs)
      while (!(await canConnect(s.port))) {
        if (children.some((c) => !running(c))) throw new Error("a nats-server of the test cluster exited at start");
        if (Date.now() > deadline) throw new Error(`nats-server ${s.name} did not accept connections`);
        await new Promise((r) => setTimeout(r, 25));
      }
    const url = specs.map((s) => `nats://127.0.0.1:${s.port}`).join(",");
    const nc = await connect({ servers: url.split(",") });
    try {
      // JetStream answers once the cluster has a meta leader
      for (;;) {
        const ok = await nc.request("$JS.API.INFO", "", { timeout: 1000 }).then(
          (m) => !m.json<{ error?: unknown }>().error,
          () => false,
        );
        if (ok) break;
        if (Date.now() > deadline) throw new Error("the test cluster elected no JetStream meta leader");
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      await nc.close();
    }
    return {
      url,
      nodes: specs.map((s, i) => ({ name: s.name, url: `nats://127.0.0.1:${s.port}`, process: children[i]! })),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
