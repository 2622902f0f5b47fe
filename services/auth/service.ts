// auth: player accounts (scrypt-hashed passwords) and session tokens with a TTL.
// Env: AUTH_SESSION_TTL_S (default 3600), AUTH_MAX_SESSION_TTL_S (default 86400),
//      AUTH_SESSION_GRACE_S (how long ended sessions still answer EXPIRED/REVOKED, default 86400),
//      AUTH_SWEEP_INTERVAL_S (default 300), AUTH_SCRYPT_N (default 16384; tests lower it).
// State: user.<username> (account + password hash), session.<sha256(token)> (session record).
// Passwords, hashes and tokens never appear in logs, events or replies other than the token to its owner.
import { randomUUID } from "node:crypto";
import { badRequest, conflict, unauthenticated } from "../sdk/errors.js";
import { defineService, ServiceBase, type RpcHandlers, type ServiceContext } from "../sdk/runtime.js";
import { RevisionConflict } from "../sdk/state.js";
import {
  DEFAULT_SCRYPT,
  PASSWORD_MAX,
  decoyHash,
  hashPassword,
  newSessionToken,
  normalizeUsername,
  registrationProblems,
  sessionForgettable,
  sessionStatus,
  sessionTtlMs,
  tokenDigest,
  verifyPassword,
  type PasswordHash,
  type StoredSession,
} from "./domain.js";
import type {
  AuthServiceRpcs,
  LoginRequest,
  LoginResponse,
  LogoutRequest,
  LogoutResponse,
  RegisterRequest,
  RegisterResponse,
  Session,
  ValidateRequest,
  ValidateResponse,
} from "../generated/auth/v1/auth.js";

// ---- state ----
interface Account {
  playerId: string;
  username: string;
  email: string;
  displayName: string;
  password: PasswordHash;
  createdAt: string;
}
const userKey = (username: string) => `user.${username}`;
const sessionKey = (token: string) => `session.${tokenDigest(token)}`;

