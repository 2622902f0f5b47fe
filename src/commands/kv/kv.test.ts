// `gs kv ls|get|history` through the built CLI against a real nats-server with JetStream, the state
// written by real services (payment, auth) through the SDK, as in the fleet.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JetStreamKvStore } from "../../../services/sdk/state.js";
import { startHarness, type Harness } from "../../../services/test-support/harness.js";
import auth from "../../../services/auth/service.js";
import payment from "../../../services/payment/service.js";
import { startNatsServer, type TestNatsServer } from "../../../test/support/nats-server.js";
import { runCli } from "../../../test/support/run-cli.js";
import type { KvGetJson } from "./get.js";
import type { KvHistoryJson } from "./history.js";
import type { KvLsJson } from "./ls.js";

const PASSWORD = "correct-horse-battery";
let h: Harness;
let dir: string;

/** gs kv against the harness's server, from a directory without gs.yaml (service names come from proto/). */
const kv = (args: string[]) => runCli(["kv", ...args, "-s", h.url], { cwd: dir });
const deposit = (playerId: string, minorUnits: number, key: string) =>
  h.call("payment.deposit", {
    playerId,
    amount: { currency: "GOLD", minorUnits: String(minorUnits) },
    idempotencyKey: key,
  });

beforeAll(async () => {
  h = await startHarness();
  await h.start(payment);
  await h.start(auth, { env: { AUTH_SCRYPT_N: "1024" } });
  await deposit("p1", 100, "d1");
  await deposit("p1", 50, "d2");
  await deposit("p2", 7, "d3");
  await h.call("auth.register", { username: "alice", password: PASSWORD, email: "a@example.com", displayName: "A" });
  dir = mkdtempSync(path.join(os.tmpdir(), "gs-kv-"));
}, 60_000);

