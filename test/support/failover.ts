// Node failover on the local platform, shared by services/sdk/failover.test.ts (short) and
// bench/failover.mjs (the recorded run): `gs up --cluster 3` (R3 JetStream), a steady request load
// plus acknowledged JetStream writes, SIGKILL of the nats-server that leads payment's KV stream,
// and afterwards, once the node is back, every acknowledged write checked.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { connect, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { toConnectionOptions } from "../../services/sdk/connection.js";
import { retryWhile } from "../../services/sdk/jetstream-retry.js";
import { decodeToJson, encodeJson } from "../../services/sdk/json-codec.js";
import { defaultRegistry } from "../../services/sdk/runtime.js";
import { createProject, waitFor } from "./local-fleet.js";
import { runCli } from "./run-cli.js";

export interface FailoverOptions {
  /** how long the load runs */
  seconds: number;
  /** when, after the load started, the node is killed */
  killAfterSeconds: number;
  /** service requests per second (a quarter of them payment deposits) */
  rate: number;
  /** `gs up --secure` as well: TLS on connections and routes */
  secure: boolean;
  log?: (line: string) => void;
}

export interface FailoverResult {
  cluster: 3;
  secure: boolean;
  services: string[];
  replicas: { paymentKv: number; events: number };
  killed: { node: string; role: string };
  /** `failed`: no answer even after one retry; `retried`: requests whose first attempt was lost (timed out or had no responder) */
  requests: {
    sent: number;
    ok: number;
    failed: number;
    failedRatio: number;
    retried: number;
    errors: Record<string, number>;
  };
  latencyMs: { p50: number; p99: number; max: number };
  reconnect: { clientMs: number | null; nodeBackMs: number };
  /** distinct errors the payment instances logged (why a request failed, when one did) */
  serviceErrors: string[];
  writes: {
    deposits: { acked: number; lost: number };
    kv: { acked: number; failed: number; lost: number };
    events: { acked: number; failed: number; lost: number };
  };
}

interface Record_ {
  nats: {
    url: string;
    tls?: { ca: string; cert: string; key: string };
    nkey?: string;
    nodes: { name: string; port: number; pid?: number }[];
  };
}

