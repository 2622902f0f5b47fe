// Payment domain: money arithmetic (bigint minor units), applying ledger entries to a wallet, refund
// reservations on a purchase. Pure functions over plain records; the service stores them. No NATS here.

import type { Money } from "../generated/gs/common/v1/common.js";

// proto messages as generated from proto/ (services/generated)
export type { Money };

export const INT64_MAX = 2n ** 63n - 1n;
/** How many applied transaction ids a wallet remembers, to make re-applying one a no-op. */
export const RECENT_MAX = 128;

export type Kind = "TRANSACTION_KIND_DEPOSIT" | "TRANSACTION_KIND_PURCHASE" | "TRANSACTION_KIND_REFUND";
export type Status =
  | "TRANSACTION_STATUS_COMPLETED"
  | "TRANSACTION_STATUS_REJECTED"
  | "TRANSACTION_STATUS_REFUNDED"
  | "TRANSACTION_STATUS_PARTIALLY_REFUNDED";

export const money = (currency: string, units: bigint): Money => ({ currency, minorUnits: units.toString() });

const CURRENCY_RE = /^[A-Z][A-Z0-9]{2,9}$/;

/** A currency code from a request, upper-cased; `fallback` when empty. */
export function parseCurrency(raw: string, fallback: string, field: string): string {
  const currency = (raw || fallback).toUpperCase();
  if (!CURRENCY_RE.test(currency)) throw new RangeError(`${field} "${raw}" is not a currency code (e.g. USD, GOLD)`);
  return currency;
}

/** Validate an amount from a request: positive, integral, in a known-shaped currency (default when empty). */
export function parseAmount(
  m: Money | undefined,
  defaultCurrency: string,
  field: string,
): { currency: string; units: bigint } {
  if (!m) throw new RangeError(`${field} is required`);
  const currency = parseCurrency(m.currency, defaultCurrency, `${field}.currency`);
  const units = BigInt(m.minorUnits || "0");
  if (units <= 0n) throw new RangeError(`${field} must be positive`);
  return { currency, units };
}

export interface AppliedEntry {
  txnId: string;
  seq: number;
  currency: string;
  balanceAfter: string;
  status: "TRANSACTION_STATUS_COMPLETED" | "TRANSACTION_STATUS_REJECTED";
}

export interface Wallet {
  /** currency -> balance in minor units (decimal string) */
  balances: Record<string, string>;
  /** ledger sequence of the last entry */
  seq: number;
  recent: AppliedEntry[];
}

export const emptyWallet = (): Wallet => ({ balances: {}, seq: 0, recent: [] });

export interface WalletOp {
  txnId: string;
  kind: Kind;
  currency: string;
  units: bigint;
}

export type ApplyResult = { wallet: Wallet; entry: AppliedEntry } | { wallet?: undefined; entry: AppliedEntry };

export function balanceOf(w: Wallet, currency: string): bigint {
  return BigInt(w.balances[currency] ?? "0");
}

/**
 * Apply one ledger entry. Purchases that would overdraw are recorded as REJECTED (the balance does not
 * move, but the decision takes a sequence number, so it was made against one definite wallet state).
 * An op whose txnId is already applied returns the earlier entry and no new wallet (nothing to write).
 */
export function applyToWallet(w: Wallet, op: WalletOp): ApplyResult {
  const done = w.recent.find((e) => e.txnId === op.txnId);
  if (done) return { entry: done };
  const before = balanceOf(w, op.currency);
  let after = before;
  let status: AppliedEntry["status"] = "TRANSACTION_STATUS_COMPLETED";
  if (op.kind === "TRANSACTION_KIND_PURCHASE") {
    if (before < op.units) status = "TRANSACTION_STATUS_REJECTED";
    else after = before - op.units;
  } else {
    after = before + op.units;
    if (after > INT64_MAX)
      throw new RangeError(`the ${op.currency} balance would exceed the largest amount a wallet can hold`);
  }
  const entry: AppliedEntry = {
    txnId: op.txnId,
    seq: w.seq + 1,
    currency: op.currency,
    balanceAfter: after.toString(),
    status,
  };
  const balances = after === before ? w.balances : { ...w.balances, [op.currency]: after.toString() };
  return { wallet: { balances, seq: entry.seq, recent: [...w.recent, entry].slice(-RECENT_MAX) }, entry };
}

/** proto Transaction in JSON form. */
export interface Transaction {
  transactionId: string;
  playerId: string;
  kind: Kind;
  status: Status;
  amount: Money;
  balanceAfter: Money;
  idempotencyKey: string;
  sku: string;
  quantity: number;
  originalTransactionId: string;
  refundedAmount?: Money;
  reason: string;
  sequence: string;
  createdAt: string;
}

/** A stored transaction: the proto record plus, for purchases, the refunds reserved against it. */
export interface StoredTransaction {
  txn: Transaction;
  refunds?: { refundId: string; units: string }[];
}

export type RefundCheck =
  | { ok: true; units: bigint; next?: StoredTransaction }
  | { ok: false; code: "NOT_REFUNDABLE" | "AMOUNT_EXCEEDS_REMAINING" | "CURRENCY_MISMATCH"; message: string };

/**
 * Reserve `requested` (undefined = all that remains) of a purchase for refund `refundId`. Idempotent:
 * a refund already reserved returns its amount and no change, so a retried refund never counts twice.
 */
export function reserveRefund(
  p: StoredTransaction,
  refundId: string,
  requested: { currency: string; units: bigint } | undefined,
): RefundCheck {
  const txn = p.txn;
  const prior = p.refunds?.find((r) => r.refundId === refundId);
  if (prior) return { ok: true, units: BigInt(prior.units) };
  if (txn.kind !== "TRANSACTION_KIND_PURCHASE" || txn.status === "TRANSACTION_STATUS_REJECTED") {
    return { ok: false, code: "NOT_REFUNDABLE", message: `${txn.transactionId} is not a completed purchase` };
  }
  const paid = BigInt(txn.amount.minorUnits);
  const refunded = (p.refunds ?? []).reduce((sum, r) => sum + BigInt(r.units), 0n);
  const remaining = paid - refunded;
  if (remaining <= 0n)
    return { ok: false, code: "NOT_REFUNDABLE", message: `${txn.transactionId} is already fully refunded` };
  if (requested && requested.currency !== txn.amount.currency) {
    return { ok: false, code: "CURRENCY_MISMATCH", message: `the purchase was paid in ${txn.amount.currency}` };
  }
  const units = requested?.units ?? remaining;
  if (units > remaining) {
    return {
      ok: false,
      code: "AMOUNT_EXCEEDS_REMAINING",
      message: `only ${remaining} ${txn.amount.currency} minor units remain refundable`,
    };
  }
  const total = refunded + units;
  return {
    ok: true,
    units,
    next: {
      txn: {
        ...txn,
        refundedAmount: money(txn.amount.currency, total),
        status: total === paid ? "TRANSACTION_STATUS_REFUNDED" : "TRANSACTION_STATUS_PARTIALLY_REFUNDED",
      },
      refunds: [...(p.refunds ?? []), { refundId, units: units.toString() }],
    },
  };
}

/** Opaque page cursor over ledger sequence numbers (the next sequence to read, going down). */
export function encodeCursor(seq: number): string {
  return Buffer.from(`seq:${seq}`).toString("base64url");
}
export function decodeCursor(token: string): number {
  const m = /^seq:(\d+)$/.exec(Buffer.from(token, "base64url").toString());
  if (!m) throw new RangeError("page_token is not a token this service issued");
  return Number(m[1]);
}
