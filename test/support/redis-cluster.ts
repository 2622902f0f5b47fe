// Test helper: a real Redis Cluster of redis-server processes on free loopback ports (3 primaries with a
// replica each by default), formed by `redis-cli --cluster create`, without persistence.
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseClusterNodes } from "../../src/lib/redis-layer/cluster-nodes.js";
import { freePort } from "./free-port.js";
import { answersPing, redisServerBinary } from "./redis-server.js";

export interface RedisClusterNode {
  port: number;
  /** redis://127.0.0.1:<port> */
  url: string;
  /** whether its redis-server process runs (a killed node does not until restarted) */
  running(): boolean;
}

/** One node as the cluster sees it (CLUSTER NODES of a running node). */
export interface ClusterNodeView {
  port: number;
  role: "primary" | "replica";
  /** a replica's primary */
  primaryPort?: number;
  /** inclusive slot ranges a primary serves */
  slots: Array<[number, number]>;
  /** flagged as failed (or possibly failed) by the node asked */
  failing: boolean;
}

export interface TestRedisCluster {
  /** every node's URL, comma-separated: GS_REDIS_URL for GS_STATE_BACKEND=redis-cluster */
  url: string;
  nodes: RedisClusterNode[];
  /** the temp directory holding every node's nodes.conf; removed by stop() */
  dir: string;
  /** the cluster as the first running node sees it */
  topology(): Promise<ClusterNodeView[]>;
  /** the primary serving `slot`, as the first running node sees it */
  primaryOf(slot: number): Promise<ClusterNodeView>;
  /** SIGKILL a node and wait until its process is gone */
  kill(port: number): Promise<void>;
  /** start a killed node again on its port with its nodes.conf: it rejoins the cluster */
  restart(port: number): Promise<void>;
  /** freeze a node's process (SIGSTOP), e.g. a replica that then falls behind its primary */
  pause(port: number): void;
  /** let a paused node run again (SIGCONT) */
  resume(port: number): void;
  /** until every running node says cluster_state:ok, they agree on every running node's role and replicas are in sync */
  waitUntilHealthy(timeoutMs?: number): Promise<void>;
  /** stop every node and remove the data directory (safe to call twice) */
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  primaries?: number;
  replicasPerPrimary?: number;
  /** cluster-node-timeout: how long a silent node takes to be failed over (Redis's default is 15 s) */
  nodeTimeoutMs?: number;
}