function envSeconds(ctx: ServiceContext, name: string, fallback: number): number {
  const v = Number(ctx.env[name] ?? fallback);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number of seconds`);
  return v * 1000;
}

const scryptCost = (env: NodeJS.ProcessEnv) => ({
  ...DEFAULT_SCRYPT,
  N: Number(env.AUTH_SCRYPT_N ?? DEFAULT_SCRYPT.N),
});

class Auth extends ServiceBase implements RpcHandlers<AuthServiceRpcs> {
  private readonly maxTtlMs = envSeconds(this.ctx, "AUTH_MAX_SESSION_TTL_S", 86400);
  private readonly defaultTtlMs = Math.min(envSeconds(this.ctx, "AUTH_SESSION_TTL_S", 3600), this.maxTtlMs);
  private readonly graceMs = envSeconds(this.ctx, "AUTH_SESSION_GRACE_S", 86400);
  private readonly cost = scryptCost(this.ctx.env);
  private readonly publish = (name: string, data: unknown) =>
    this.ctx.events
      .publish(name, data)
      .catch((err: Error) => this.ctx.log.warn("event not published", { event: name, err: err.message }));
  private readonly toSession = (token: string, s: StoredSession): Session => ({
    sessionToken: token,
    playerId: s.playerId,
    username: s.username,
    issuedAt: s.issuedAt,
    expiresAt: s.expiresAt,
  });

  // per instance (several may share a process in tests), so tied to this instance's shutdown signal
  private readonly sweeper = setInterval(
    () => void this.sweep().catch((err: Error) => this.ctx.log.warn("session sweep failed", { err: err.message })),
    envSeconds(this.ctx, "AUTH_SWEEP_INTERVAL_S", 300),
  );

  constructor(
    ctx: ServiceContext,
    private readonly decoy: PasswordHash,
  ) {
    super(ctx);
    this.sweeper.unref();
    ctx.signal.addEventListener("abort", () => clearInterval(this.sweeper), { once: true });
  }

  async Register(req: RegisterRequest): Promise<RegisterResponse> {
    const problems = registrationProblems(req);
    if (problems.length) throw badRequest(problems.join("; "));
    const username = normalizeUsername(req.username);
    const account: Account = {
      playerId: randomUUID(),
      username,
      email: req.email.trim(),
      displayName: req.displayName.trim() || username,
      password: await hashPassword(req.password, this.cost),
      createdAt: new Date().toISOString(),
    };
    try {
      await this.ctx.state.put(userKey(username), account, 0);
    } catch (err) {
      if (err instanceof RevisionConflict) throw conflict(`username ${username} is taken`);
      throw err;
    }
    this.ctx.log.info("player registered", { playerId: account.playerId, username });
    await this.publish("PlayerRegisteredEvent", { playerId: account.playerId, username, createdAt: account.createdAt });
    return { playerId: account.playerId, username, createdAt: account.createdAt };
  }

  async Login(req: LoginRequest): Promise<LoginResponse> {
    if (!req.username || !req.password) throw badRequest("username and password are required");
    let ttlMs: number;
    try {
      ttlMs = sessionTtlMs(req.ttl, this.defaultTtlMs, this.maxTtlMs);
    } catch (err) {
      throw badRequest((err as Error).message);
    }
    const username = normalizeUsername(req.username);
    const account = (await this.ctx.state.get<Account>(userKey(username)))?.value;
    // unknown users cost a scrypt too, so response time does not reveal which usernames exist
    const ok =
      req.password.length <= PASSWORD_MAX && (await verifyPassword(req.password, account?.password ?? this.decoy));
    if (!account || !ok) {
      const reason = account ? "BAD_PASSWORD" : "UNKNOWN_USER";
      this.ctx.log.info("login failed", { username, reason });
      await this.publish("LoginFailedEvent", { username, reason, at: new Date().toISOString() });
      throw unauthenticated("invalid username or password");
    }
    const now = Date.now();
    const token = newSessionToken();
    const session: StoredSession = {
      playerId: account.playerId,
      username,
      issuedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + ttlMs).toISOString(),
      client: req.client.slice(0, 128),
    };
    await this.ctx.state.put(sessionKey(token), session, 0);
    this.ctx.log.info("player logged in", {
      playerId: account.playerId,
      client: session.client,
      expiresAt: session.expiresAt,
    });
    await this.publish("PlayerLoggedInEvent", {
      playerId: account.playerId,
      username,
      expiresAt: session.expiresAt,
      client: session.client,
      at: session.issuedAt,
    });
    return { session: this.toSession(token, session) };
  }

  async Validate(req: ValidateRequest): Promise<ValidateResponse> {
    if (!req.sessionToken) throw badRequest("session_token is required");
    const stored = (await this.ctx.state.get<StoredSession>(sessionKey(req.sessionToken)))?.value;
    const status = sessionStatus(stored, Date.now());
    if (!status.valid) return { valid: false, reason: status.reason };
    return { valid: true, session: this.toSession(req.sessionToken, stored!), reason: "" };
  }

  async Logout(req: LogoutRequest): Promise<LogoutResponse> {
    if (!req.sessionToken) throw badRequest("session_token is required");
    const key = sessionKey(req.sessionToken);
    for (;;) {
      const cur = await this.ctx.state.get<StoredSession>(key);
      if (!sessionStatus(cur?.value, Date.now()).valid) return { revoked: false };
      const at = new Date().toISOString();
      try {
        await this.ctx.state.put(key, { ...cur!.value, revokedAt: at }, cur!.revision);
      } catch (err) {
        if (err instanceof RevisionConflict) continue; // a concurrent logout: re-read and report what it did
        throw err;
      }
      this.ctx.log.info("player logged out", { playerId: cur!.value.playerId });
      await this.publish("PlayerLoggedOutEvent", { playerId: cur!.value.playerId, at });
      return { revoked: true };
    }
  }

  // Forget sessions that ended long ago; every instance may sweep, deletes are revision-checked.
  private async sweep() {
    const now = Date.now();
    let removed = 0;
    for (const key of await this.ctx.state.keys("session")) {
      const cur = await this.ctx.state.get<StoredSession>(key);
      if (cur && sessionForgettable(cur.value, now, this.graceMs)) {
        await this.ctx.state.delete(key, cur.revision).then(
          () => removed++,
          () => undefined,
        );
      }
    }
    if (removed) this.ctx.log.info("swept ended sessions", { removed });
  }
}

export default defineService({
  name: "auth",
  description: "Player accounts and sessions",
  // the decoy hash (verified against when a username is unknown, so timing does not tell) is computed once, up front
  start: async (ctx) => new Auth(ctx, await decoyHash(scryptCost(ctx.env))),
});
