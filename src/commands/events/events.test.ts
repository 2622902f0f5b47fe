// `gs events tail|replay` through the built CLI against a real nats-server with JetStream: events
// published by a real service (payment) through the SDK, decoded by their proto types.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jetstream } from "@nats-io/jetstream";
import { startHarness, type Harness } from "../../../services/test-support/harness.js";
import payment from "../../../services/payment/service.js";
import { startCli } from "../../../test/support/live-process.js";
import { startNatsServer, type TestNatsServer } from "../../../test/support/nats-server.js";
import { runCli } from "../../../test/support/run-cli.js";
import type { EventsTailJsonLine } from "./tail.js";

let h: Harness;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const deposit = (n: number) =>
  h.call("payment.deposit", {
    playerId: "p1",
    amount: { currency: "GOLD", minorUnits: String(n) },
    idempotencyKey: `d${n}`,
  });
const purchase = (sku: string, playerId = "p1") =>
  h.call("payment.purchase", {
    playerId,
    sku,
    price: { currency: "GOLD", minorUnits: "1" },
    idempotencyKey: `${playerId}-${sku}`,
  });
const events = (args: string[]) => runCli(["events", ...args, "-s", h.url]);
const ndjson = (stdout: string) =>
  stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as EventsTailJsonLine);
/** `time  #seq  subject  {json}` */
const plainLine = /^(\S+Z) {2}#(\d+) {2}(\S+) {2}(\{.*\})$/;

let all: EventsTailJsonLine[];

beforeAll(async () => {
  h = await startHarness();
  await h.start(payment);
  for (let i = 1; i <= 3; i++) await deposit(i);
  await purchase("sword");
  // bytes no proto type describes, as `gs publish --raw` could leave them
  await jetstream(h.nc).publish("events.payment.audit-note", new Uint8Array([0xff, 0xfe]));
  for (let i = 4; i <= 9; i++) await deposit(i);
  await purchase("shield");
  for (let i = 10; i <= 12; i++) await deposit(i);
  // three rejected purchases 400 ms apart, to replay at their pace
  for (const sku of ["a", "b", "c"]) {
    await purchase(sku, "nobody");
    if (sku !== "c") await sleep(400);
  }
  const r = await events(["tail", "--since", "1h", "--json"]);
  expect(r.code, r.stderr).toBe(0);
  all = ndjson(r.stdout);
}, 60_000);

afterAll(async () => h?.stop());

