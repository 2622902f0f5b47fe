// Game days: stacked faults on a fleet under a steady client load, each proved by a test and recorded
// longer by bench/game-days.mjs (bench/game-days.json). The load is a client's: stateful writes (payment
// deposits and purchases, each with an idempotency key; sagas through orchestration) and a stateless rpc
// (settings.get-schema), retried as a client retries (timeouts, no responders, 503, 409 "in progress"),
// every acknowledged write recorded. After each fault the invariants are checked over every record:
// every acknowledged payment is in the ledger once, each wallet's balance equals its ledger, each saga
// completed or compensated.
//   fleet A (`gs up --cluster 3`, every service): a NATS node killed mid-deploy; the deploying CLI killed
//   fleet B (`gs up`, payment on a Redis Cluster): a Redis primary killed; instances killed mid-saga
//   the ECS simulator: the deploying CLI killed, then the next deploy reconciles
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { Svcm, type Service } from "@nats-io/services";
import { FleetClient } from "../../services/sdk/client.js";
import { toConnectionOptions } from "../../services/sdk/connection.js";
import { ServiceError } from "../../services/sdk/errors.js";
import { defaultRegistry } from "../../services/sdk/runtime.js";
import type { DeployJson } from "../../src/commands/deploy.js";
import type { ServicesJson } from "../../src/commands/services.js";
import type { StatusJson } from "../../src/commands/status.js";
import { imageProject } from "../../src/lib/build/image-project.js";
import { planImage } from "../../src/lib/build/image.js";
import { EcsSimulator, writeEcsProject } from "./ecs-simulator.js";
import { startCli } from "./live-process.js";
import { createProject, existingServices, isAlive, waitFor, type TestProject } from "./local-fleet.js";
import { natsServerVersion, startNatsServer } from "./nats-server.js";
import { keySlot, startRedisCluster, type TestRedisCluster } from "./redis-cluster.js";
import { runCli } from "./run-cli.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Log = (line: string) => void;
const quiet: Log = () => undefined;

// ---- the client's load ----------------------------------------------------------------------------

/** How long a client keeps retrying one request before it counts as failed. */
const RETRY_BUDGET_MS = 30_000;
/** A write may wait out a JetStream leader election (4-9 s) or a Redis failover. */
const WRITE_TIMEOUT_MS = 15_000;
const READ_TIMEOUT_MS = 2_000;

/** What a client retries: the request was lost or refused for now, and every write carries its idempotency key. */
function retryable(err: unknown): boolean {
  if (!(err instanceof ServiceError)) return false;
  return err.code === 503 || err.code === 504 || (err.code === 409 && /in progress/.test(err.message));
}

/** `fn` until it succeeds, retried as the load retries (for the setup of a scenario). */
async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  for (let tries = 0; ; tries++) {
    try {
      return await fn();
    } catch (err) {
      if (!retryable(err) || performance.now() - started > RETRY_BUDGET_MS) throw err;
      await sleep(Math.min(100 * 2 ** tries, 1000));
    }
  }
}

export interface LoadFigures {
  ratePerSecond: number;
  seconds: number;
  sent: number;
  ok: number;
  /** no success within the retry budget, or an error reply that is not retryable */
  failed: number;
  failedRatio: number;
  /** requests that succeeded only after one or more retries */
  retried: number;
  byRpc: Record<string, { sent: number; failed: number; retried: number }>;
  errors: Record<string, number>;
  latencyMs: { p50: number; p99: number; max: number };
  /** when things went wrong, for a failed run's report: seconds since the load began */
  timeline: {
    /** what the scenario did (a node killed, the deploy's end), by `mark` */
    marks: Record<string, number>;
    /** failed requests by the second their first attempt was sent */
    failedBySecond: Record<string, number>;
    /** the first failed requests, each attempt's error and when it came (`504 timed out @20.3`) */
    firstFailures: { rpc: string; sentAt: number; attempts: string[] }[];
    /** the slowest requests that succeeded, the same way, with how long each took */
    slowest: { rpc: string; sentAt: number; ms: number; attempts: string[] }[];
  };
}

/** One request of the load: a single attempt, retried by the load; it records what it must once it succeeds. */
export interface LoadOp {
  rpc: string;
  attempt(n: number): Promise<void>;
}

export interface RunningLoad {
  /** note on the load's timeline that `label` happened now */
  mark(label: string): void;
  stop(): Promise<LoadFigures>;
}

/** `ops` in turn at `rate` requests per second, each retried as a client would. */
export function startLoad(rate: number, ops: LoadOp[]): RunningLoad {
  const t0 = performance.now();
  const f = { sent: 0, ok: 0, failed: 0, retried: 0 };
  const byRpc: LoadFigures["byRpc"] = {};
  const errors: Record<string, number> = {};
  const latencies: number[] = [];
  const inFlight = new Set<Promise<void>>();
  const since = (t: number) => Math.round((t - t0) / 100) / 10;
  const timeline: LoadFigures["timeline"] = { marks: {}, failedBySecond: {}, firstFailures: [], slowest: [] };
  const errorOf = (err: unknown) =>
    `${err instanceof ServiceError ? `${err.code} ` : ""}${(err as Error).message}`.slice(0, 160);
  let n = 0;
  const timer = setInterval(() => {
    const i = n++;
    const op = ops[i % ops.length]!;
    const rpc = (byRpc[op.rpc] ??= { sent: 0, failed: 0, retried: 0 });
    f.sent++;
    rpc.sent++;
    const started = performance.now();
    const attempts: string[] = [];
    const p = (async () => {
      let tries = 0;
      for (;;) {
        try {
          await op.attempt(i);
          break;
        } catch (err) {
          attempts.push(`${errorOf(err).slice(0, 60)} @${since(performance.now())}`);
          if (!retryable(err) || performance.now() - started > RETRY_BUDGET_MS) throw err;
          await sleep(Math.min(100 * 2 ** tries++, 1000));
        }
      }
      if (tries) {
        f.retried++;
        rpc.retried++;
      }
    })().then(
      () => {
        f.ok++;
        const ms = performance.now() - started;
        latencies.push(ms);
        if (timeline.slowest.length < 5 || ms > timeline.slowest[4]!.ms) {
          timeline.slowest.push({ rpc: op.rpc, sentAt: since(started), ms: Math.round(ms), attempts });
          timeline.slowest.sort((a, b) => b.ms - a.ms).splice(5);
        }
      },
      (err: Error) => {
        f.failed++;
        rpc.failed++;
        const why = `${op.rpc}: ${errorOf(err)}`;
        errors[why] = (errors[why] ?? 0) + 1;
        const second = String(Math.floor(since(started)));
        timeline.failedBySecond[second] = (timeline.failedBySecond[second] ?? 0) + 1;
        if (timeline.firstFailures.length < 5)
          timeline.firstFailures.push({ rpc: op.rpc, sentAt: since(started), attempts });
      },
    );
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  }, 1000 / rate);
  return {
    mark(label) {
      timeline.marks[label] = since(performance.now());
    },
    async stop() {
      clearInterval(timer);
      const seconds = since(performance.now());
      await Promise.all(inFlight);
      latencies.sort((a, b) => a - b);
      const q = (p: number) =>
        Math.round((latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0) * 10) / 10;
      return {
        ratePerSecond: rate,
        seconds,
        ...f,
        failedRatio: f.sent ? f.failed / f.sent : 0,
        byRpc,
        errors,
        latencyMs: { p50: q(0.5), p99: q(0.99), max: q(1) },
        timeline,
      };
    },
  };
}

