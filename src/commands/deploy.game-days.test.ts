// Game days on the local platform, one fleet for both (`gs up --cluster 5`, every service, R3 JetStream),
// each under a client's steady load (payment deposits with idempotency keys and settings.get-schema,
// retried as a client would):
// - a NATS node is killed in the middle of a rolling deploy of every service: the deploy completes (or
//   rolls back cleanly and the next one completes), the fleet ends at the intended version;
// - the machine running `gs deploy` is gone halfway (SIGKILL of the CLI): `gs status` shows the truth and
//   the next `gs deploy` reconciles: every service on the intended version alone, no orphan instance.
// After each: < 0.1% failed requests, every acknowledged deposit in the ledger once, every balance equal
// to its ledger. The scenarios live in test/support/game-days.ts; bench/game-days.mjs records them longer.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  deployerKilledMidDeploy,
  natsNodeKilledMidDeploy,
  startDeployFleet,
  type LedgerFigures,
  type LocalGameFleet,
} from "../../test/support/game-days.js";
import { existingServices } from "../../test/support/local-fleet.js";

const log = (l: string) => console.log(l);
const clean = (ledger: LedgerFigures) => {
  expect(ledger.acknowledged).toBeGreaterThan(ledger.players);
  expect({
    lost: ledger.lost,
    doubleApplied: ledger.doubleApplied,
    gaps: ledger.gaps,
    balanceMismatches: ledger.balanceMismatches,
  }).toEqual({ lost: 0, doubleApplied: 0, gaps: 0, balanceMismatches: 0 });
};

describe.runIf(existingServices().length === 22)("game days: deploys meet faults (local platform)", () => {
  let fleet: LocalGameFleet | undefined;

  beforeAll(async () => {
    fleet = await startDeployFleet();
  }, 420_000);

  afterAll(async () => {
    await fleet?.stop();
  }, 120_000);

  it("completes a rolling deploy of every service through the loss of a NATS node, and ends at the intended version", async () => {
    const r = await natsNodeKilledMidDeploy(fleet!, { rate: 60, log });
    console.log(JSON.stringify(r));
    expect([0, 3]).toContain(r.deploy.exitCode);
    expect(r.deploy.actions.failed ?? 0).toBe(0);
    expect(r.end).toEqual({ offVersion: [], mixed: [], orphans: 0, missing: 0 });
    expect(r.load.sent).toBeGreaterThan(300);
    expect(r.load.failedRatio, JSON.stringify({ errors: r.load.errors, timeline: r.load.timeline })).toBeLessThan(
      0.001,
    );
    if (r.natsServer.serializable) clean(r.ledger);
    else {
      // nats-server < 2.11 may store two updates of one KV key at the same revision around a failover
      // (nats-io/nats-server#6194): a wallet can lose a deposit its ledger holds. Nothing is applied
      // twice and the ledger has no hole; what was lost is recorded (bench/game-days.json) and the runbook
      // says what to do. With nats-server >= 2.11 the check above is the whole check.
      console.log(`nats-server ${r.natsServer.version}: ${r.ledger.lost} lost, ${JSON.stringify(r.ledger.lostDetail)}`);
      expect({ doubleApplied: r.ledger.doubleApplied, gaps: r.ledger.gaps }).toEqual({ doubleApplied: 0, gaps: 0 });
    }
  }, 600_000);

  it("shows a deploy whose CLI was killed halfway as it is, and the next deploy reconciles it", async () => {
    const r = await deployerKilledMidDeploy(fleet!, { rate: 60, log });
    console.log(JSON.stringify({ ...r, statusAfter: { ...r.statusAfter, text: undefined } }));
    console.log(r.statusAfter.text);
    // killed halfway: some rollouts done, not all begun
    expect(r.killedAfter.deployed).toBeGreaterThan(0);
    expect(r.killedAfter.begun).toBeLessThan(r.services);
    // the truth: the services the killed deploy never reached still run their old version, steady
    expect(r.statusAfter.states.steady ?? 0).toBeGreaterThanOrEqual(r.services - r.killedAfter.begun);
    expect(r.statusAfter.text).toMatch(/^SERVICE\s+DESIRED\s+RUNNING/m);
    // the next deploy: exit 0; what the first finished is unchanged, the rest deployed (or taken over)
    expect(r.next.exitCode).toBe(0);
    expect(r.next.actions.unchanged ?? 0).toBeGreaterThanOrEqual(r.killedAfter.deployed);
    expect((r.next.actions.unchanged ?? 0) + (r.next.actions.deployed ?? 0)).toBe(r.services);
    expect(r.end).toEqual({ offVersion: [], mixed: [], orphans: 0, missing: 0 });
    expect(r.load.failedRatio, JSON.stringify({ errors: r.load.errors, timeline: r.load.timeline })).toBeLessThan(
      0.001,
    );
    clean(r.ledger);
  }, 600_000);
});