afterAll(async () => {
  await h?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("gs kv on JetStream KV", () => {
  it("lists a service's keys, sorted, and only those under --prefix", async () => {
    const all = await kv(["ls", "payment"]);
    expect(all.code, all.stderr).toBe(0);
    const keys = all.stdout.trim().split("\n");
    expect(keys).toEqual([...keys].sort());
    expect(keys).toEqual(expect.arrayContaining(["wallet.p1", "wallet.p2", "idem.p1.d1", "idem.p1.d2"]));
    expect(keys.filter((k) => k.startsWith("ledger.p1."))).toHaveLength(2);
    expect(all.stderr).toMatch(/payment: \d+ keys in JetStream KV bucket gs_payment/);
    const wallets = await kv(["ls", "payment", "--prefix", "wallet", "--json"]);
    expect(wallets.code, wallets.stderr).toBe(0);
    const json = JSON.parse(wallets.stdout) as KvLsJson;
    expect(json).toEqual({
      service: "payment",
      backend: "jetstream",
      store: "JetStream KV bucket gs_payment",
      prefix: "wallet",
      keys: ["wallet.p1", "wallet.p2"],
    });
  });

  it("prints a key's current value as JSON, with its revision and time", async () => {
    const r = await kv(["get", "payment", "wallet.p1"]);
    expect(r.code, r.stderr).toBe(0);
    const wallet = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(JSON.stringify(wallet)).toContain('"150"');
    expect(r.stderr).toMatch(
      /^payment wallet\.p1: revision \d+, \d{4}-\d\d-\d\dT[\d:.]+Z, JetStream KV bucket gs_payment\n$/,
    );
    const j = await kv(["get", "payment", "wallet.p1", "--json"]);
    const json = JSON.parse(j.stdout) as KvGetJson;
    expect(json).toMatchObject({ service: "payment", backend: "jetstream", key: "wallet.p1", operation: "PUT" });
    expect(json.value).toEqual(wallet);
    expect(Date.now() - Date.parse(json.time!)).toBeLessThan(60_000);
    expect(json.revision).toBeGreaterThan(0);
  });

  it("shows the revisions of a key oldest first, deletes included, and a deleted key is gone for get", async () => {
    // a service deletes through the SDK; gs only reads
    const store = await JetStreamKvStore.open(h.nc, "gs_payment");
    await store.put("note.k", { step: 1 });
    await store.put("note.k", { step: 2 });
    await store.delete("note.k");
    const r = await kv(["history", "payment", "note.k"]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^rev +\d+ {2}\S+Z {2}PUT {4}\{"step":1\}$/);
    expect(lines[1]).toMatch(/PUT {4}\{"step":2\}$/);
    expect(lines[2]).toMatch(/^rev +\d+ {2}\S+Z {2}DEL$/);
    expect(r.stderr).toContain("3 revisions kept");
    const json = JSON.parse((await kv(["history", "payment", "note.k", "--json"])).stdout) as KvHistoryJson;
    expect(json.historyKept).toBe(true);
    expect(json.entries.map((e) => e.operation)).toEqual(["PUT", "PUT", "DEL"]);
    expect(json.entries[0]!.revision).toBeLessThan(json.entries[2]!.revision);
    const get = await kv(["get", "payment", "note.k"]);
    expect(get.code).toBe(2);
    expect(get.stderr).toMatch(
      /^error: payment key "note\.k" was deleted at revision \d+ \(.+\) — `gs kv history payment note\.k`/,
    );
  });

  it("redacts the password hash auth keeps, in every output form", async () => {
    const plain = await kv(["get", "auth", "user.alice"]);
    expect(plain.code, plain.stderr).toBe(0);
    const value = JSON.parse(plain.stdout) as Record<string, unknown>;
    expect(value).toMatchObject({ username: "alice", password: "[redacted]" });
    expect(plain.stderr).toContain("redacted: password");
    const json = JSON.parse((await kv(["get", "auth", "user.alice", "--json"])).stdout) as KvGetJson;
    expect(json.redacted).toEqual(["password"]);
    const history = await kv(["history", "auth", "user.alice"]);
    // what the store holds under password (salt and hash) appears nowhere
    const raw = await (
      await JetStreamKvStore.open(h.nc, "gs_auth")
    ).get<{ password: { salt: string; hash: string } }>("user.alice");
    for (const out of [plain.stdout, JSON.stringify(json), history.stdout]) {
      expect(out).not.toContain(raw!.value.password.salt);
      expect(out).not.toContain(raw!.value.password.hash);
      expect(out).not.toContain(PASSWORD);
    }
  });

  it("refuses an unknown service with a suggestion, exit 2", async () => {
    const r = await kv(["ls", "paymnt"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(
      /^error: unknown service paymnt \(did you mean payment\?\) — services in proto\/: .*payment/,
    );
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("refuses an unknown key with the closest keys, exit 2, also as a JSON error", async () => {
    const r = await kv(["get", "payment", "wallet.p3"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'error: payment has no key "wallet.p3" (did you mean wallet.p1, wallet.p2?) — `gs kv ls payment --prefix wallet` lists its keys\n',
    );
    const j = await kv(["history", "payment", "nothing", "--json"]);
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout)).toMatchObject({ error: { code: "unknown_key", exitCode: 2 } });
  });

  it("says a known service that never ran here has no bucket, exit 1, and creates none", async () => {
    const r = await kv(["ls", "quest-system"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^error: quest-system has no state in JetStream: bucket gs_quest-system does not exist on this NATS — /,
    );
    const streams: string[] = [];
    const { jetstreamManager } = await import("@nats-io/jetstream");
    for await (const s of (await jetstreamManager(h.nc)).streams.names()) streams.push(s);
    expect(streams).not.toContain("KV_gs_quest-system");
  });

  it("refuses a key the SDK could never write, exit 2", async () => {
    const r = await kv(["get", "payment", "x".repeat(2000)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: bad key "x{80}": key is longer than 1024 characters/);
  });
});

describe("gs kv without JetStream", () => {
  let plain: TestNatsServer;
  beforeAll(async () => {
    plain = await startNatsServer();
  });
  afterAll(async () => plain?.stop());

  it("says JetStream is not enabled, exit 1, one line", async () => {
    const r = await runCli(["kv", "ls", "payment", "-s", plain.url], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: cannot reach JetStream: JetStream is not enabled on this server or account — /);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});