/** The stateless rpc of the load. */
export function readSchema(client: FleetClient): LoadOp {
  return {
    rpc: "settings.get-schema",
    attempt: async () => void (await client.call("settings.get-schema", {}, { timeout: READ_TIMEOUT_MS })),
  };
}

// ---- wallets and their ledger ----------------------------------------------------------------------

interface Money {
  currency: string;
  minorUnits: string;
}
interface Txn {
  transactionId: string;
  playerId: string;
  kind: string;
  status: string;
  amount: Money;
  idempotencyKey: string;
  sequence: string;
}
interface AckedPayment {
  kind: "deposit" | "purchase";
  player: string;
  key: string;
  txnId: string;
  /** its ledger sequence number, as acknowledged */
  sequence: string;
}

export interface LedgerFigures {
  players: number;
  /** ledger entries read back, over every player of the run */
  entries: number;
  /** deposits and purchases acknowledged to the client */
  acknowledged: number;
  /** acknowledged, but not in the ledger with the transaction id the client was given */
  lost: number;
  /** idempotency keys applied more than once */
  doubleApplied: number;
  /** ledger sequence numbers with no transaction (a wallet write whose ledger entry is missing) */
  gaps: number;
  /** wallets whose balance differs from the sum of their ledger */
  balanceMismatches: number;
  /** in the ledger, never acknowledged (the client gave up, or its answer was lost): applied once, not lost */
  unacknowledgedApplied: number;
  /** what the ledger holds for the first lost payments (why a check failed) */
  lostDetail: string[];
}

const CURRENCY = "GOLD";
const idOf = (t: Txn) => ({ txnId: t.transactionId, sequence: t.sequence });

/** Players' wallets under load: deposits and purchases with idempotency keys, each acknowledged one recorded. */
export class Wallets {
  readonly players: string[];
  readonly acked: AckedPayment[] = [];
  private readonly ledgers = new Map<string, Txn[]>();

  constructor(
    private readonly client: FleetClient,
    readonly run: string,
    count = 8,
  ) {
    this.players = Array.from({ length: count }, (_, i) => `${run}-p${i}`);
  }

  /** A deposit per player, so purchases have funds. */
  async seed(units = 1_000_000): Promise<void> {
    const op = this.depositOp(() => units);
    for (let i = 0; i < this.players.length; i++) await retrying(() => op.attempt(-1 - i));
  }

  /** 1 to 9 GOLD, the same amount on every retry (a key reused for another amount is refused) */
  deposit(): LoadOp {
    return this.depositOp((n) => 1 + (Math.abs(n) % 9));
  }

  private depositOp(units: (n: number) => number): LoadOp {
    return {
      rpc: "payment.deposit",
      attempt: async (n) => {
        const player = this.playerOf(n);
        const key = `${this.run}-d${n}`;
        const r = await this.client.call<{ transaction: Txn }>(
          "payment.deposit",
          { playerId: player, amount: { currency: CURRENCY, minorUnits: String(units(n)) }, idempotencyKey: key },
          { timeout: WRITE_TIMEOUT_MS },
        );
        this.acked.push({ kind: "deposit", player, key, ...idOf(r.transaction) });
      },
    };
  }

  purchase(): LoadOp {
    return {
      rpc: "payment.purchase",
      attempt: async (n) => {
        const player = this.playerOf(n);
        const key = `${this.run}-b${n}`;
        const r = await this.client.call<{ transaction: Txn }>(
          "payment.purchase",
          {
            playerId: player,
            sku: "potion",
            quantity: 1,
            price: { currency: CURRENCY, minorUnits: "3" },
            idempotencyKey: key,
          },
          { timeout: WRITE_TIMEOUT_MS },
        );
        this.acked.push({ kind: "purchase", player, key, ...idOf(r.transaction) });
      },
    };
  }

  private playerOf(n: number): string {
    return this.players[Math.abs(n) % this.players.length]!;
  }

  /** Every transaction of a player, newest first, read page by page; and how many the wallet says it has. */
  private async ledgerOf(player: string): Promise<{ txns: Txn[]; total: number }> {
    const txns: Txn[] = [];
    let token = "";
    let total = 0;
    do {
      const r = await this.client.call<{ transactions: Txn[]; page: { nextPageToken: string; total: number } }>(
        "payment.list-transactions",
        { playerId: player, page: { pageSize: 100, pageToken: token } },
        { timeout: 10_000 },
      );
      if (!token) total = Number(r.page.total);
      txns.push(...r.transactions);
      token = r.page.nextPageToken;
    } while (token);
    this.ledgers.set(player, txns);
    return { txns, total };
  }

  /** A player's ledger as the last check read it. */
  ledger(player: string): Txn[] {
    return this.ledgers.get(player) ?? [];
  }

