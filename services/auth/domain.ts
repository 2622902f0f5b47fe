// Auth domain: input rules, scrypt password hashing, session tokens and their lifetimes. No NATS here.
import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

export const USERNAME_RE = /^[a-z0-9_.-]{3,32}$/;
export const PASSWORD_MIN = 8;
// scrypt over a megabyte of input is a cheap denial of service; no real password is this long
export const PASSWORD_MAX = 1024;
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Usernames are case-insensitive: the lowercase form is the identity. */
export function normalizeUsername(raw: string): string {
  return raw.trim().toLowerCase();
}

/** Problems with a registration, as user-facing messages; empty when it is acceptable. */
export function registrationProblems(r: {
  username: string;
  password: string;
  email: string;
  displayName: string;
}): string[] {
  const problems: string[] = [];
  if (!USERNAME_RE.test(normalizeUsername(r.username)))
    problems.push("username must be 3-32 characters of a-z, 0-9, _ . -");
  if (r.password.length < PASSWORD_MIN) problems.push(`password must be at least ${PASSWORD_MIN} characters`);
  if (r.password.length > PASSWORD_MAX) problems.push(`password must be at most ${PASSWORD_MAX} characters`);
  if (r.email && (r.email.length > 254 || !EMAIL_RE.test(r.email))) problems.push("email is not a valid address");
  if (r.displayName.length > 64) problems.push("display_name must be at most 64 characters");
  return problems;
}

export interface PasswordHash {
  alg: "scrypt";
  /** cost parameters are stored with each hash so they can be raised later without breaking old accounts */
  N: number;
  r: number;
  p: number;
  salt: string;
  hash: string;
}

export const DEFAULT_SCRYPT = { N: 16384, r: 8, p: 1 };
const KEY_LEN = 64;

function scryptAsync(password: string, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize("NFKC"), salt, KEY_LEN, { ...opts, maxmem: 256 * opts.N! * opts.r! }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

export async function hashPassword(password: string, cost = DEFAULT_SCRYPT): Promise<PasswordHash> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, cost);
  return { alg: "scrypt", ...cost, salt: salt.toString("base64"), hash: key.toString("base64") };
}

export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const expected = Buffer.from(stored.hash, "base64");
  const actual = await scryptAsync(password, Buffer.from(stored.salt, "base64"), {
    N: stored.N,
    r: stored.r,
    p: stored.p,
  });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** A hash of a random password: unknown usernames are checked against it so they take as long as wrong passwords. */
export function decoyHash(cost = DEFAULT_SCRYPT): Promise<PasswordHash> {
  return hashPassword(randomBytes(32).toString("base64"), cost);
}

/** 32 random bytes, base64url: what the client holds. */
export function newSessionToken(): string {
  return randomBytes(32).toString("base64url");
}

/** Sessions are stored under a digest of the token, so a dump of the state holds no usable tokens. */
export function tokenDigest(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}

/** Requested TTL (proto Duration JSON, e.g. "3600s") -> effective milliseconds: default when unset or zero, capped at max. */
export function sessionTtlMs(requested: string | undefined, defaultMs: number, maxMs: number): number {
  if (!requested) return Math.min(defaultMs, maxMs);
  const m = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(requested);
  if (!m) throw new RangeError(`ttl ${requested} is not a duration`);
  if (m[1]) throw new RangeError("ttl must not be negative");
  const ms = Number(m[2]) * 1000 + Math.floor(Number((m[3] ?? "").padEnd(9, "0")) / 1e6);
  if (ms === 0) return Math.min(defaultMs, maxMs);
  return Math.min(ms, maxMs);
}

export interface StoredSession {
  playerId: string;
  username: string;
  issuedAt: string;
  expiresAt: string;
  client: string;
  revokedAt?: string;
}

export type SessionStatus = { valid: true } | { valid: false; reason: "UNKNOWN" | "EXPIRED" | "REVOKED" };

export function sessionStatus(s: StoredSession | undefined, now: number): SessionStatus {
  if (!s) return { valid: false, reason: "UNKNOWN" };
  if (s.revokedAt) return { valid: false, reason: "REVOKED" };
  if (Date.parse(s.expiresAt) <= now) return { valid: false, reason: "EXPIRED" };
  return { valid: true };
}

/** Whether the sweeper may forget a session: expired or revoked longer than `graceMs` ago (until then Validate can say why). */
export function sessionForgettable(s: StoredSession, now: number, graceMs: number): boolean {
  const ended = Math.min(Date.parse(s.expiresAt), s.revokedAt ? Date.parse(s.revokedAt) : Infinity);
  return ended + graceMs <= now;
}
