// `gs up --state redis`: a Redis Cluster of redis-server processes on free loopback ports (N primaries,
// one replica each), formed by `redis-cli --cluster create`, supervised like nats-server. Data lives in
// .gs/redis/<node>/ (AOF): the next `gs up` starts the same nodes on the same ports when they are free,
// so the state survives `gs down` (`gs down --purge` removes it). With --secure every node requires a
// password (requirepass; masterauth between replicas and primaries), fresh on every start.
import { execFile, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { OperationError, type GsErrorOptions } from "../../output/errors.js";
import { readRedisLayer, type RedisLayer } from "../../redis-layer/redis-layer.js";
import { describeExit } from "./exit-reason.js";
import { LoggedChild } from "./logged-child.js";
import { canConnect, freePort } from "./nats-cluster.js";
import { sleep } from "./processes.js";
import { BACKOFF, backoffDelay, crashStreak } from "./restart-backoff.js";

export interface RedisClusterSpec {
  /** primaries; each gets one replica */
  shards: number;
  serverBin: string;
  cliBin: string;
  /** `gs up --secure`: the file (0600) holding the password every node requires */
  passwordFile?: string;
}

export interface RedisNodeSpec {
  name: string;
  port: number;
  /** the cluster bus port */
  busPort: number;
  dir: string;
  configFile: string;
  logFile: string;
}

/** A primary that died is restarted once its replica serves its slots, or after this long without one. */
const PROMOTION_WAIT_MS = 30_000;
/** How long a silent node takes to be failed over (Redis's default is 15 s: too long for a local fleet). */
const NODE_TIMEOUT_MS = 2000;

/** GS_REDIS_SERVER / GS_REDIS_CLI, else redis-server / redis-cli on PATH; a one-line error with the install command when missing. */
export function redisBinaries(env: NodeJS.ProcessEnv = process.env): { serverBin: string; cliBin: string } {
  const find = (name: string, variable: string, pkg: string): string => {
    const bin = env[variable] || name;
    const probe = spawnSync(bin, ["--version"], { encoding: "utf8" });
    if (probe.error || probe.status !== 0) {
      throw new OperationError(`${name} not found${env[variable] ? ` at ${variable}=${env[variable]}` : " on PATH"}`, {
        hint: `\`gs up --state redis\` needs it: install it with \`apt-get install ${pkg}\`, or set ${variable} to its path`,
        code: "redis_missing",
      });
    }
    return bin;
  };
  return {
    serverBin: find("redis-server", "GS_REDIS_SERVER", "redis-server"),
    cliBin: find("redis-cli", "GS_REDIS_CLI", "redis-tools"),
  };
}

/** A fresh password for a secure fleet's Redis, in a 0600 file. */
export function createRedisPassword(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, "redis.password");
  writeFileSync(file, randomBytes(24).toString("hex") + "\n", { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

export class RedisStartError extends OperationError {
  override name = "RedisStartError";
  constructor(message: string, opts: GsErrorOptions = {}) {
    super(message, { code: "redis_start_failed", ...opts });
  }
}

interface ClusterFile {
  shards: number;
  nodes: { name: string; port: number; busPort: number }[];
}

export class LocalRedisCluster {
  nodes: RedisNodeSpec[] = [];
  private children: (LoggedChild | undefined)[] = [];
  private stopping = false;
  private readonly password: string | undefined;

  constructor(
    private readonly spec: RedisClusterSpec,
    private readonly dirs: { redis: string; logs: string; root: string },
    private readonly log: (line: string) => void,
  ) {
    this.password = spec.passwordFile ? readFileSync(spec.passwordFile, "utf8").trim() : undefined;
  }

  /** Start every node (the previous run's, when their ports are free), form the cluster if new, wait until healthy. */
  async start(timeoutMs: number): Promise<void> {
    const previous = this.reusable();
    const free = previous && (await Promise.all(previous.flatMap((n) => [n.port, n.busPort]).map(canConnect)));
    if (previous && free && free.every((taken) => !taken)) {
      this.nodes = previous;
      try {
        await this.spawnAll();
        await this.waitHealthy(timeoutMs);
        this.log(
          `Redis Cluster ready on ${this.addresses()} (${this.spec.shards} primaries with a replica each, data kept)`,
        );
        this.watchAll();
        return;
      } catch (err) {
        this.log(`the previous Redis Cluster did not come back (${(err as Error).message}); starting a new one`);
        await this.stopNodes();
      }
    }
    if (previous && !free?.every((taken) => !taken))
      this.log("the previous Redis Cluster's ports are taken: starting a new, empty one");
    for (let attempt = 0; ; attempt++) {
      rmSync(this.dirs.redis, { recursive: true, force: true });
      this.nodes = await this.planNodes();
      try {
        await this.spawnAll();
        await this.create();
        await this.waitHealthy(timeoutMs);
        break;
      } catch (err) {
        await this.stopNodes();
        // a free port can be taken between the probe and the bind: try again on fresh ports
        if (!(err instanceof RedisStartError) || attempt >= 2) throw err;
      }
    }
    writeFileSync(
      path.join(this.dirs.redis, "cluster.json"),
      JSON.stringify({
        shards: this.spec.shards,
        nodes: this.nodes.map((n) => ({ name: n.name, port: n.port, busPort: n.busPort })),
      } satisfies ClusterFile),
    );
    this.log(`Redis Cluster ready on ${this.addresses()} (${this.spec.shards} primaries with a replica each)`);
    this.watchAll();
  }

  /** GS_REDIS_URL for the services: every node as a seed, with the password when there is one. */
  serviceUrl(): string {
    const auth = this.password ? `:${encodeURIComponent(this.password)}@` : "";
    return this.nodes.map((n) => `redis://${auth}127.0.0.1:${n.port}`).join(",");
  }

  pids(): { pid: number; what: string }[] {
    const out: { pid: number; what: string }[] = [];
    this.children.forEach(
      (c, i) => c?.pid && c.running && out.push({ pid: c.pid, what: `redis-server ${this.nodes[i]!.name}` }),
    );
    return out;
  }

  /** For the fleet record: where each node listens and its pid (never the password: its file). */
  record(): { nodes: { name: string; port: number; busPort: number; pid?: number }[]; passwordFile?: string } {
    return {
      nodes: this.nodes.map((n, i) => ({
        name: n.name,
        port: n.port,
        busPort: n.busPort,
        ...(this.children[i]?.running && this.children[i]!.pid ? { pid: this.children[i]!.pid } : {}),
      })),
      ...(this.spec.passwordFile ? { passwordFile: this.spec.passwordFile } : {}),
    };
  }

  read(timeoutMs = 1000): Promise<RedisLayer> {
    return readRedisLayer(this.nodes, { password: this.password, timeoutMs });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.stopNodes();
  }

  // ---- nodes ------------------------------------------------------------------------------------

  private addresses(): string {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`).join(",");
  }

  /** The previous run's nodes, when the cluster file matches this spec and every port is free again. */
  private reusable(): RedisNodeSpec[] | undefined {
    let file: ClusterFile;
    try {
      file = JSON.parse(readFileSync(path.join(this.dirs.redis, "cluster.json"), "utf8")) as ClusterFile;
    } catch {
      return undefined;
    }
    if (file.shards !== this.spec.shards || file.nodes?.length !== this.spec.shards * 2) return undefined;
    return file.nodes.map((n) => this.nodeSpec(n.name, n.port, n.busPort));
  }

  private nodeSpec(name: string, port: number, busPort: number): RedisNodeSpec {
    const dir = path.join(this.dirs.redis, name);
    return {
      name,
      port,
      busPort,
      dir,
      configFile: path.join(dir, "redis.conf"),
      logFile: path.join(this.dirs.logs, "redis", `${name}.log`),
    };
  }

  private async planNodes(): Promise<RedisNodeSpec[]> {
    const taken = new Set<number>();
    // the OS can hand the same free port to two probes in a row
    const port = async () => {
      for (;;) {
        const p = await freePort();
        if (!taken.has(p)) {
          taken.add(p);
          return p;
        }
      }
    };
    const nodes: RedisNodeSpec[] = [];
    for (let i = 1; i <= this.spec.shards * 2; i++) nodes.push(this.nodeSpec(`redis${i}`, await port(), await port()));
    return nodes;
  }

  private writeConfig(n: RedisNodeSpec): void {
    mkdirSync(n.dir, { recursive: true, mode: 0o700 });
    const lines = [
      `port ${n.port}`,
      `bind 127.0.0.1`,
      // explicit: redis would take port + 10000, which may belong to anybody
      `cluster-port ${n.busPort}`,
      `cluster-enabled yes`,
      `cluster-config-file ${JSON.stringify(path.join(n.dir, "nodes.conf"))}`,
      `cluster-node-timeout ${NODE_TIMEOUT_MS}`,
      `dir ${JSON.stringify(n.dir)}`,
      `appendonly yes`,
      `appendfsync everysec`,
      `save ""`,
      // a primary otherwise waits 5 s for more replicas before it sends the first full sync
      `repl-diskless-sync-delay 0`,
      // the process title keeps the config's path: `gs down` knows a leftover node as ours by it
      `proc-title-template "{title} {listen-addr} {server-mode} {config-file}"`,
      `daemonize no`,
      `logfile ""`,
    ];
    if (this.password) lines.push(`requirepass ${this.password}`, `masterauth ${this.password}`);
    writeFileSync(n.configFile, lines.join("\n") + "\n", { mode: 0o600 });
    chmodSync(n.configFile, 0o600);
  }

  private spawnNode(i: number): LoggedChild {
    const n = this.nodes[i]!;
    this.writeConfig(n);
    const child = new LoggedChild({
      command: this.spec.serverBin,
      args: [n.configFile],
      env: process.env,
      cwd: this.dirs.root,
      logFile: n.logFile,
    });
    this.children[i] = child;
    return child;
  }

  private async spawnAll(): Promise<void> {
    if (this.stopping) throw new OperationError("the local fleet is stopping", { code: "interrupted" });
    this.children = [];
    const deadline = Date.now() + 10_000;
    await Promise.all(
      this.nodes.map(async (n, i) => {
        const child = this.spawnNode(i);
        while (!(await canConnect(n.port))) {
          if (!child.running)
            throw new RedisStartError(`redis-server ${n.name} exited: ${child.lastLines().at(-1) ?? "no output"}`);
          if (Date.now() > deadline)
            throw new RedisStartError(`redis-server ${n.name} did not accept connections on port ${n.port}`);
          await sleep(25);
        }
      }),
    );
  }

  private create(): Promise<void> {
    const args = [
      "--cluster",
      "create",
      ...this.nodes.map((n) => `127.0.0.1:${n.port}`),
      "--cluster-replicas",
      "1",
      "--cluster-yes",
    ];
    return new Promise((resolve, reject) => {
      execFile(
        this.spec.cliBin,
        args,
        // REDISCLI_AUTH: the password never appears on a command line
        {
          timeout: 30_000,
          encoding: "utf8",
          env: { ...process.env, ...(this.password ? { REDISCLI_AUTH: this.password } : {}) },
        },
        (err, stdout, stderr) => {
          const out = `${stdout}${stderr}`;
          if (err || /\[ERR\]/.test(out))
            reject(
              new RedisStartError(`redis-cli --cluster create failed: ${out.trim().split("\n").pop() ?? err?.message}`),
            );
          else resolve();
        },
      );
    });
  }

  /** Until every node says cluster_state:ok, serves or replicates, and every replica is in sync. */
  private async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let why = "";
    for (;;) {
      const dead = this.children.findIndex((c) => !c?.running);
      if (dead >= 0)
        throw new RedisStartError(
          `redis-server ${this.nodes[dead]!.name} exited: ${this.children[dead]?.lastLines().at(-1) ?? "no output"}`,
        );
      const layer = await this.read(1000);
      const primaries = layer.nodes.filter((n) => n.role === "primary" && n.slots > 0).length;
      if (layer.problems.length === 0 && layer.clusterState === "ok" && primaries === this.spec.shards) {
        if (layer.nodes.every((n) => n.role === "primary" || n.inSync)) return;
        why = "replicas not yet in sync";
      } else why = layer.problems[0]?.message ?? `cluster_state ${layer.clusterState ?? "unknown"}`;
      if (Date.now() > deadline)
        throw new OperationError(
          `the Redis Cluster did not become healthy within ${Math.round(timeoutMs / 1000)}s: ${why}`,
          {
            code: "redis_start_failed",
          },
        );
      await sleep(200);
    }
  }

  private watchAll(): void {
    this.children.forEach((c, i) => c && this.watch(c, i));
  }

  /**
   * A node that exits is started again on its port and data. Not at once if it was a primary: with
   * its writes since the last fsync gone it would come back as the primary of its slots and its
   * replica would copy the loss. It waits until the replica has taken over (it then rejoins as a
   * replica of it), or until it is clear none will.
   */
  private watch(child: LoggedChild, i: number, failures = 0): void {
    void child.exited.then(async (exit) => {
      if (this.stopping) return;
      const node = this.nodes[i]!;
      const streak = crashStreak(failures, Date.now() - child.startedAt);
      const delay = backoffDelay(streak);
      this.log(`redis-server ${node.name} ${describeExit(exit)}: ${child.lastLines().at(-1) ?? ""}`);
      await this.awaitTakeover(node);
      await sleep(delay);
      if (this.stopping) return;
      this.log(`restarting redis-server ${node.name}${streak >= BACKOFF.crashLoopAfter ? " (crash-looping)" : ""}`);
      this.watch(this.spawnNode(i), i, streak);
    });
  }

  /** Returns once no running node counts `node` as the primary of any slot (or after PROMOTION_WAIT_MS). */
  private async awaitTakeover(node: RedisNodeSpec): Promise<void> {
    const deadline = Date.now() + PROMOTION_WAIT_MS;
    let logged = false;
    while (!this.stopping && Date.now() < deadline) {
      const layer = await this.read(500);
      const others = layer.nodes.filter((n) => n.name !== node.name && n.state === "up");
      // the others serve every slot between them: the dead node's slots moved (or it had none)
      const served = others.filter((n) => n.role === "primary").reduce((s, n) => s + n.slots, 0);
      if (served >= 16384) return;
      if (!logged) this.log(`waiting for a replica of redis-server ${node.name} to take over its slots`);
      logged = true;
      await sleep(250);
    }
    if (!this.stopping) this.log(`no replica took over the slots of redis-server ${node.name}; restarting it`);
  }

  private async stopNodes(): Promise<void> {
    await Promise.all(this.children.map((c) => c?.stop(5000)));
  }
}