  /** Every invariant, over every player of the run and every acknowledged payment. */
  async check(): Promise<LedgerFigures> {
    const out: LedgerFigures = {
      players: this.players.length,
      entries: 0,
      acknowledged: this.acked.length,
      lost: 0,
      doubleApplied: 0,
      gaps: 0,
      balanceMismatches: 0,
      unacknowledgedApplied: 0,
      lostDetail: [],
    };
    const ackedKeys = new Set(this.acked.map((a) => a.key));
    for (const player of this.players) {
      const { txns, total } = await this.ledgerOf(player);
      out.entries += txns.length;
      out.gaps += Math.max(0, total - new Set(txns.map((t) => t.sequence)).size);
      const byKey = new Map<string, number>();
      let sum = 0n;
      for (const t of txns) {
        byKey.set(t.idempotencyKey, (byKey.get(t.idempotencyKey) ?? 0) + 1);
        const units = BigInt(t.amount.minorUnits);
        if (t.kind === "TRANSACTION_KIND_DEPOSIT" || t.kind === "TRANSACTION_KIND_REFUND") sum += units;
        else if (t.kind === "TRANSACTION_KIND_PURCHASE" && t.status !== "TRANSACTION_STATUS_REJECTED") sum -= units;
        if (t.idempotencyKey.startsWith(`${this.run}-`) && !ackedKeys.has(t.idempotencyKey))
          out.unacknowledgedApplied++;
      }
      for (const count of byKey.values()) if (count > 1) out.doubleApplied += count - 1;
      const ids = new Set(txns.map((t) => `${t.transactionId} ${t.idempotencyKey}`));
      for (const a of this.acked) {
        if (a.player !== player || ids.has(`${a.txnId} ${a.key}`)) continue;
        out.lost++;
        const same = txns.filter((t) => t.idempotencyKey === a.key || t.transactionId === a.txnId);
        const atSeq = txns.find((t) => t.sequence === a.sequence);
        if (out.lostDetail.length < 5)
          out.lostDetail.push(
            `${a.kind} ${a.key} (${a.txnId}, seq ${a.sequence}) of ${player}: the ledger has ${same.map((t) => `${t.transactionId} seq ${t.sequence}`).join(", ") || "nothing"} for it, ${atSeq ? `${atSeq.idempotencyKey} (${atSeq.transactionId}) at seq ${a.sequence}` : `nothing at seq ${a.sequence}`}; ${txns.length} of ${total} entries`,
          );
      }
      const r = await this.client.call<{ balances: Money[] }>(
        "payment.get-balance",
        { playerId: player, currency: CURRENCY },
        { timeout: 10_000 },
      );
      if (BigInt(r.balances[0]?.minorUnits ?? "0") !== sum) out.balanceMismatches++;
    }
    return out;
  }
}

// ---- sagas ---------------------------------------------------------------------------------------------

interface FlowRunView {
  runId: string;
  status: string;
}

export interface SagaFigures {
  /** runs the client was told about (StartFlow answered) */
  runs: number;
  succeeded: number;
  compensated: number;
  /** FAILED (a compensation failed) */
  failed: number;
  /** not finished within the settle time: a saga nobody drives */
  stuck: number;
  /** SUCCEEDED without its charge in the ledger or its item in the world, or COMPENSATED with either left behind */
  inconsistent: number;
  /** how long after the load stopped the last run finished */
  settleMs: number;
}

/** purchase-item sagas (charge the wallet, grant the item); half of the players have an inventory region, so the others' sagas compensate. */
export class Sagas {
  private readonly runs = new Map<string, { player: string }>();

  constructor(
    private readonly client: FleetClient,
    private readonly wallets: Wallets,
  ) {}

  /** Inventory regions for the even players. */
  async setup(): Promise<void> {
    const even = this.wallets.players.filter((_, i) => i % 2 === 0);
    for (const p of even)
      await retrying(() =>
        this.client.call(
          "world-state.define-region",
          {
            region: {
              regionId: `inventory-${p}`,
              name: `${p}'s bag`,
              biome: "city",
              min: { x: 0, y: 0, z: 0 },
              max: { x: 10, y: 10, z: 10 },
            },
          },
          { timeout: WRITE_TIMEOUT_MS },
        ),
      );
  }

  start(): LoadOp {
    return {
      rpc: "orchestration.start-flow",
      attempt: async (n) => {
        const player = this.wallets.players[n % this.wallets.players.length]!;
        const r = await this.client.call<{ run: FlowRunView }>(
          "orchestration.start-flow",
          {
            flowName: "purchase-item",
            params: { playerId: player, sku: "sword", currency: CURRENCY, price: "5" },
            idempotencyKey: `${this.wallets.run}-s${n}`,
            wait: true,
          },
          { timeout: 10_000 },
        );
        this.runs.set(r.run.runId, { player });
      },
    };
  }

  /** Wait until every run has finished (or `settleMs` passed), then check each against the ledger (check the wallets first) and the world. */
  async settle(settleMs: number): Promise<Map<string, FlowRunView>> {
    const t0 = Date.now();
    const final = new Map<string, FlowRunView>();
    const terminal = new Set(["RUN_STATUS_SUCCEEDED", "RUN_STATUS_COMPENSATED", "RUN_STATUS_FAILED"]);
    for (;;) {
      for (const runId of this.runs.keys()) {
        if (final.has(runId)) continue;
        const r = await this.client.call<{ run?: FlowRunView }>("orchestration.get-run", { runId }, { timeout: 5000 });
        if (r.run && terminal.has(r.run.status)) final.set(runId, r.run);
      }
      if (final.size === this.runs.size || Date.now() - t0 > settleMs) return final;
      await sleep(500);
    }
  }

