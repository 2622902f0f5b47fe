// nats-server for the local fleet: one node, or a 3- or 5-node JetStream cluster, on free loopback ports.
// Each node also has a system account whose one user is gs's (`gs status` reads servers, JetStream
// and streams through $SYS.REQ.SERVER.PING.*) and a monitoring port on loopback (/varz, /jsz), the
// fallback when the system account cannot be used; both are recorded in .gs/local.json.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { connect, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node";
import { OperationError, type GsErrorOptions } from "../../output/errors.js";
import { LoggedChild, type ChildExit } from "./logged-child.js";
import { sleep } from "./processes.js";
import { fleetUsers, tlsConfig, type FleetIdentity, type FleetSecurity } from "./security/fleet-security.js";

export interface NatsNodeSpec {
  name: string;
  port: number;
  clusterPort?: number;
  /** the HTTP monitoring port (HTTPS with the fleet's mutual TLS when secure), on 127.0.0.1 */
  monitorPort: number;
  dir: string;
  configFile: string;
  logFile: string;
}

/** GS_NATS_SERVER, else nats-server on PATH; a one-line error with the install command when missing. */
export function natsServerBinary(env: NodeJS.ProcessEnv = process.env): string {
  const bin = env.GS_NATS_SERVER || "nats-server";
  const probe = spawnSync(bin, ["--version"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    throw new OperationError(
      `nats-server not found${env.GS_NATS_SERVER ? ` at GS_NATS_SERVER=${env.GS_NATS_SERVER}` : " on PATH"}`,
      {
        hint: "install it with `apt-get install nats-server`, or set GS_NATS_SERVER to its path",
        code: "nats_server_missing",
      },
    );
  }
  return bin;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:port right now. */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: "127.0.0.1" }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

/** The system account of the local fleet's nats-server: its only user is gs's `system` identity. */
export const SYSTEM_ACCOUNT = "SYS";
/** `gs up --secure`: the account of the operator and the services (without --secure they are in the global account). */
export const FLEET_ACCOUNT = "FLEET";

/**
 * The accounts: the system account with gs's user in it, and
 * - without --secure, nothing else: nats-server then lets clients without credentials into the
 *   global account, where the services and their JetStream data are (it adds a no-auth user for the
 *   global account when the system account is the only one declared);
 * - with --secure, the fleet's own account with its users and JetStream. A third account keeps
 *   that no-auth user out (nats-server 2.9 adds it even beside an `authorization` block).
 */
function accountsConfig(system: FleetIdentity, security?: FleetSecurity): string[] {
  const accounts: Record<string, object> = { [SYSTEM_ACCOUNT]: { users: [{ nkey: system.publicKey }] } };
  if (security) accounts[FLEET_ACCOUNT] = { jetstream: "enabled", users: fleetUsers(security) };
  return [`system_account: ${SYSTEM_ACCOUNT}`, `accounts ${JSON.stringify(accounts, null, 1)}`];
}

/**
 * Node specs on fresh free ports, config files written: the system account with gs's `system` user,
 * a monitoring port, and TLS with per-service users when `security` is given.
 */
export async function planNodes(
  size: 1 | 3 | 5,
  natsDir: string,
  logsDir: string,
  system: FleetIdentity,
  security?: FleetSecurity,
): Promise<NatsNodeSpec[]> {
  const nodes: NatsNodeSpec[] = [];
  // the OS may hand out a port it just gave back: one port twice in a plan would have a client
  // connect to a route listener ("attempted to connect to route port")
  const taken = new Set<number>();
  const port = async (): Promise<number> => {
    for (;;) {
      const p = await freePort();
      if (taken.has(p)) continue;
      taken.add(p);
      return p;
    }
  };
  for (let i = 1; i <= size; i++) {
    const name = `node${i}`;
    const dir = path.join(natsDir, name);
    nodes.push({
      name,
      port: await port(),
      clusterPort: size > 1 ? await port() : undefined,
      monitorPort: await port(),
      dir,
      configFile: path.join(dir, "nats-server.conf"),
      logFile: path.join(logsDir, "nats", `${name}.log`),
    });
  }
  for (const n of nodes) {
    mkdirSync(n.dir, { recursive: true });
    const lines = [
      `server_name: ${n.name}`,
      `listen: "127.0.0.1:${n.port}"`,
      // secure: the monitoring port speaks the same mutual TLS as client connections
      `${security ? "https" : "http"}: "127.0.0.1:${n.monitorPort}"`,
      `jetstream { store_dir: ${JSON.stringify(path.join(n.dir, "jetstream"))} }`,
      ...accountsConfig(system, security),
    ];
    if (security) lines.push(tlsConfig(security));
    if (n.clusterPort) {
      const routes = nodes.filter((o) => o !== n).map((o) => JSON.stringify(`nats://127.0.0.1:${o.clusterPort}`));
      // routes speak mutual TLS with the same certificate: a process without it cannot join the cluster
      const tls = security ? `, ${tlsConfig(security)}` : "";
      lines.push(`cluster { name: gs, listen: "127.0.0.1:${n.clusterPort}", routes: [${routes.join(", ")}]${tls} }`);
    }
    writeFileSync(n.configFile, lines.join("\n") + "\n", { mode: 0o600 });
  }
  return nodes;
}

/** Each node's monitoring endpoint, in node order. */
export function monitoringUrls(nodes: NatsNodeSpec[], secure: boolean): string[] {
  return nodes.map((n) => `${secure ? "https" : "http"}://127.0.0.1:${n.monitorPort}`);
}

export function natsUrl(nodes: NatsNodeSpec[]): string {
  return natsUrlFrom(nodes, 0);
}

/** The node list starting at node `first`: instances spread over the nodes, so one node's loss never takes every instance of a service at once. */
export function natsUrlFrom(nodes: NatsNodeSpec[], first: number): string {
  const n = nodes.length;
  return Array.from({ length: n }, (_, i) => `nats://127.0.0.1:${nodes[(first + i) % n]!.port}`).join(",");
}

export function spawnNode(bin: string, node: NatsNodeSpec, cwd: string): LoggedChild {
  return new LoggedChild({ command: bin, args: ["-c", node.configFile], env: process.env, cwd, logFile: node.logFile });
}

/** Wait until every node accepts connections and JetStream answers (a cluster has elected its meta leader). */
export async function waitNatsReady(
  nodes: NatsNodeSpec[],
  children: LoggedChild[],
  timeoutMs: number,
  connectOpts: Partial<ConnectionOptions> = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const failed = (): { node: NatsNodeSpec; exit: ChildExit | undefined; lines: string[] } | undefined => {
    const i = children.findIndex((c) => !c.running);
    return i < 0 ? undefined : { node: nodes[i]!, exit: undefined, lines: children[i]!.lastLines() };
  };
  for (const n of nodes) {
    while (!(await canConnect(n.port))) {
      const f = failed();
      if (f) throw new NatsStartError(`nats-server ${f.node.name} exited: ${f.lines.at(-1) ?? "no output"}`);
      if (Date.now() > deadline)
        throw new NatsStartError(`nats-server ${n.name} did not accept connections on port ${n.port}`);
      await sleep(25);
    }
  }
  let nc: NatsConnection | undefined;
  try {
    nc = await connect({
      ...connectOpts,
      servers: natsUrl(nodes).split(","),
      timeout: 2000,
      maxReconnectAttempts: 0,
      reconnect: false,
    }).catch((err: Error) => {
      // something else answered on a node's port (taken between the probe and the bind): other ports
      throw new NatsStartError(`could not connect to the new nats-server: ${err.message}`);
    });
    for (;;) {
      try {
        const reply = await nc.request("$JS.API.INFO", "", { timeout: 1000 });
        const info = reply.json<{ error?: { description?: string } }>();
        if (!info.error) return;
      } catch {
        // no meta leader yet
      }
      const f = failed();
      if (f) throw new NatsStartError(`nats-server ${f.node.name} exited: ${f.lines.at(-1) ?? "no output"}`);
      if (Date.now() > deadline)
        throw new NatsStartError(`JetStream did not become ready within ${Math.round(timeoutMs / 1000)}s`);
      await sleep(200);
    }
  } finally {
    await nc?.close();
  }
}

/** nats-server did not come up; retried on other ports when it lost a port race. */
export class NatsStartError extends OperationError {
  override name = "NatsStartError";
  constructor(message: string, opts: GsErrorOptions = {}) {
    super(message, { code: "nats_start_failed", ...opts });
  }
}
