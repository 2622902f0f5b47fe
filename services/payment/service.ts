// payment: wallets with an append-only ledger; idempotent deposits, purchases and refunds; never a negative balance.
// Env: PAYMENT_CURRENCY (currency when a request leaves it empty, default USD),
//      PAYMENT_CLAIM_LEASE_MS (after this an unfinished request's claim may be taken over by a retry, default 30000;
//      sooner when the instance that claimed it no longer answers $SRV.PING: see ownerGone).
// State:
//   wallet.<player>           Wallet: balances, ledger sequence, recently applied txn ids. Every money movement is
//                             one write of this record at the revision it was read at, so concurrent purchases on
//                             any instance serialize here and a balance cannot go below zero.
//   idem.<player>.<key>       IdemRecord: created with expectedRevision 0 (the claim), later holds the response to replay.
//   txn.<txnId>               StoredTransaction; purchases also carry their refund reservations.
//   ledger.<player>.<seq>     LedgerIndex: which transaction has that sequence number (for paging newest first).
// A request's steps are each idempotent per txnId (fixed in the claim), so a retry that takes over a claim left
// behind by a crashed instance finishes the same transaction rather than starting a second one.
import { randomUUID } from "node:crypto";
import { badRequest, conflict, unavailable } from "../sdk/errors.js";
import { defineService, type CallContext, ServiceBase, type RpcHandlers } from "../sdk/runtime.js";
import { RevisionConflict, type Versioned } from "../sdk/state.js";
import {
  applyToWallet,
  balanceOf,
  decodeCursor,
  emptyWallet,
  encodeCursor,
  money,
  parseAmount,
  parseCurrency,
  reserveRefund,
  type AppliedEntry,
  type Kind,
  type Money,
  type StoredTransaction,
  type Transaction,
  type Wallet,
  type WalletOp,
} from "./domain.js";
import type {
  DepositRequest,
  DepositResponse,
  GetBalanceRequest,
  GetBalanceResponse,
  ListTransactionsRequest,
  ListTransactionsResponse,
  PaymentServiceRpcs,
  PurchaseRequest,
  PurchaseResponse,
  RefundRequest,
  RefundResponse,
} from "../generated/payment/v1/payment.js";
import type { ErrorDetail } from "../generated/gs/common/v1/common.js";

// ---- state ----
interface IdemRecord {
  op: "deposit" | "purchase" | "refund";
  /** the request's money-relevant fields: a key reused for a different request is refused */
  fingerprint: string;
  txnId: string;
  createdAt: string;
  status: "pending" | "done";
  /** unix ms; 0 marks a claim its owner gave up on (any retry may take it over at once) */
  claimedAt: number;
  /** the instance that claimed it (its micro service id): a retry takes over at once once it is gone */
  owner?: string;
  response?: object;
}
interface LedgerIndex {
  txnId: string;
  currency: string;
  kind: Kind;
}
const walletKey = (player: string) => `wallet.${player}`;
const idemKey = (player: string, key: string) => `idem.${player}.${key}`;
const txnKey = (id: string) => `txn.${id}`;
const ledgerKey = (player: string, seq: number) => `ledger.${player}.${seq}`;

const PAGE_DEFAULT = 20;
const PAGE_MAX = 100;
/** ledger entries a filtered ListTransactions reads at most per call; the cursor continues from there */
const SCAN_MAX = 2000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a claim attempt returns when another attempt claimed the key first. */
const CLAIMED_ELSEWHERE = Symbol("claimed elsewhere");

/** Promises in progress by key; more than one per key when duplicates arrive together. */
class InProgress {
  private readonly byKey = new Map<string, Set<Promise<void>>>();

  track<T>(key: string, p: Promise<T>): Promise<T> {
    const settled = p.then(
      () => undefined,
      () => undefined,
    );
    let set = this.byKey.get(key);
    if (!set) this.byKey.set(key, (set = new Set()));
    set.add(settled);
    void settled.then(() => {
      set.delete(settled);
      if (set.size === 0 && this.byKey.get(key) === set) this.byKey.delete(key);
    });
    return p;
  }