  async check(final: Map<string, FlowRunView>, settleMs: number): Promise<SagaFigures> {
    const out: SagaFigures = {
      runs: this.runs.size,
      succeeded: 0,
      compensated: 0,
      failed: 0,
      stuck: this.runs.size - final.size,
      inconsistent: 0,
      settleMs,
    };
    for (const [runId, run] of final) {
      const { player } = this.runs.get(runId)!;
      const ledger = this.wallets.ledger(player);
      const charge = ledger.find((t) => t.idempotencyKey === `${runId}-charge`);
      const refund = ledger.find((t) => t.idempotencyKey === `${runId}-refund`);
      const item = await this.client.call<{ found: boolean }>(
        "world-state.get-entity",
        { entityId: `item-${runId}` },
        { timeout: 5000 },
      );
      const charged = charge !== undefined && charge.status !== "TRANSACTION_STATUS_REJECTED";
      if (run.status === "RUN_STATUS_SUCCEEDED") {
        out.succeeded++;
        if (!charged || charge.status !== "TRANSACTION_STATUS_COMPLETED" || refund || !item.found) out.inconsistent++;
      } else if (run.status === "RUN_STATUS_COMPENSATED") {
        out.compensated++;
        const undone = !charged || (charge.status === "TRANSACTION_STATUS_REFUNDED" && refund !== undefined);
        if (!undone || item.found) out.inconsistent++;
      } else out.failed++;
    }
    return out;
  }
}

// ---- the local fleet -------------------------------------------------------------------------------------

interface FleetRecordView {
  nats: {
    url: string;
    tls?: { ca: string; cert: string; key: string };
    nkey?: string;
    nodes: { name: string; port: number; pid?: number }[];
  };
  pids: { pid: number; what: string }[];
}

export interface LocalGameFleet {
  project: TestProject;
  services: string[];
  record(): FleetRecordView;
  client: FleetClient;
  nc: NatsConnection;
  /** `gs down --purge`, the project removed (and anything else the fleet was given, e.g. a Redis Cluster) */
  stop(): Promise<void>;
}

