// Game days on the data plane, one fleet for both (`gs up`: payment on a real Redis Cluster of 3 primaries
// with a replica each, orchestration, world-state and settings, 2 instances each), each under a client's
// steady load (payment writes or purchase-item sagas with idempotency keys, and settings.get-schema,
// retried as a client would):
// - the Redis primary holding payment's state is SIGKILLed: its replica takes over, no acknowledged deposit
//   or purchase is lost, none is applied twice;
// - an orchestration instance and a payment instance are SIGKILLed mid-saga: every saga completes or
//   compensates (another instance takes over the runs of the dead one), every wallet equals its ledger.
// Every invariant is checked over every record. The scenarios live in test/support/game-days.ts;
// bench/game-days.mjs runs them longer and records the figures.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  instancesKilledMidSaga,
  redisPrimaryKilled,
  startStateFleet,
  type LedgerFigures,
  type StateGameFleet,
} from "../../test/support/game-days.js";

const log = (l: string) => console.log(l);
const clean = (ledger: LedgerFigures) =>
  expect({
    lost: ledger.lost,
    doubleApplied: ledger.doubleApplied,
    gaps: ledger.gaps,
    balanceMismatches: ledger.balanceMismatches,
  }).toEqual({ lost: 0, doubleApplied: 0, gaps: 0, balanceMismatches: 0 });

describe("game days: the data plane meets faults", () => {
  let fleet: StateGameFleet | undefined;

  beforeAll(async () => {
    fleet = await startStateFleet();
  }, 240_000);

  afterAll(async () => {
    await fleet?.stop();
  }, 120_000);

  it("loses no acknowledged payment and applies none twice when payment's Redis primary dies under load", async () => {
    const r = await redisPrimaryKilled(fleet!, { seconds: 12, killAfterSeconds: 3, rate: 60, log });
    console.log(JSON.stringify(r));
    expect(r.newPrimary).toBe(r.killed.replica);
    expect(r.load.sent).toBeGreaterThan(300);
    expect(r.load.failedRatio, JSON.stringify(r.load.errors)).toBeLessThan(0.001);
    expect(r.ledger.acknowledged).toBeGreaterThan(200);
    clean(r.ledger);
  }, 240_000);

  it("completes or compensates every saga when instances running them are killed, and every wallet equals its ledger", async () => {
    const r = await instancesKilledMidSaga(fleet!, { seconds: 12, killAfterSeconds: 4, rate: 30, log });
    console.log(JSON.stringify(r));
    expect(r.sagas.runs).toBeGreaterThan(60);
    expect(r.resumedRuns).toBeGreaterThan(0);
    expect(r.sagas.succeeded).toBeGreaterThan(0);
    expect(r.sagas.compensated).toBeGreaterThan(0);
    expect({ stuck: r.sagas.stuck, failed: r.sagas.failed, inconsistent: r.sagas.inconsistent }).toEqual({
      stuck: 0,
      failed: 0,
      inconsistent: 0,
    });
    expect(r.load.failedRatio, JSON.stringify(r.load.errors)).toBeLessThan(0.001);
    clean(r.ledger);
  }, 240_000);
});