const SERVICES = ["payment", "settings"];
const WRITE_TIMEOUT_MS = 15_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runFailover(opts: FailoverOptions): Promise<FailoverResult> {
  const log = opts.log ?? (() => undefined);
  const project = createProject(SERVICES, { desired: 2 });
  // payment may work on a request as long as its caller waits (the runtime's default is 5 s)
  writeFileSync(
    path.join(project.dir, "gs.yaml"),
    [
      "project: failover",
      "services:",
      "  defaults: { desired: 2 }",
      `  payment: { env: { GS_REQUEST_DEADLINE_MS: "${WRITE_TIMEOUT_MS}" } }`,
      "  settings: {}",
      "",
    ].join("\n"),
  );
  const opened: NatsConnection[] = [];
  try {
    const up = await runCli(
      ["up", "--detach", "--cluster", "3", ...(opts.secure ? ["--secure"] : []), "--timeout", "120s"],
      { cwd: project.dir },
    );
    if (up.code !== 0) throw new Error(`gs up failed: ${up.stderr}`);
    const record = (): Record_ =>
      JSON.parse(readFileSync(path.join(project.dir, ".gs", "local.json"), "utf8")) as Record_;
    const rec = record();
    const creds = { tls: rec.nats.tls, nkey: rec.nats.nkey };
    const open = async (servers: string[], extra: Parameters<typeof connect>[0] = {}) => {
      const nc = await connect({ ...toConnectionOptions({ servers, ...creds, timeout: 5000 }), ...extra });
      opened.push(nc);
      return nc;
    };
    const admin = await open(rec.nats.url.split(","), {
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
    const jsm = await jetstreamManager(admin);
    const kvInfo = await jsm.streams.info("KV_gs_payment");
    const eventsInfo = await jsm.streams.info("EVENTS");
    const victim = kvInfo.cluster?.leader ?? "node1";
    const role = "leader of payment's KV stream (KV_gs_payment)";
    const node = rec.nats.nodes.find((n) => n.name === victim)!;
    log(`fleet up (${SERVICES.join(", ")} x2, 3 nodes${opts.secure ? ", TLS" : ""}); will kill ${victim} (${role})`);

    // the load's connection starts on the node that dies: the worst case for a client
    const victimUrl = `nats://127.0.0.1:${node.port}`;
    const others = rec.nats.url.split(",").filter((u) => u !== victimUrl);
    const nc = await open([victimUrl, ...others], {
      noRandomize: true,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      reconnectJitter: 50,
      reconnectJitterTLS: 100,
    });
    let disconnectedAt: number | undefined;
    let clientMs: number | null = null;
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === "disconnect" && disconnectedAt === undefined) disconnectedAt = performance.now();
        if (s.type === "reconnect" && disconnectedAt !== undefined && clientMs === null)
          clientMs = Math.round(performance.now() - disconnectedAt);
      }
    })();

    const registry = defaultRegistry();
    const depositRpc = registry.rpc("payment.deposit")!;
    const readSubject = "settings.get-schema";
    const readBytes = encodeJson(registry.rpc(readSubject)!.request, {});
    const js = jetstream(nc);
    const kv = await new Kvm(nc).create("failover_probe", { replicas: 3, history: 1 });
    const run = `r${Date.now().toString(36)}`;

    const stats = { sent: 0, ok: 0, failed: 0, retried: 0, errors: {} as Record<string, number> };
    // NATS request/reply is at-most-once: a request in flight on the node that dies is lost. The
    // fleet's clients retry once what is safe to retry (reads; writes carry an idempotency key).
    // A write waits out the election of a new stream leader (nats-server's raft: 4-9 s after a
    // leader dies without stepping down), so writes get WRITE_TIMEOUT_MS, reads 2 s.
    const request = async (subject: string, data: Uint8Array, timeout: number) => {
      let m: Msg;
      try {
        m = await nc.request(subject, data, { timeout });
      } catch (err) {
        if (!/timeout|no responders/i.test((err as Error).message)) throw err;
        stats.retried++;
        m = await nc.request(subject, data, { timeout });
      }
      // payment answers 409 "still in progress; retry it" while the first attempt of the same
      // idempotency key is still being applied (it waits out the election): do as it says, briefly;
      // likewise 503 "temporarily unavailable" (JetStream without a leader): reads are safe to retry,
      // deposits carry an idempotency key
      const retryable = () => {
        const code = m.headers?.get("Nats-Service-Error-Code");
        return (code === "409" && /in progress/.test(m.headers?.get("Nats-Service-Error") ?? "")) || code === "503";
      };
      for (let i = 0; i < 10 && retryable(); i++) {
        await new Promise((r) => setTimeout(r, 500));
        m = await nc.request(subject, data, { timeout });
      }
      return m;
    };
    const latencies: number[] = [];
    const deposits: { key: string; txn: string; player: string }[] = [];
    const kvWrites = { acked: [] as string[], failed: 0 };
    const evWrites = { acked: [] as { seq: number; data: string }[], failed: 0 };
    const inFlight = new Set<Promise<void>>();
    const track = (p: Promise<void>) => {
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    };
    const fail = (why: string) => {
      stats.failed++;
      stats.errors[why] = (stats.errors[why] ?? 0) + 1;
    };

    let tick = 0;
    const timer = setInterval(() => {
      const n = tick++;
      stats.sent++;
      const t0 = performance.now();
      const isDeposit = n % 4 === 0;
      const player = `p${n % 8}`;
      const key = `${run}-${n}`;
      const data = isDeposit
        ? encodeJson(depositRpc.request, {
            playerId: player,
            amount: { currency: "GOLD", minorUnits: "1" },
            idempotencyKey: key,
          })
        : readBytes;
      track(
        request(isDeposit ? "payment.deposit" : readSubject, data, isDeposit ? WRITE_TIMEOUT_MS : 2000).then(
          (m) => {
            latencies.push(performance.now() - t0);
            const code = m.headers?.get("Nats-Service-Error-Code");
            // an empty get-schema is valid; any error reply from either rpc is a failure
            if (code) return fail(`${code} ${m.headers?.get("Nats-Service-Error") ?? ""}`.trim());
            stats.ok++;
            if (isDeposit) {
              const r = decodeToJson(depositRpc.response, m.data) as { transaction?: { transactionId?: string } };
              deposits.push({ key, txn: r.transaction?.transactionId ?? "", player });
            }
          },
          (err: Error) => fail(err.message),
        ),
      );
      if (n % 10 === 0) {
        const k = `k${n}`;
        // written the way the SDK writes: retried while the stream has no leader (services/sdk/jetstream-retry.ts)
        track(
          retryWhile(() => kv.put(k, `v${n}`)).then(
            () => void kvWrites.acked.push(k),
            () => void kvWrites.failed++,
          ),
        );
        const body = `${run}:${n}`;
        track(
          retryWhile(() => js.publish("events.failover-probe.write", body)).then(
            (ack) => void evWrites.acked.push({ seq: ack.seq, data: body }),
            () => void evWrites.failed++,
          ),
        );
      }
    }, 1000 / opts.rate);

    await sleep(opts.killAfterSeconds * 1000);
    const killedAt = performance.now();
    process.kill(node.pid!, "SIGKILL");
    log(`killed ${victim} (pid ${node.pid})`);
    // the supervisor restarts it on the same port and data; "back" = it runs and every replica is current
    const back = waitFor(
      `${victim} back with current replicas`,
      async () => {
        const pid = record().nats.nodes.find((n) => n.name === victim)?.pid;
        if (!pid || pid === node.pid) return undefined;
        try {
          const infos = await Promise.all(
            ["KV_gs_payment", "KV_failover_probe", "EVENTS"].map((s) => jsm.streams.info(s)),
          );
          const current = (i: (typeof infos)[number]) =>
            (i.cluster?.replicas ?? []).length === 2 && i.cluster!.replicas!.every((r) => r.current && !r.offline);
          return infos.every(current) ? performance.now() : undefined;
        } catch {
          return undefined;
        }
      },
      60_000,
      100,
    );
    await sleep(Math.max(0, (opts.seconds - opts.killAfterSeconds) * 1000));
    clearInterval(timer);
    await Promise.all(inFlight);
    const nodeBackMs = Math.round((await back) - killedAt);
    log(`load stopped: ${stats.sent} requests, ${stats.failed} failed; ${victim} back after ${nodeBackMs} ms`);

    // every acknowledged write, read back through a connection that prefers the node that died
    const check = await open([victimUrl, ...others], { noRandomize: true });
    const kv2 = await new Kvm(check).open("failover_probe");
    let kvLost = 0;
    for (const k of kvWrites.acked) {
      const e = await kv2.get(k);
      if (!e || e.string() !== `v${k.slice(1)}`) kvLost++;
    }
    const jsm2 = await jetstreamManager(check);
    let evLost = 0;
    for (const w of evWrites.acked) {
      let got: string | undefined;
      for (let attempt = 0; attempt < 5 && got === undefined; attempt++) {
        const m = await jsm2.streams
          .getMessage("EVENTS", { seq: w.seq })
          .catch((err: Error) => (/no message found/i.test(err.message) ? null : undefined));
        if (m === null) break;
        if (m) got = new TextDecoder().decode(m.data);
        else await sleep(200);
      }
      if (got !== w.data) {
        evLost++;
        log(`event seq ${w.seq}: expected ${w.data}, found ${got ?? "nothing"}`);
      }
    }
    let depositsLost = 0;
    for (let i = 0; i < deposits.length; i += 25) {
      await Promise.all(
        deposits.slice(i, i + 25).map(async (d) => {
          const m = await check.request(
            "payment.deposit",
            encodeJson(depositRpc.request, {
              playerId: d.player,
              amount: { currency: "GOLD", minorUnits: "1" },
              idempotencyKey: d.key,
            }),
            { timeout: 5000 },
          );
          const r = decodeToJson(depositRpc.response, m.data) as {
            replayed?: boolean;
            transaction?: { transactionId?: string };
          };
          if (!r.replayed || r.transaction?.transactionId !== d.txn) depositsLost++;
        }),
      );
    }
    const serviceErrors = new Set<string>();
    const logs = path.join(project.dir, ".gs", "logs", "payment");
    for (const f of readdirSync(logs)) {
      for (const line of readFileSync(path.join(logs, f), "utf8").split("\n")) {
        const m = /"level":"error".*?"message":"([^"]*)"/.exec(line);
        if (m && serviceErrors.size < 5) serviceErrors.add(m[1]!);
      }
    }
    latencies.sort((a, b) => a - b);
    const q = (p: number) =>
      Math.round((latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0) * 10) / 10;
    return {
      cluster: 3,
      secure: opts.secure,
      services: SERVICES,
      replicas: { paymentKv: kvInfo.config.num_replicas, events: eventsInfo.config.num_replicas },
      killed: { node: victim, role },
      requests: { ...stats, failedRatio: stats.sent ? stats.failed / stats.sent : 0 },
      latencyMs: { p50: q(0.5), p99: q(0.99), max: q(1) },
      reconnect: { clientMs, nodeBackMs },
      serviceErrors: [...serviceErrors],
      writes: {
        deposits: { acked: deposits.length, lost: depositsLost },
        kv: { acked: kvWrites.acked.length, failed: kvWrites.failed, lost: kvLost },
        events: { acked: evWrites.acked.length, failed: evWrites.failed, lost: evLost },
      },
    };
  } finally {
    await Promise.all(opened.map((c) => c.close().catch(() => undefined)));
    await runCli(["down", "--purge"], { cwd: project.dir });
    project.remove();
  }
}