async function openLocalFleet(
  project: TestProject,
  services: string[],
  upArgs: string[],
  onStop: () => Promise<void> = async () => undefined,
): Promise<LocalGameFleet> {
  let nc: NatsConnection | undefined;
  const stop = async () => {
    await nc?.close().catch(() => undefined);
    // GS_GAME_DAY_LOGS=dir keeps what the fleet logged (every instance, nats-server, the supervisor) for a look afterwards
    const keep = process.env.GS_GAME_DAY_LOGS;
    if (keep) cpSync(path.join(project.dir, ".gs"), path.join(keep, path.basename(project.dir)), { recursive: true });
    await runCli(["down", "--purge"], { cwd: project.dir });
    project.remove();
    await onStop();
  };
  try {
    const up = await runCli(["up", "--detach", "--timeout", "5m", ...upArgs], { cwd: project.dir, timeoutMs: 360_000 });
    if (up.code !== 0)
      throw new Error(`gs up failed (${up.code}): ${up.stderr.trim().split("\n").slice(-3).join(" | ")}`);
    const record = () =>
      JSON.parse(readFileSync(path.join(project.dir, ".gs", "local.json"), "utf8")) as FleetRecordView;
    const rec = record();
    nc = await connect({
      ...toConnectionOptions({
        servers: rec.nats.url.split(","),
        tls: rec.nats.tls,
        nkey: rec.nats.nkey,
        timeout: 5000,
      }),
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
    const client = new FleetClient(nc, defaultRegistry());
    // every instance answers before the load begins
    await waitFor(
      "every instance answering",
      async () => {
        const r = await runCli(["status", "--json"], { cwd: project.dir });
        const st = JSON.parse(r.stdout) as StatusJson;
        return st.services.every((s) => s.responding === s.desired && s.state === "steady") || undefined;
      },
      90_000,
      500,
    );
    return { project, services, record, client, nc, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Fleet A: every service of the catalog, 2 instances each, on a 5-node JetStream cluster (R3 streams), as in production. */
export async function startDeployFleet(): Promise<LocalGameFleet> {
  const services = existingServices();
  const project = createProject(services);
  // payment may work on a write as long as its caller waits: through a stream leader's election
  writeFileSync(
    path.join(project.dir, "gs.yaml"),
    [
      "project: game-days",
      "services:",
      "  defaults: { desired: 2 }",
      ...services.map((s) =>
        s === "payment" ? `  payment: { env: { GS_REQUEST_DEADLINE_MS: "${WRITE_TIMEOUT_MS}" } }` : `  ${s}: {}`,
      ),
      "",
    ].join("\n"),
  );
  return openLocalFleet(project, services, ["--cluster", "5"]);
}

/** Each service's versions as NATS sees them (`gs services --json`): [versions, instances]. */
async function answering(dir: string): Promise<Map<string, { versions: string[]; instances: number }>> {
  const r = await runCli(["services", "--json"], { cwd: dir });
  const view = JSON.parse(r.stdout) as ServicesJson;
  return new Map(view.services.map((s) => [s.name, { versions: s.versions, instances: s.instances.length }]));
}

/** The fleet ends where the deploy meant it to: one version per service, the intended one, `desired` instances answering, no other process. */
export interface EndState {
  /** services whose platform version is not the intended one */
  offVersion: string[];
  /** services answering over NATS with more than one version, or another count than desired */
  mixed: string[];
  /** service processes the supervisor does not hold (an orphan), or holds but that do not run */
  orphans: number;
  missing: number;
}

async function endState(fleet: LocalGameFleet, intended: Map<string, string>, log: Log): Promise<EndState> {
  // NATS sees every new instance and no old one once the drains are over
  const seen = await waitFor(
    "one version per service answering",
    async () => {
      const a = await answering(fleet.project.dir);
      const ok = fleet.services.every((s) => a.get(s)?.versions.length === 1 && a.get(s)?.instances === 2);
      return ok ? a : undefined;
    },
    60_000,
    1000,
  ).catch(() => answering(fleet.project.dir));
  const status = JSON.parse((await runCli(["status", "--json"], { cwd: fleet.project.dir })).stdout) as StatusJson;
  const offVersion = status.services.filter((s) => s.version !== intended.get(s.name)).map((s) => s.name);
  const mixed = fleet.services.filter((s) => {
    const v = seen.get(s);
    return !v || v.versions.length !== 1 || v.versions[0] !== intended.get(s) || v.instances !== 2;
  });
  // every process running a build of this project is one the supervisor holds, and the other way round
  const builds = path.join(fleet.project.dir, ".gs", "builds") + path.sep;
  const running = new Set<number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (cmd.some((a) => a.startsWith(builds)) && isAlive(Number(entry))) running.add(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  const held = new Set(
    fleet
      .record()
      .pids.filter((p) => !p.what.startsWith("nats-server"))
      .map((p) => p.pid),
  );
  const orphans = [...running].filter((p) => !held.has(p)).length;
  const missing = [...held].filter((p) => !running.has(p)).length;
  log(`end state: ${offVersion.length} off version, ${mixed.length} mixed, ${orphans} orphans, ${missing} missing`);
  return { offVersion, mixed, orphans, missing };
}

const ROLLOUT_BEGINS = /^\S+Z (\S+)\s+rollout\s+\S+ -> \S+$/gm;
const DEPLOYED = /^\S+Z (\S+)\s+done\s+deployed /gm;
const count = (re: RegExp, text: string) => [...text.matchAll(re)].length;

function deployResult(stdout: string): DeployJson | undefined {
  try {
    return JSON.parse(stdout) as DeployJson;
  } catch {
    return undefined;
  }
}

/**
 * The nats-server in use, and whether its conditional writes are serializable through a leader change:
 * before 2.11 a new leader checks an expectation against what it has applied, not against its log, so
 * two KV updates of one key at the same revision can both be stored around a failover
 * (nats-io/nats-server#6194): the second overwrites the first. (Without a failover, the SDK's write
 * fence keeps updates serializable on servers before 2.9.21 as well: see needsWriteFence.)
 */
export function natsServerCas(): { version: string; serializable: boolean } {
  const version = natsServerVersion();
  const [major = 0, minor = 0] = version.split(".").map(Number);
  return { version, serializable: major > 2 || (major === 2 && minor >= 11) };
}

export interface NatsNodeFigures {
  scenario: "nats-node-killed-mid-deploy";
  /** the nats-server version, and whether its KV updates stay serializable through a failover (see natsServerCas) */
  natsServer: { version: string; serializable: boolean };
  nodes: number;
  services: number;
  killed: { node: string; role: string; afterRolloutsBegan: number };
  /** `gs status` a moment after the kill, as an operator sees it */
  statusText: string;
  deploy: {
    exitCode: number | null;
    seconds: number;
    actions: Record<string, number>;
    /** the services rolled back (or failed), and why */
    reasons: Record<string, string>;
  };
  /** a deploy that rolled back is run again; 0 when the first one completed */
  redeploys: number;
  nodeBackMs: number;
  load: LoadFigures;
  ledger: LedgerFigures;
  end: EndState;
}

/** A rolling deploy of every service under load; once a third of the rollouts began, SIGKILL of the nats-server leading payment's state. */
export async function natsNodeKilledMidDeploy(
  fleet: LocalGameFleet,
  opts: { rate: number; log?: Log },
): Promise<NatsNodeFigures> {
  const log = opts.log ?? quiet;
  const dir = fleet.project.dir;
  const wallets = new Wallets(fleet.client, `nk${Date.now().toString(36)}`);
  await wallets.seed();
  const load = startLoad(opts.rate, [wallets.deposit(), readSchema(fleet.client)]);
  const salt = `nats-kill-${Date.now()}`;
  const t0 = Date.now();
  const deploy = startCli(["deploy", "--json", "--timeout", "2m"], {
    cwd: dir,
    env: { GS_BUILD_SALT: salt },
    timeoutMs: 300_000,
  });
  const third = Math.ceil(fleet.services.length / 3);
  try {
    await waitFor(
      "a third of the rollouts begun",
      () => count(ROLLOUT_BEGINS, deploy.stderr()) >= third || undefined,
      240_000,
      50,
    );
  } catch (err) {
    deploy.signal("SIGKILL");
    await load.stop();
    throw err;
  }
  const jsm = await jetstreamManager(fleet.nc);
  const victim = (await jsm.streams.info("KV_gs_payment")).cluster?.leader ?? "node1";
  const node = fleet.record().nats.nodes.find((n) => n.name === victim)!;
  const began = count(ROLLOUT_BEGINS, deploy.stderr());
  const killedAt = Date.now();
  process.kill(node.pid!, "SIGKILL");
  load.mark(`${victim} killed`);
  log(`killed ${victim} (leader of KV_gs_payment) with ${began} rollouts begun`);
  const back = waitFor(
    `${victim} back`,
    () => {
      const pid = fleet.record().nats.nodes.find((n) => n.name === victim)?.pid;
      return pid && pid !== node.pid && isAlive(pid) ? Date.now() - killedAt : undefined;
    },
    60_000,
    100,
  );
  const statusText = (await runCli(["status"], { cwd: dir })).stdout;
  const exit = await deploy.exit;
  load.mark(`deploy exited ${exit.code}`);
  const seconds = Math.round((Date.now() - t0) / 100) / 10;
  let result = deployResult(deploy.stdout());
  log(
    `deploy exited ${exit.code} in ${seconds}s: ${deploy
      .stderr()
      .split("\n")
      .filter((l) => / summary /.test(l))
      .join("")}`,
  );
  const actions: Record<string, number> = {};
  const reasons: Record<string, string> = {};
  for (const s of result?.services ?? []) {
    actions[s.action] = (actions[s.action] ?? 0) + 1;
    if (s.reason) reasons[s.name] = s.reason;
  }
  // rolled back cleanly: the next deploy of the same build brings the fleet to the intended version
  let redeploys = 0;
  while (
    result &&
    exit.code !== 0 &&
    redeploys < 2 &&
    result.services.some((s) => s.action !== "deployed" && s.action !== "unchanged")
  ) {
    redeploys++;
    const again = await runCli(["deploy", "--json", "--timeout", "2m"], {
      cwd: dir,
      env: { GS_BUILD_SALT: salt },
      timeoutMs: 300_000,
    });
    load.mark(`deploy ${redeploys + 1} exited ${again.code}`);
    result = deployResult(again.stdout) ?? result;
    if (again.code === 0) break;
  }
  const nodeBackMs = await back;
  const figures = await load.stop();
  const intended = new Map((result?.services ?? []).map((s) => [s.name, s.to ?? ""]));
  const end = await endState(fleet, intended, log);
  const ledger = await wallets.check();
  return {
    scenario: "nats-node-killed-mid-deploy",
    natsServer: natsServerCas(),
    nodes: fleet.record().nats.nodes.length,
    services: fleet.services.length,
    killed: { node: victim, role: "leader of KV_gs_payment", afterRolloutsBegan: began },
    statusText,
    deploy: { exitCode: exit.code, seconds, actions, reasons },
    redeploys,
    nodeBackMs,
    load: figures,
    ledger,
    end,
  };
}

export interface DeployerKilledFigures {
  scenario: "deployer-killed-local";
  services: number;
  /** when the CLI was killed: rollouts begun, and finished */
  killedAfter: { begun: number; deployed: number };
  /** `gs status` right after: services per state, and the plain output an operator sees */
  statusAfter: { states: Record<string, number>; text: string };
  next: { exitCode: number | null; seconds: number; actions: Record<string, number>; resumed: string[] };
  load: LoadFigures;
  ledger: LedgerFigures;
  end: EndState;
}

/** A rolling deploy under load whose CLI is SIGKILLed once its first rollout finished; `gs status`, then the next `gs deploy`. */
export async function deployerKilledMidDeploy(
  fleet: LocalGameFleet,
  opts: { rate: number; log?: Log },
): Promise<DeployerKilledFigures> {
  const log = opts.log ?? quiet;
  const dir = fleet.project.dir;
  const wallets = new Wallets(fleet.client, `dk${Date.now().toString(36)}`);
  await wallets.seed();
  const load = startLoad(opts.rate, [wallets.deposit(), readSchema(fleet.client)]);
  const salt = `deployer-kill-${Date.now()}`;
  const deploy = startCli(["deploy", "--json", "--timeout", "2m", "--concurrency", "8"], {
    cwd: dir,
    env: { GS_BUILD_SALT: salt },
    timeoutMs: 300_000,
  });
  try {
    await waitFor("the first rollout done", () => count(DEPLOYED, deploy.stderr()) >= 1 || undefined, 240_000, 20);
  } finally {
    deploy.signal("SIGKILL");
  }
  const killedAfter = { begun: count(ROLLOUT_BEGINS, deploy.stderr()), deployed: count(DEPLOYED, deploy.stderr()) };
  await deploy.exit;
  load.mark("gs deploy killed");
  log(`killed gs deploy with ${killedAfter.begun} rollouts begun, ${killedAfter.deployed} done`);
  const [statusJson, statusText] = await Promise.all([
    runCli(["status", "--json"], { cwd: dir }),
    runCli(["status"], { cwd: dir }),
  ]);
  const states: Record<string, number> = {};
  for (const s of (JSON.parse(statusJson.stdout) as StatusJson).services)
    states[s.state ?? "unknown"] = (states[s.state ?? "unknown"] ?? 0) + 1;
  const t0 = Date.now();
  const next = await runCli(["deploy", "--json", "--timeout", "2m"], {
    cwd: dir,
    env: { GS_BUILD_SALT: salt },
    timeoutMs: 300_000,
  });
  load.mark(`next deploy exited ${next.code}`);
  const seconds = Math.round((Date.now() - t0) / 100) / 10;
  const result = deployResult(next.stdout);
  const actions: Record<string, number> = {};
  for (const s of result?.services ?? []) actions[s.action] = (actions[s.action] ?? 0) + 1;
  const resumed = (result?.services ?? []).filter((s) => s.resumed).map((s) => s.name);
  log(`next deploy exited ${next.code} in ${seconds}s: ${JSON.stringify(actions)}, took over ${resumed.length}`);
  const figures = await load.stop();
  const intended = new Map((result?.services ?? []).map((s) => [s.name, s.to ?? ""]));
  const end = await endState(fleet, intended, log);
  const ledger = await wallets.check();
  return {
    scenario: "deployer-killed-local",
    services: fleet.services.length,
    killedAfter,
    statusAfter: { states, text: statusText.stdout },
    next: { exitCode: next.code, seconds, actions, resumed },
    load: figures,
    ledger,
    end,
  };
}

// ---- the deploying CLI killed, on ECS -----------------------------------------------------------------------

export interface EcsDeployerKilledFigures {
  scenario: "deployer-killed-ecs";
  services: string[];
  /** the service whose new tasks crash: the killed deploy left it with two deployments, nobody converging it */
  crashing: string;
  /** `gs status` right after the kill, per service: state and deployments */
  statusAfter: Record<string, { state: string | null; version: string | null; deployments: number }>;
  statusText: string;
  next: { exitCode: number | null; actions: Record<string, string>; resumed: string[] };
  /** per service once ECS settled: deployments, the version the PRIMARY runs, tasks running outside any deployment */
  end: Record<string, { deployments: number; version: string; orphanTasks: number }>;
  intended: Record<string, string>;
}

/**
 * The ECS simulator (over HTTP, so the built CLI reaches it) with three services rolled out one at a time;
 * the second one's new tasks crash and there is no circuit breaker: only gs can roll it back. The CLI is
 * SIGKILLed right after it updated the second service, before it saw a single poll of it.
 */
export async function deployerKilledEcs(opts: { log?: Log } = {}): Promise<EcsDeployerKilledFigures> {
  const log = opts.log ?? quiet;
  const services = ["auth", "payment", "settings"];
  const crashing = "payment";
  const dir = mkdtempSync(path.join(os.tmpdir(), "gs-gameday-ecs-"));
  const nats = await startNatsServer();
  const nc = await connect({ servers: nats.url });
  const fakes: Service[] = [];
  let sim: EcsSimulator | undefined;
  let aws: Awaited<ReturnType<EcsSimulator["serve"]>> | undefined;
  try {
    const config = writeEcsProject(dir, {
      project: "game-day-ecs",
      natsUrl: nats.url,
      services: Object.fromEntries(services.map((s) => [s, "{}"])),
    });
    const project = imageProject({ cwd: dir, config, env: {} });
    const plans = Object.fromEntries(
      await Promise.all(services.map(async (s) => [s, await planImage(s, project.image)] as const)),
    );
    const digest = (s: string) => `sha256:${(services.indexOf(s) + 10).toString(16).repeat(64).slice(0, 64)}`;
    sim = new EcsSimulator({
      services: Object.fromEntries(services.map((s) => [s, 2])),
      repositories: Object.fromEntries(services.map((s) => [s, { [plans[s]!.tag]: digest(s) }])),
      behavior: (image) => (image.includes(digest(crashing)) ? "crash" : "healthy"),
    });
    aws = await sim.serve();
    // the new versions answer over NATS (the crashing one never would: its tasks exit)
    for (const s of services.filter((x) => x !== crashing))
      for (let i = 0; i < 2; i++) {
        const svc = await new Svcm(nc).add({ name: s, version: plans[s]!.version, description: "fake" });
        svc.addEndpoint("ping", (_err, msg) => msg.respond());
        fakes.push(svc);
      }
    const env = aws.env();
    const gs = (args: string[]) =>
      runCli([...args, "--target", "prod", "--config", config], { cwd: dir, env, timeoutMs: 120_000 });
    const deploy = startCli(
      [
        "deploy",
        "--target",
        "prod",
        "--config",
        config,
        "--yes",
        "--json",
        "--concurrency",
        "1",
        "--poll-interval",
        "2s",
      ],
      { cwd: dir, env, timeoutMs: 120_000 },
    );
    const s = sim;
    const updated = () => {
      if (deploy.child.exitCode !== null) throw new Error(`gs deploy exited ${deploy.child.exitCode}`);
      return s.count("UpdateService") >= 2 || undefined;
    };
    await waitFor("the second service updated", updated, 60_000, 2).catch((err: Error) => {
      throw new Error(
        `${err.message}; calls: ${JSON.stringify(s.countsByApi())}; stdout: ${deploy.stdout()}; stderr: ${deploy.stderr()}`,
      );
    });
    deploy.signal("SIGKILL");
    await deploy.exit;
    log(`killed gs deploy after ${sim.count("UpdateService")} UpdateService calls`);

    const st = JSON.parse((await gs(["status", "--json"])).stdout) as StatusJson;
    const statusAfter: EcsDeployerKilledFigures["statusAfter"] = {};
    for (const x of st.services)
      statusAfter[x.name] = {
        state: x.state,
        version: x.version,
        deployments: sim.service(x.name).deployments.length,
      };
    const statusText = (await gs(["status"])).stdout;
    const next = await gs(["deploy", "--yes", "--json", "--poll-interval", "100ms", "--timeout", "30s"]);
    const result = deployResult(next.stdout);
    const actions = Object.fromEntries((result?.services ?? []).map((x) => [x.name, x.action]));
    const resumed = (result?.services ?? []).filter((x) => x.resumed).map((x) => x.name);
    log(`next deploy exited ${next.code}: ${JSON.stringify(actions)}; took over ${resumed.join(", ") || "nothing"}`);
    // ECS converges what the deploy left (a rollback runs on): a few more looks at each service
    for (let i = 0; i < 5; i++) await gs(["status", "--json"]);
    const end: EcsDeployerKilledFigures["end"] = {};
    for (const name of services) {
      const svc = sim.service(name);
      const ids = new Set(svc.deployments.map((d) => d.id));
      const primary = svc.deployments.find((d) => d.status === "PRIMARY")!;
      const td = sim.taskDefinitions.get(primary.taskDefinition)!;
      end[name] = {
        deployments: svc.deployments.length,
        version: td.tags.find((t) => t.key === "gs:version")?.value ?? td.td.containerDefinitions![0]!.image!,
        orphanTasks: sim.tasks.filter(
          (t) => t.group === `service:${svc.ecsName}` && t.lastStatus !== "STOPPED" && !ids.has(t.startedBy ?? ""),
        ).length,
      };
    }
    return {
      scenario: "deployer-killed-ecs",
      services,
      crashing,
      statusAfter,
      statusText,
      next: { exitCode: next.code, actions, resumed },
      end,
      intended: Object.fromEntries(services.map((x) => [x, plans[x]!.version])),
    };
  } finally {
    await Promise.all(fakes.map((f) => f.stop().catch(() => undefined)));
    await aws?.stop();
    sim?.restore();
    await nc.close();
    await nats.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- fleet B: payment on a Redis Cluster, sagas ------------------------------------------------------------

export interface StateGameFleet extends LocalGameFleet {
  redis: TestRedisCluster;
}

/** Fleet B: payment on a Redis Cluster (3 primaries with a replica each), orchestration, world-state and settings; 2 instances each. */
export async function startStateFleet(): Promise<StateGameFleet> {
  const redis = await startRedisCluster();
  const services = ["payment", "orchestration", "world-state", "settings"];
  const project = createProject(services);
  writeFileSync(
    path.join(project.dir, "gs.yaml"),
    [
      "project: game-days-state",
      "services:",
      "  defaults: { desired: 2 }",
      "  payment:",
      "    env:",
      "      GS_STATE_BACKEND: redis-cluster",
      `      GS_REDIS_URL: "${redis.url}"`,
      // a claim left by an instance that died is taken over by a retry after this (default 30 s)
      '      PAYMENT_CLAIM_LEASE_MS: "3000"',
      `      GS_REQUEST_DEADLINE_MS: "${WRITE_TIMEOUT_MS}"`,
      // a run whose instance died is taken over after this (default 15 s)
      '  orchestration: { env: { ORCHESTRATION_RUN_LEASE_MS: "3000" } }',
      "  world-state: {}",
      "  settings: {}",
      "",
    ].join("\n"),
  );
  const fleet = await openLocalFleet(project, services, [], () => redis.stop()).catch(async (err: unknown) => {
    await redis.stop();
    throw err;
  });
  return { ...fleet, redis };
}

export interface RedisPrimaryFigures {
  scenario: "redis-primary-killed";
  killed: { port: number; slot: number; replica: number };
  /** from the kill until a replica serves payment's slot as its primary */
  failoverMs: number;
  newPrimary: number;
  /** from the kill until the dead node, restarted as a supervisor restarts it, is a replica in sync again */
  replicaBackMs: number;
  /** `gs status` once the replica has taken over */
  statusText: string;
  load: LoadFigures;
  ledger: LedgerFigures;
}

/**
 * Deposits, purchases and reads under load; SIGKILL of the Redis primary that holds payment's state (its
 * hash tag's slot). Once its replica has taken over, the dead node is started again on its port and data,
 * as a supervisor restarts it: until it is a replica again, the new primary has none, and payment's writes
 * (acknowledged only once a replica holds them) are refused with 503 and retried by the client.
 */
export async function redisPrimaryKilled(
  fleet: StateGameFleet,
  opts: { seconds: number; killAfterSeconds: number; rate: number; log?: Log },
): Promise<RedisPrimaryFigures> {
  const log = opts.log ?? quiet;
  const wallets = new Wallets(fleet.client, `rp${Date.now().toString(36)}`);
  await wallets.seed();
  const slot = keySlot("{payment}");
  const before = await fleet.redis.primaryOf(slot);
  const replica = (await fleet.redis.topology()).find((n) => n.role === "replica" && n.primaryPort === before.port)!;
  const load = startLoad(opts.rate, [wallets.deposit(), wallets.purchase(), readSchema(fleet.client)]);
  await sleep(opts.killAfterSeconds * 1000);
  const killedAt = Date.now();
  await fleet.redis.kill(before.port);
  log(`killed Redis primary ${before.port} (payment's slot ${slot}); replica ${replica.port}`);
  const newPrimary = await waitFor(
    "a new primary for payment's slot",
    async () => {
      const p = await fleet.redis.primaryOf(slot).catch(() => undefined);
      return p && p.port !== before.port ? p.port : undefined;
    },
    30_000,
    20,
  );
  const failoverMs = Date.now() - killedAt;
  const statusText = (await runCli(["status"], { cwd: fleet.project.dir })).stdout;
  await fleet.redis.restart(before.port);
  await fleet.redis.waitUntilHealthy(30_000);
  const replicaBackMs = Date.now() - killedAt;
  await sleep(Math.max(0, (opts.seconds - opts.killAfterSeconds) * 1000 - replicaBackMs));
  const figures = await load.stop();
  const ledger = await wallets.check();
  log(`failover in ${failoverMs} ms; ${figures.sent} requests, ${figures.failed} failed; ${ledger.lost} lost`);
  return {
    scenario: "redis-primary-killed",
    killed: { port: before.port, slot, replica: replica.port },
    failoverMs,
    newPrimary,
    replicaBackMs,
    statusText,
    load: figures,
    ledger,
  };
}

/** how long world-state is frozen before the kill: the sagas begun meanwhile are in flight at the kill */
const FREEZE_MS = 1500;

export interface SagaKillFigures {
  scenario: "instances-killed-mid-saga";
  killed: string[];
  /** runs another orchestration instance took over from the killed one (its log lines say so) */
  resumedRuns: number;
  /** the first of those log lines */
  resumeLine: string;
  /** `gs status` a moment after the kill */
  statusText: string;
  load: LoadFigures;
  sagas: SagaFigures;
  ledger: LedgerFigures;
}

/**
 * purchase-item sagas, deposits and reads under load; SIGKILL of an orchestration instance and a payment
 * instance at once. So that the orchestration instance dies with sagas in flight, world-state (their
 * second step) is frozen (SIGSTOP) for a moment before: the sagas begun meanwhile have charged the wallet
 * and wait for the grant. Once the kill is done world-state runs again.
 */
export async function instancesKilledMidSaga(
  fleet: StateGameFleet,
  opts: { seconds: number; killAfterSeconds: number; rate: number; log?: Log },
): Promise<SagaKillFigures> {
  const log = opts.log ?? quiet;
  const wallets = new Wallets(fleet.client, `sg${Date.now().toString(36)}`);
  await wallets.seed();
  const sagas = new Sagas(fleet.client, wallets);
  await sagas.setup();
  const load = startLoad(opts.rate, [sagas.start(), wallets.deposit(), readSchema(fleet.client)]);
  await sleep(opts.killAfterSeconds * 1000);
  const pids = fleet.record().pids;
  const frozen = pids.filter((p) => p.what.startsWith("world-state-"));
  const victims = ["orchestration", "payment"].map((s) => pids.find((p) => p.what.startsWith(`${s}-`))!);
  try {
    for (const f of frozen) process.kill(f.pid, "SIGSTOP");
    await sleep(FREEZE_MS);
    for (const v of victims) process.kill(v.pid, "SIGKILL");
  } finally {
    for (const f of frozen) process.kill(f.pid, "SIGCONT");
  }
  log(`killed ${victims.map((v) => v.what).join(", ")} with sagas in flight (world-state frozen ${FREEZE_MS} ms)`);
  const statusText = (await runCli(["status"], { cwd: fleet.project.dir })).stdout;
  await sleep(Math.max(0, (opts.seconds - opts.killAfterSeconds) * 1000 - FREEZE_MS));
  const figures = await load.stop();
  const t0 = Date.now();
  const final = await sagas.settle(60_000);
  const settleMs = Date.now() - t0;
  const ledger = await wallets.check();
  const sagaFigures = await sagas.check(final, settleMs);
  log(
    `${sagaFigures.runs} sagas: ${sagaFigures.succeeded} succeeded, ${sagaFigures.compensated} compensated, ${sagaFigures.stuck} stuck`,
  );
  const logs = path.join(fleet.project.dir, ".gs", "logs", "orchestration");
  const lines = readdirSync(logs).flatMap((f) =>
    readFileSync(path.join(logs, f), "utf8")
      .split("\n")
      .filter((l) => l.includes("resuming a flow run")),
  );
  const resumedRuns = lines.length;
  return {
    scenario: "instances-killed-mid-saga",
    killed: victims.map((v) => v.what),
    resumedRuns,
    resumeLine: lines[0] ?? "",
    statusText,
    load: figures,
    sagas: sagaFigures,
    ledger,
  };
}
