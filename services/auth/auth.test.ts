import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../test-support/harness.js";
import type { KvStore } from "../sdk/state.js";
import { hashPassword, sessionStatus, sessionTtlMs, verifyPassword } from "./domain.js";
import service from "./service.js";

const FAST = { N: 1024, r: 8, p: 1 };

describe("auth domain", () => {
  it("verifies the right password and rejects a wrong one against a salted scrypt hash", async () => {
    const a = await hashPassword("correct horse", FAST);
    const b = await hashPassword("correct horse", FAST);
    expect(a.salt).not.toBe(b.salt);
    expect(a.hash).not.toBe(b.hash);
    expect(await verifyPassword("correct horse", a)).toBe(true);
    expect(await verifyPassword("correct horsE", a)).toBe(false);
  });

  it("defaults the session ttl to 1h and caps it at the maximum", () => {
    expect(sessionTtlMs(undefined, 3600_000, 86400_000)).toBe(3600_000);
    expect(sessionTtlMs("0s", 3600_000, 86400_000)).toBe(3600_000);
    expect(sessionTtlMs("90.5s", 3600_000, 86400_000)).toBe(90_500);
    expect(sessionTtlMs("999999s", 3600_000, 86400_000)).toBe(86400_000);
    expect(() => sessionTtlMs("-5s", 3600_000, 86400_000)).toThrow(/negative/);
  });

  it("says why a session is not valid, revocation first", () => {
    const s = { playerId: "p", username: "u", issuedAt: "", expiresAt: new Date(1000).toISOString(), client: "" };
    expect(sessionStatus(undefined, 0)).toEqual({ valid: false, reason: "UNKNOWN" });
    expect(sessionStatus(s, 500)).toEqual({ valid: true });
    expect(sessionStatus(s, 1000)).toEqual({ valid: false, reason: "EXPIRED" });
    expect(sessionStatus({ ...s, revokedAt: new Date(0).toISOString() }, 2000)).toEqual({
      valid: false,
      reason: "REVOKED",
    });
  });
});

describe("auth service", () => {
  let h: Harness;
  let state: KvStore;
  const logs: string[] = [];
  beforeAll(async () => {
    h = await startHarness();
    const running = await h.start(service, {
      env: { AUTH_SCRYPT_N: "1024", AUTH_SESSION_GRACE_S: "0.2", AUTH_SWEEP_INTERVAL_S: "0.1" },
    });
    state = running.ctx.state;
    // capture what the service logs, to prove secrets stay out of it
    const orig = running.ctx.log;
    for (const level of ["info", "warn", "error"] as const) {
      const f = orig[level].bind(orig);
      orig[level] = (msg, fields) => {
        logs.push(JSON.stringify({ msg, fields }));
        f(msg, fields);
      };
    }
  });
  afterAll(async () => h?.stop());

  it("registers a player and never stores or returns the password", async () => {
    const r = await h.call<{ playerId: string; username: string }>("auth.register", {
      username: "Aria_1",
      password: "s3cret-pass",
      email: "aria@example.com",
    });
    expect(r.username).toBe("aria_1");
    expect(r.playerId).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.stringify(r)).not.toContain("s3cret-pass");
    const stored = await state.get<Record<string, unknown>>("user.aria_1");
    expect(JSON.stringify(stored)).not.toContain("s3cret-pass");
    expect(stored?.value.password).toMatchObject({ alg: "scrypt", N: 1024 });
  });

  it("refuses a username that differs only in case", async () => {
    const err = await h.fail("auth.register", { username: "ARIA_1", password: "another-pass" });
    expect(err.code).toBe(409);
  });

  it("rejects a short password and a bad username with 400", async () => {
    expect((await h.fail("auth.register", { username: "bob", password: "short" })).code).toBe(400);
    expect((await h.fail("auth.register", { username: "b b", password: "long-enough" })).code).toBe(400);
  });

  it("logs in, validates the token and logs out", async () => {
    const { session } = await h.call<{
      session: { sessionToken: string; playerId: string; issuedAt: string; expiresAt: string };
    }>("auth.login", {
      username: "aria_1",
      password: "s3cret-pass",
      client: "pc/1.0",
    });
    expect(Buffer.from(session.sessionToken, "base64url")).toHaveLength(32);
    expect(Date.parse(session.expiresAt) - Date.parse(session.issuedAt)).toBe(3600_000);
    const v = await h.call<{ valid: boolean; session: { playerId: string } }>("auth.validate", {
      sessionToken: session.sessionToken,
    });
    expect(v.valid).toBe(true);
    expect(v.session.playerId).toBe(session.playerId);
    expect(await h.call("auth.logout", { sessionToken: session.sessionToken })).toEqual({ revoked: true });
    expect(await h.call("auth.logout", { sessionToken: session.sessionToken })).toEqual({ revoked: false });
    expect(await h.call("auth.validate", { sessionToken: session.sessionToken })).toMatchObject({
      valid: false,
      reason: "REVOKED",
    });
  });

  it("caps the requested ttl at 24 hours", async () => {
    const { session } = await h.call<{ session: { issuedAt: string; expiresAt: string } }>("auth.login", {
      username: "aria_1",
      password: "s3cret-pass",
      ttl: "604800s",
    });
    expect(Date.parse(session.expiresAt) - Date.parse(session.issuedAt)).toBe(86400_000);
  });

  it("reports EXPIRED for a session past its ttl and UNKNOWN for a made-up token", async () => {
    const { session } = await h.call<{ session: { sessionToken: string } }>("auth.login", {
      username: "aria_1",
      password: "s3cret-pass",
      ttl: "0.05s",
    });
    await new Promise((r) => setTimeout(r, 80));
    expect(await h.call("auth.validate", { sessionToken: session.sessionToken })).toMatchObject({
      valid: false,
      reason: "EXPIRED",
    });
    expect(await h.call("auth.validate", { sessionToken: "bm90LWEtdG9rZW4" })).toMatchObject({
      valid: false,
      reason: "UNKNOWN",
    });
  });

  it("answers a wrong password and an unknown user alike with 401", async () => {
    const a = await h.fail("auth.login", { username: "aria_1", password: "wrong-pass" });
    const b = await h.fail("auth.login", { username: "nobody", password: "wrong-pass" });
    expect([a.code, a.message]).toEqual([401, "invalid username or password"]);
    expect([b.code, b.message]).toEqual([401, "invalid username or password"]);
  });

  it("forgets ended sessions after the grace period", async () => {
    const { session } = await h.call<{ session: { sessionToken: string } }>("auth.login", {
      username: "aria_1",
      password: "s3cret-pass",
      ttl: "0.01s",
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(await h.call("auth.validate", { sessionToken: session.sessionToken })).toMatchObject({
      valid: false,
      reason: "UNKNOWN",
    });
  });

  it("never logs passwords, hashes or tokens", async () => {
    const { session } = await h.call<{ session: { sessionToken: string } }>("auth.login", {
      username: "aria_1",
      password: "s3cret-pass",
    });
    const hash = (await state.get<{ password: { hash: string } }>("user.aria_1"))!.value.password.hash;
    const all = logs.join("\n");
    expect(logs.length).toBeGreaterThan(3);
    for (const secret of ["s3cret-pass", "wrong-pass", hash, session.sessionToken]) expect(all).not.toContain(secret);
  });
});