describe("gs events tail", () => {
  it("decodes every event of the stream with its proto type, in stream order", () => {
    expect(all).toHaveLength(18);
    const seqs = all.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(all[0]).toMatchObject({
      subject: "events.payment.funds-deposited",
      type: "payment.v1.FundsDepositedEvent",
      data: { playerId: "p1", amount: { currency: "GOLD", minorUnits: "1" } },
    });
    expect(Date.now() - Date.parse(all[0]!.time)).toBeLessThan(120_000);
    const raw = all.find((e) => e.subject === "events.payment.audit-note")!;
    expect(raw.type).toBeUndefined();
    expect(raw.bytes).toMatchObject({ hex: "fffe", base64: "//4=" });
  });

  it("prints the last 10 events by default, one plain line each", async () => {
    const r = await events(["tail"]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(10);
    const parsed = lines.map((l) => plainLine.exec(l)!);
    expect(parsed.every(Boolean)).toBe(true);
    expect(parsed.map((m) => Number(m[2]))).toEqual(all.slice(-10).map((e) => e.seq));
    expect(JSON.parse(parsed[9]![4]!)).toEqual(all.at(-1)!.data);
  });

  it("keeps to --subject, and -n counts only the events on it", async () => {
    const purchases = ndjson(
      (await events(["tail", "--subject", "events.payment.purchase-completed", "--json"])).stdout,
    );
    expect(purchases.map((e) => e.data?.sku)).toEqual(["sword", "shield"]);
    const last = ndjson(
      (await events(["tail", "--subject", "events.payment.purchase-completed", "-n", "1", "--json"])).stdout,
    );
    expect(last.map((e) => e.data?.sku)).toEqual(["shield"]);
    const deposits = ndjson(
      (await events(["tail", "--subject", "events.payment.funds-deposited", "-n", "4", "--json"])).stdout,
    );
    expect(deposits.map((e) => e.data?.amount)).toEqual(
      [9, 10, 11, 12].map((n) => ({ currency: "GOLD", minorUnits: String(n) })),
    );
    const wildcard = ndjson((await events(["tail", "--subject", "events.*.purchase-rejected", "--json"])).stdout);
    expect(wildcard.map((e) => e.data?.sku)).toEqual(["a", "b", "c"]);
  });

  it("says so when no event matches, exit 0", async () => {
    const r = await events(["tail", "--subject", "events.payment.purchase-refunded"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe("no events on events.payment.purchase-refunded\n");
  });

  it("follows new events with --follow until Ctrl-C, then exits 0", async () => {
    const p = startCli(["events", "tail", "--subject", "events.payment.funds-deposited", "-n", "1", "-f", "-s", h.url]);
    await p.waitFor("stdout", /"minorUnits":"12"/);
    await deposit(13);
    await p.waitFor("stdout", /"minorUnits":"13"/);
    p.signal("SIGINT");
    expect(await p.exit).toEqual({ code: 0, signal: null });
    expect(p.stdout().trim().split("\n")).toHaveLength(2);
  });
});

describe("gs events replay", () => {
  it("reads the range between two sequences, in order", async () => {
    const from = all[2]!.seq;
    const to = all[6]!.seq;
    const r = await events(["replay", "--from-seq", String(from), "--to-seq", String(to), "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(ndjson(r.stdout).map((e) => e.seq)).toEqual(all.slice(2, 7).map((e) => e.seq));
    const three = await events(["replay", "--since", "1h", "-n", "3", "--json"]);
    expect(ndjson(three.stdout).map((e) => e.seq)).toEqual(all.slice(0, 3).map((e) => e.seq));
  });

  it("keeps the original gaps with --speed 1, and none without it", async () => {
    const args = ["events", "replay", "--subject", "events.payment.purchase-rejected", "--since", "1h", "-s", h.url];
    const timed = async (extra: string[]) => {
      const p = startCli([...args, ...extra]);
      await p.waitFor("stdout", /"sku":"a"/);
      const first = Date.now();
      await p.waitFor("stdout", /"sku":"c"/);
      const gap = Date.now() - first;
      expect(await p.exit).toEqual({ code: 0, signal: null });
      return gap;
    };
    expect(await timed(["--speed", "1"])).toBeGreaterThanOrEqual(650);
    expect(await timed([])).toBeLessThan(400);
  });
});

describe("bad input", () => {
  it.each([
    [["tail", "--subject", "payment.deposit"], /is not an event subject/],
    [["tail", "--subject", "events.paymnt.>"], /no service paymnt in proto\/ \(did you mean events\.payment\.>\?\)/],
    [
      ["tail", "--subject", "events.payment.deposited"],
      /payment publishes no event events\.payment\.deposited \(did you mean events\.payment\.funds-deposited/,
    ],
    [["tail", "--subject", "events.payment"], /matches no event/],
    [["tail", "--subject", "events.>.x"], /is not a valid subject/],
    [["tail", "--since", "yesterday"], /^error: --since: bad time "yesterday": use a duration ago/],
    [["tail", "--since", "2999-01-01T00:00:00Z"], /--since: 2999-01-01T00:00:00Z is in the future/],
    [["tail", "-n", "0"], /-n|--count/],
    [["replay"], /replay needs one start: --since TIME or --from-seq N/],
    [["replay", "--since", "1h", "--from-seq", "1"], /replay needs one start/],
    [["replay", "--from-seq", "5", "--to-seq", "2"], /--to-seq 2 is before --from-seq 5/],
    [["replay", "--since", "1m", "--to", "1h"], /--to is before --since/],
    [["replay", "--from-seq", "1", "--speed", "0"], /--speed: bad speed "0"/],
  ])("gs events %j exits 2 with one line", async (argv, message) => {
    const r = await events(argv);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe("a NATS without the EVENTS stream", () => {
  let bare: TestNatsServer;
  beforeAll(async () => {
    bare = await startNatsServer({ jetstream: true });
  });
  afterAll(async () => bare?.stop());

  it("says there is no EVENTS stream, exit 1", async () => {
    const r = await runCli(["events", "tail", "-s", bare.url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: there is no EVENTS stream on this NATS — the first service to start creates it/);
  });
});