/** The Redis Cluster slot of a key (CRC16/XMODEM of its hash tag, or of the whole key without one). */
export function keySlot(key: string): number {
  let bytes = Buffer.from(key, "utf8");
  const open = bytes.indexOf("{");
  const close = open < 0 ? -1 : bytes.indexOf("}", open + 1);
  if (close > open + 1) bytes = bytes.subarray(open + 1, close);
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

/** GS_REDIS_CLI, else redis-cli from PATH; throws with the install command when missing. */
export function redisCliBinary(): string {
  const bin = process.env.GS_REDIS_CLI ?? "redis-cli";
  const probe = spawnSync(bin, ["--version"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) throw new Error("redis-cli not found: apt-get install redis-tools");
  return bin;
}

let cliBinary: string | undefined;

/** Run redis-cli and return its stdout; rejects with its last line of output when it fails. */
function cli(args: string[], timeoutMs = 5000): Promise<string> {
  cliBinary ??= redisCliBinary();
  return new Promise((resolve, reject) => {
    execFile(cliBinary!, args, { timeout: timeoutMs, encoding: "utf8" }, (err, stdout, stderr) => {
      // redis-cli exits 0 even for an error reply; a refused connection prints "Could not connect"
      const out = `${stdout}${stderr}`;
      if (err || /^(ERR|Could not connect)/m.test(out))
        reject(new Error(`redis-cli ${args.join(" ")}: ${out.trim().split("\n").pop() ?? err?.message}`));
      else resolve(stdout);
    });
  });
}

const command = (port: number, ...args: string[]): Promise<string> =>
  cli(["-h", "127.0.0.1", "-p", String(port), ...args]);

/** `field:value` lines of INFO or CLUSTER INFO. */
function fields(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i > 0) out.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return out;
}

function parseNodes(text: string): ClusterNodeView[] {
  const nodes = parseClusterNodes(text);
  const portOf = new Map(nodes.map((n) => [n.id, n.port]));
  return nodes.map((n) => ({
    port: n.port,
    role: n.role,
    primaryPort: n.primaryId ? portOf.get(n.primaryId) : undefined,
    slots: n.slots,
    failing: n.failing,
  }));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isRunning = (c: ChildProcess | undefined) => !!c && c.exitCode === null && c.signalCode === null;

/** Every cluster started by this process, killed if a test run exits without stopping it. */
const live = new Set<() => void>();
process.once("exit", () => {
  for (const kill of live) kill();
});

interface NodeProcess {
  port: number;
  busPort: number;
  dir: string;
  child?: ChildProcess;
  output: string;
}

export async function startRedisCluster(opts: RedisClusterOptions = {}): Promise<TestRedisCluster> {
  const primaries = opts.primaries ?? 3;
  const replicasPerPrimary = opts.replicasPerPrimary ?? 1;
  const nodeTimeoutMs = opts.nodeTimeoutMs ?? 1000;
  const bin = redisServerBinary();
  redisCliBinary();
  const root = mkdtempSync(path.join(os.tmpdir(), "gs-test-redis-cluster-"));
  const nodes: NodeProcess[] = [];
  const taken = new Set<number>();
  // the OS can hand the same free port to two probes in a row
  const port = async (): Promise<number> => {
    for (;;) {
      const p = await freePort();
      if (!taken.has(p)) {
        taken.add(p);
        return p;
      }
    }
  };

  const killAll = () => {
    for (const n of nodes) if (isRunning(n.child)) n.child!.kill("SIGKILL");
    rmSync(root, { recursive: true, force: true });
  };
  live.add(killAll);

  const spawnNode = async (n: NodeProcess): Promise<void> => {
    const args = [
      "--port",
      String(n.port),
      "--cluster-port",
      String(n.busPort),
      "--bind",
      "127.0.0.1",
      "--cluster-enabled",
      "yes",
      "--cluster-config-file",
      path.join(n.dir, "nodes.conf"),
      "--cluster-node-timeout",
      String(nodeTimeoutMs),
      "--dir",
      n.dir,
      "--save",
      "",
      "--appendonly",
      "no",
      // a primary otherwise waits 5 s for more replicas before it sends the first full sync
      "--repl-diskless-sync-delay",
      "0",
    ];
    const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    n.child = child;
    n.output = "";
    const collect = (d: Buffer) => (n.output = (n.output + d.toString()).slice(-4000));
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    const deadline = Date.now() + 5000;
    while (!(await answersPing(n.port))) {
      if (!isRunning(child) || Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`redis-server did not start on port ${n.port}: ${n.output.trim().split("\n").pop() ?? ""}`);
      }
      await sleep(25);
    }
  };

  const stopNode = async (n: NodeProcess, signal: NodeJS.Signals): Promise<void> => {
    const child = n.child;
    if (!isRunning(child)) return;
    const exited = new Promise((r) => child!.once("exit", r));
    child!.kill(signal);
    const t = setTimeout(() => child!.kill("SIGKILL"), 2000);
    await exited;
    clearTimeout(t);
  };

  const find = (port: number): NodeProcess => {
    const n = nodes.find((x) => x.port === port);
    if (!n) throw new Error(`no node of this cluster listens on port ${port}`);
    return n;
  };

  const running = () => nodes.filter((n) => isRunning(n.child));

  const topology = async (): Promise<ClusterNodeView[]> => {
    const first = running()[0];
    if (!first) throw new Error("no node of the cluster is running");
    return parseNodes(await command(first.port, "cluster", "nodes"));
  };

  /** null when healthy, else what is not yet */
  /** What one running node says is not yet right, or its view of the roles when all is. */
  const checkNode = async (port: number, up: NodeProcess[]): Promise<{ why: string } | { roles: string }> => {
    const [info, nodesText, replication] = await Promise.all([
      command(port, "cluster", "info"),
      command(port, "cluster", "nodes"),
      command(port, "info", "replication"),
    ]);
    const state = fields(info).get("cluster_state");
    if (state !== "ok") return { why: `${port}: cluster_state ${state}` };
    const view = parseNodes(nodesText).filter((v) => up.some((u) => u.port === v.port));
    if (view.length !== up.length) return { why: `${port} knows ${view.length} of ${up.length} running nodes` };
    if (view.some((v) => v.failing)) return { why: `${port} sees a running node as failing` };
    const repl = fields(replication);
    if (repl.get("role") === "slave" && repl.get("master_link_status") !== "up")
      return { why: `replica ${port} is not in sync with its primary` };
    const roles = view.map((v) => `${v.port}:${v.role}:${v.primaryPort ?? ""}`).sort();
    return { roles: roles.join(" ") };
  };

  /** null when healthy, else what is not yet */
  const notHealthy = async (): Promise<string | null> => {
    const up = running();
    const checks = await Promise.all(up.map((n) => checkNode(n.port, up)));
    const roles = new Set<string>();
    for (const c of checks) {
      if ("why" in c) return c.why;
      roles.add(c.roles);
    }
    return roles.size === 1 ? null : `nodes disagree on roles: ${[...roles].join(" / ")}`;
  };

  const waitUntilHealthy = async (timeoutMs = 20_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const why = await notHealthy().catch((err: Error) => err.message);
      if (why === null) return;
      if (Date.now() > deadline) throw new Error(`the Redis Cluster did not become healthy: ${why}`);
      await sleep(50);
    }
  };

  try {
    const count = primaries * (1 + replicasPerPrimary);
    await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        // a free port can be taken between probe and bind: try others when a node exits at once
        for (let attempt = 0; ; attempt++) {
          const n: NodeProcess = { port: await port(), busPort: await port(), dir: "", output: "" };
          n.dir = path.join(root, `node-${i}-${n.port}`);
          mkdirSync(n.dir);
          try {
            await spawnNode(n);
            nodes.push(n);
            return;
          } catch (err) {
            if (attempt >= 2) throw err;
          }
        }
      }),
    );
    await cli(
      [
        "--cluster",
        "create",
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        "--cluster-replicas",
        String(replicasPerPrimary),
        "--cluster-yes",
      ],
      30_000,
    );
    await waitUntilHealthy();
  } catch (err) {
    live.delete(killAll);
    killAll();
    throw err;
  }

  let stopping: Promise<void> | undefined;
  return {
    url: nodes.map((n) => `redis://127.0.0.1:${n.port}`).join(","),
    dir: root,
    nodes: nodes.map((n) => ({ port: n.port, url: `redis://127.0.0.1:${n.port}`, running: () => isRunning(n.child) })),
    topology,
    async primaryOf(slot) {
      const owner = (await topology()).find(
        (v) => v.role === "primary" && !v.failing && v.slots.some(([a, b]) => slot >= a && slot <= b),
      );
      if (!owner) throw new Error(`no primary serves slot ${slot}`);
      return owner;
    },
    kill: (port) => stopNode(find(port), "SIGKILL"),
    async restart(port) {
      const n = find(port);
      if (isRunning(n.child)) throw new Error(`node ${port} is running`);
      await spawnNode(n);
    },
    pause: (port) => void find(port).child?.kill("SIGSTOP"),
    resume: (port) => void find(port).child?.kill("SIGCONT"),
    waitUntilHealthy,
    stop() {
      stopping ??= (async () => {
        for (const n of nodes) n.child?.kill("SIGCONT");
        await Promise.all(nodes.map((n) => stopNode(n, "SIGTERM")));
        live.delete(killAll);
        rmSync(root, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