  /** settles when the first of `key`'s settles; undefined when none is in progress */
  of(key: string): Promise<void> | undefined {
    const set = this.byKey.get(key);
    return set ? Promise.race(set) : undefined;
  }
}

/** `p` settled, or `ms` passed */
async function settledWithin(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

/** A claim pending this long makes a retry ask whether its owner still answers (a duplicate sent at once just waits). */
const OWNER_CHECK_AFTER_MS = 1000;
/** How long the owner has to answer $SRV.PING before its claim is taken over. */
const OWNER_PING_TIMEOUT_MS = 1000;
/**
 * How often a duplicate re-reads a claim pending on another instance: from 5 ms, half as long again each
 * time, up to 250 ms. After a JetStream leader election the owner works through a backlog for seconds,
 * and each client retry waits on a claim: re-read every few milliseconds, those waits were thousands of
 * reads a second at the stream leader that the backlog itself needed.
 */
const CLAIM_POLL_MS = { first: 5, max: 250 };

function requireText(value: string, field: string, max = 128): string {
  const v = value.trim();
  if (!v) throw badRequest(`${field} is required`);
  if (v.length > max) throw badRequest(`${field} must be at most ${max} characters`);
  return v;
}

class Payment extends ServiceBase implements RpcHandlers<PaymentServiceRpcs> {
  private readonly defaultCurrency = (this.ctx.env.PAYMENT_CURRENCY ?? "USD").toUpperCase();
  private readonly leaseMs = Number(this.ctx.env.PAYMENT_CLAIM_LEASE_MS ?? 30_000);
  /** one event per transaction: a request finished again after a takeover does not publish it twice */
  private readonly publish = (name: string, txnId: string, data: unknown) =>
    this.ctx.events
      .publish(name, data, { id: `payment.${name}.${txnId}` })
      .catch((err: Error) => this.ctx.log.warn("event not published", { event: name, err: err.message }));

  // Writes to one wallet from this instance queue up: conflicts then only arise between instances.
  private readonly queues = new Map<string, Promise<unknown>>();
  /** the claims this instance is making or running: a duplicate here awaits them, and a claim of its own without one is abandoned */
  private readonly inProgress = new InProgress();
  /** owners asked about lately, and whether they answered: one ping per owner and second, not one per retry */
  private readonly owners = new Map<string, { at: number; answered: Promise<boolean> }>();

  async GetBalance(req: GetBalanceRequest): Promise<GetBalanceResponse> {
    const playerId = requireText(req.playerId, "player_id");
    const wallet = (await this.ctx.state.get<Wallet>(walletKey(playerId)))?.value ?? emptyWallet();
    if (req.currency) {
      let currency: string;
      try {
        currency = parseCurrency(req.currency, this.defaultCurrency, "currency");
      } catch (err) {
        throw badRequest((err as Error).message);
      }
      return { playerId, balances: [money(currency, balanceOf(wallet, currency))] };
    }
    const currencies = Object.keys(wallet.balances).sort();
    return { playerId, balances: currencies.map((c) => money(c, balanceOf(wallet, c))) };
  }

  async Deposit(req: DepositRequest, call: CallContext): Promise<DepositResponse> {
    const playerId = requireText(req.playerId, "player_id");
    const key = requireText(req.idempotencyKey, "idempotency_key");
    const { currency, units } = this.amountOf(req.amount, "amount");
    const reason = req.reason.slice(0, 200);
    return this.idempotent<Omit<DepositResponse, "replayed">>(
      playerId,
      key,
      "deposit",
      `${currency}|${units}`,
      call.deadline,
      async (claim) => {
        const entry = await this.applyOp(
          playerId,
          { txnId: claim.txnId, kind: "TRANSACTION_KIND_DEPOSIT", currency, units },
          call.deadline,
        );
        const txn = this.transaction(claim, playerId, "TRANSACTION_KIND_DEPOSIT", entry, units, key, { reason });
        await this.record(txn);
        await this.publish("FundsDepositedEvent", txn.transactionId, {
          playerId,
          transactionId: txn.transactionId,
          amount: txn.amount,
          balance: txn.balanceAfter,
          reason,
          at: txn.createdAt,
        });
        return { response: { transaction: txn, balance: txn.balanceAfter }, final: true };
      },
    );
  }

  async Purchase(req: PurchaseRequest, call: CallContext): Promise<PurchaseResponse> {
    const playerId = requireText(req.playerId, "player_id");
    const key = requireText(req.idempotencyKey, "idempotency_key");
    const sku = requireText(req.sku, "sku");
    const quantity = req.quantity || 1;
    if (quantity > 10_000) throw badRequest("quantity must be at most 10000");
    const { currency, units } = this.amountOf(req.price, "price");
    const reason = req.reason.slice(0, 200);
    return this.idempotent<Omit<PurchaseResponse, "replayed">>(
      playerId,
      key,
      "purchase",
      `${sku}|${quantity}|${currency}|${units}`,
      call.deadline,
      async (claim) => {
        const entry = await this.applyOp(
          playerId,
          { txnId: claim.txnId, kind: "TRANSACTION_KIND_PURCHASE", currency, units },
          call.deadline,
        );
        const txn = this.transaction(claim, playerId, "TRANSACTION_KIND_PURCHASE", entry, units, key, {
          sku,
          quantity,
          reason,
          refundedAmount: money(currency, 0n),
        });
        await this.record(txn);
        if (entry.status === "TRANSACTION_STATUS_REJECTED") {
          const error = {
            code: "INSUFFICIENT_FUNDS",
            message: `the ${currency} balance ${entry.balanceAfter} is less than the price ${units}`,
            field: "price",
          };
          await this.publish("PurchaseRejectedEvent", txn.transactionId, {
            playerId,
            sku,
            price: txn.amount,
            code: error.code,
            at: txn.createdAt,
          });
          return { response: { success: false, transaction: txn, balance: txn.balanceAfter, error }, final: true };
        }
        await this.publish("PurchaseCompletedEvent", txn.transactionId, {
          playerId,
          transactionId: txn.transactionId,
          sku,
          quantity,
          price: txn.amount,
          balance: txn.balanceAfter,
          at: txn.createdAt,
        });
        return { response: { success: true, transaction: txn, balance: txn.balanceAfter }, final: true };
      },
    );
  }

  async Refund(req: RefundRequest, call: CallContext): Promise<RefundResponse> {
    const purchaseId = requireText(req.transactionId, "transaction_id");
    const key = requireText(req.idempotencyKey, "idempotency_key");
    const reason = req.reason.slice(0, 200);
    const found = await this.ctx.state.get<StoredTransaction>(txnKey(purchaseId));
    if (!found)
      return {
        success: false,
        replayed: false,
        error: { code: "NOT_FOUND", message: `no transaction ${purchaseId}`, field: "transaction_id" },
      };
    const purchase = found.value.txn;
    const playerId = purchase.playerId;
    const requested = req.amount ? this.amountOf(req.amount, "amount", purchase.amount.currency) : undefined;
    const fingerprint = `${purchaseId}|${requested ? `${requested.currency}|${requested.units}` : "rest"}`;

    return this.idempotent<Omit<RefundResponse, "replayed">>(
      playerId,
      key,
      "refund",
      fingerprint,
      call.deadline,
      async (claim) => {
        const refundId = claim.txnId;
        const reserved = await this.mutate<
          StoredTransaction,
          { ok: boolean; units: bigint; original: Transaction; error?: ErrorDetail }
        >(txnKey(purchaseId), call.deadline, (cur) => {
          const r = reserveRefund(cur!.value, refundId, requested);
          if (!r.ok)
            return {
              result: {
                ok: false,
                units: 0n,
                original: cur!.value.txn,
                error: { code: r.code, message: r.message, field: "amount" },
              },
            };
          return { write: r.next, result: { ok: true, units: r.units, original: (r.next ?? cur!.value).txn } };
        });
        if (!reserved.ok)
          return { response: { success: false, original: reserved.original, error: reserved.error }, final: false };
        const currency = purchase.amount.currency;
        const entry = await this.applyOp(
          playerId,
          { txnId: refundId, kind: "TRANSACTION_KIND_REFUND", currency, units: reserved.units },
          call.deadline,
        );
        const refund = this.transaction(claim, playerId, "TRANSACTION_KIND_REFUND", entry, reserved.units, key, {
          originalTransactionId: purchaseId,
          reason,
        });
        await this.record(refund);
        const full = reserved.original.status === "TRANSACTION_STATUS_REFUNDED";
        await this.publish("PurchaseRefundedEvent", refundId, {
          playerId,
          refundTransactionId: refundId,
          originalTransactionId: purchaseId,
          amount: refund.amount,
          balance: refund.balanceAfter,
          full,
          at: refund.createdAt,
        });
        return {
          response: { success: true, refund, original: reserved.original, balance: refund.balanceAfter },
          final: true,
        };
      },
    );
  }

  async ListTransactions(req: ListTransactionsRequest): Promise<ListTransactionsResponse> {
    const playerId = requireText(req.playerId, "player_id");
    const pageSize = Math.min(req.page?.pageSize || PAGE_DEFAULT, PAGE_MAX);
    const currency = req.currency.toUpperCase();
    const kind = req.kind === "TRANSACTION_KIND_UNSPECIFIED" ? "" : req.kind;
    const wallet = (await this.ctx.state.get<Wallet>(walletKey(playerId)))?.value ?? emptyWallet();
    let seq = wallet.seq;
    if (req.page?.pageToken) {
      try {
        seq = Math.min(decodeCursor(req.page.pageToken), wallet.seq);
      } catch (err) {
        throw badRequest((err as Error).message);
      }
    }
    const ids: string[] = [];
    let scanned = 0;
    // read the index newest first in batches, keeping the entries that pass the filters
    while (seq > 0 && ids.length < pageSize && scanned < SCAN_MAX) {
      const batch = Array.from({ length: Math.min(seq, pageSize * 2) }, (_, i) => seq - i);
      const entries = await Promise.all(batch.map((s) => this.ctx.state.get<LedgerIndex>(ledgerKey(playerId, s))));
      for (let i = 0; i < batch.length; i++) {
        seq = batch[i]! - 1;
        scanned++;
        const e = entries[i]?.value;
        if (e && (!currency || e.currency === currency) && (!kind || e.kind === kind)) ids.push(e.txnId);
        if (ids.length === pageSize) break;
      }
    }
    const txns = await Promise.all(ids.map((id) => this.ctx.state.get<StoredTransaction>(txnKey(id))));
    return {
      transactions: txns.filter((t) => t !== null).map((t) => t.value.txn),
      page: { nextPageToken: seq > 0 ? encodeCursor(seq) : "", total: currency || kind ? 0 : wallet.seq },
    };
  }

  private amountOf(m: Money | undefined, field: string, fallbackCurrency = this.defaultCurrency) {
    try {
      return parseAmount(m, fallbackCurrency, field);
    } catch (err) {
      throw badRequest((err as Error).message);
    }
  }

  private serialized<R>(key: string, fn: () => Promise<R>): Promise<R> {
    const run = (this.queues.get(key) ?? Promise.resolve()).then(fn, fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(key, tail);
    void tail.then(() => this.queues.get(key) === tail && this.queues.delete(key));
    return run;
  }

  /** Read-modify-write of one key at the revision read; `fn` returning no `write` ends without writing. */
  private async mutate<T, R>(
    key: string,
    deadline: number,
    fn: (cur: Versioned<T> | null) => { write?: T; result: R },
  ): Promise<R> {
    for (let attempt = 0; ; attempt++) {
      const cur = await this.ctx.state.get<T>(key);
      const { write, result } = fn(cur);
      if (write === undefined) return result;
      try {
        await this.ctx.state.put(key, write, cur?.revision ?? 0);
        return result;
      } catch (err) {
        if (!(err instanceof RevisionConflict)) throw err;
        if (Date.now() >= deadline - 50) throw unavailable(`${key} is busy; retry with the same idempotency key`);
        await sleep(Math.random() * Math.min(20, 2 * (attempt + 1)));
      }
    }
  }

  private applyOp(playerId: string, op: WalletOp, deadline: number): Promise<AppliedEntry> {
    return this.serialized(walletKey(playerId), () =>
      this.mutate<Wallet, AppliedEntry>(walletKey(playerId), deadline, (cur) => {
        try {
          const r = applyToWallet(cur?.value ?? emptyWallet(), op);
          return { write: r.wallet, result: r.entry };
        } catch (err) {
          if (err instanceof RangeError) throw badRequest(err.message);
          throw err;
        }
      }),
    );
  }

  /**
   * Store a transaction and its ledger index entry; a re-run keeps what is there (refunds may have
   * changed it since). Each is written once, by its id and its wallet sequence: a re-run writes the same,
   * so neither waits its turn behind the write fence (KvStore.putOnce).
   */
  private async record(txn: Transaction): Promise<void> {
    const index: LedgerIndex = { txnId: txn.transactionId, currency: txn.amount.currency, kind: txn.kind };
    await Promise.all([
      this.ctx.state.putOnce<StoredTransaction>(txnKey(txn.transactionId), { txn }),
      this.ctx.state.putOnce(ledgerKey(txn.playerId, Number(txn.sequence)), index),
    ]);
  }

  /**
   * Run `work` once per (player, idempotency key): the first request claims the key, concurrent duplicates
   * wait for its result, later ones replay it. `work` returns whether its outcome is final (recorded for
   * replay) or left nothing behind (the claim is released, so the key can be used again).
   */
  private async idempotent<R extends object>(
    playerId: string,
    key: string,
    op: IdemRecord["op"],
    fingerprint: string,
    deadline: number,
    work: (claim: IdemRecord) => Promise<{ response: R; final: boolean }>,
  ): Promise<R & { replayed: boolean }> {
    const k = idemKey(playerId, key);
    const run = async (claim: IdemRecord, revision: number) => {
      let outcome: { response: R; final: boolean };
      try {
        outcome = await work(claim);
      } catch (err) {
        // steps already taken are idempotent: let the next retry take over at once instead of waiting out the lease
        // (not awaited: the release waits for this run to end, and the caller need not wait for it)
        await this.ctx.state.put(k, { ...claim, claimedAt: 0 }, revision).catch(() => void this.releaseLater(k));
        throw err;
      }
      if (outcome.final) {
        await this.ctx.state
          .put<IdemRecord>(k, { ...claim, status: "done", response: outcome.response }, revision)
          .catch((err) => {
            if (!(err instanceof RevisionConflict)) throw err; // taken over meanwhile: the taker records the same outcome
          });
      } else {
        await this.ctx.state.delete(k, revision).catch(() => undefined);
      }
      return { ...outcome.response, replayed: false };
    };
    /** write `claim` (create, or take over the record at `expected`) and run it; CLAIMED_ELSEWHERE when another got there first */
    const claimAndRun = (claim: IdemRecord, expected: number, onClaimed?: () => void) =>
      this.inProgress.track(
        k,
        (async () => {
          let revision: number;
          try {
            revision = await this.ctx.state.put(k, claim, expected);
          } catch (err) {
            if (err instanceof RevisionConflict) return CLAIMED_ELSEWHERE;
            // timed out, say: the claim (or the takeover) may be stored all the same, with nobody to run it
            void this.releaseLater(k);
            throw err;
          }
          onClaimed?.();
          return run(claim, revision);
        })(),
      );

    for (let poll = CLAIM_POLL_MS.first; ; poll = Math.min(poll * 1.5, CLAIM_POLL_MS.max)) {
      const cur = await this.ctx.state.get<IdemRecord>(k);
      if (!cur) {
        const done = await claimAndRun(
          {
            op,
            fingerprint,
            txnId: randomUUID(),
            createdAt: new Date().toISOString(),
            status: "pending",
            claimedAt: Date.now(),
            owner: this.ctx.instanceId,
          },
          0,
        );
        if (done === CLAIMED_ELSEWHERE) continue; // a duplicate claimed it first
        return done;
      }
      const rec = cur.value;
      if (rec.op !== op || rec.fingerprint !== fingerprint) {
        throw conflict(`idempotency key ${key} was already used for a different ${rec.op} request`);
      }
      if (rec.status === "done") return { ...(rec.response as R), replayed: true };
      const here = this.inProgress.of(k);
      // claimed here, and nothing here runs it any more: its run failed, or its claim timed out yet was stored
      const abandoned = !here && rec.owner === this.ctx.instanceId;
      if (!here && (abandoned || Date.now() - rec.claimedAt > this.leaseMs || (await this.ownerGone(rec)))) {
        const done = await claimAndRun(
          { ...rec, claimedAt: Date.now(), owner: this.ctx.instanceId },
          cur.revision,
          () => this.ctx.log.warn("finishing a request another attempt left unfinished", { op, txnId: rec.txnId }),
        );
        if (done === CLAIMED_ELSEWHERE) continue;
        return done;
      }
      if (Date.now() + 30 >= deadline)
        throw conflict(`a ${op} with idempotency key ${key} is still in progress; retry it`);
      const left = deadline - 30 - Date.now();
      // an attempt runs here: its end, not a re-read, says when to look again
      await (here ? settledWithin(here, left) : sleep(Math.min(left, poll * (0.5 + Math.random()))));
    }
  }

  /**
   * A claim of this instance that nothing runs and that could not be released at once (the write timed
   * out, while JetStream elected a leader, say): released as soon as it can be, so that a retry reaching
   * another instance need not wait out the lease. Retries reaching this instance take it over at once.
   */
  private async releaseLater(k: string): Promise<void> {
    for (let wait = 500; wait <= 8000; wait *= 2) {
      await sleep(wait);
      if (this.inProgress.of(k)) return;
      try {
        const cur = await this.ctx.state.get<IdemRecord>(k);
        const rec = cur?.value;
        if (!cur || !rec || rec.status === "done" || rec.owner !== this.ctx.instanceId || rec.claimedAt === 0) return;
        await this.ctx.state.put(k, { ...rec, claimedAt: 0 }, cur.revision);
        return;
      } catch (err) {
        if (err instanceof RevisionConflict) return; // taken over or finished meanwhile
      }
    }
  }

  /**
   * Whether the instance that claimed a pending request is gone: stopped (a rolling deploy drains it, and
   * a request stuck behind a JetStream leader election outlives the drain) or dead. It no longer answers
   * its $SRV.PING, so a retry need not wait out the lease. A live owner that is only slow to answer is
   * taken over too: every step is idempotent per txnId, as after a lease expired.
   */
  private async ownerGone(rec: IdemRecord): Promise<boolean> {
    const owner = rec.owner;
    if (!owner || owner === this.ctx.instanceId || Date.now() - rec.claimedAt < OWNER_CHECK_AFTER_MS) return false;
    let asked = this.owners.get(owner);
    if (!asked || Date.now() - asked.at > OWNER_CHECK_AFTER_MS) {
      asked = {
        at: Date.now(),
        answered: this.ctx.nc
          .request(`$SRV.PING.${this.ctx.name}.${owner}`, undefined, { timeout: OWNER_PING_TIMEOUT_MS })
          .then(
            () => true,
            () => false,
          ),
      };
      this.owners.set(owner, asked);
      for (const [id, a] of this.owners) if (Date.now() - a.at > 60_000) this.owners.delete(id);
    }
    return !(await asked.answered);
  }

  private transaction(
    claim: IdemRecord,
    playerId: string,
    kind: Kind,
    entry: AppliedEntry,
    units: bigint,
    key: string,
    extra: Partial<Transaction>,
  ): Transaction {
    return {
      transactionId: claim.txnId,
      playerId,
      kind,
      status: entry.status,
      amount: money(entry.currency, units),
      balanceAfter: money(entry.currency, BigInt(entry.balanceAfter)),
      idempotencyKey: key,
      sku: "",
      quantity: 0,
      originalTransactionId: "",
      reason: "",
      sequence: String(entry.seq),
      createdAt: claim.createdAt,
      ...extra,
    };
  }
}

export default defineService({
  name: "payment",
  description: "Player wallets with an idempotent, append-only ledger",
  start: (ctx) => new Payment(ctx),
});
