// auth: player accounts (scrypt-hashed passwords) and session tokens with a TTL.
// Env: AUTH_SESSION_TTL_S (default 3600), AUTH_MAX_SESSION_TTL_S (default 86400),
//      AUTH_SESSION_GRACE_S (how long ended sessions still answer EXPIRED/REVOKED, default 86400),
//      AUTH_SWEEP_INTERVAL_S (default 300), AUTH_SCRYPT_N (default 16384; tests lower it).
// State: user.<username> (account + password hash), session.<sha256(token)> (session record).
// Passwords, hashes and tokens never appear in logs, events or replies other than the token to its owner.
import { randomUUID } from "node:crypto";
import { badRequest, conflict, unauthenticated } from "../sdk/errors.js";
import { defineService, type ServiceContext } from "../sdk/runtime.js";
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

// ---- proto shapes (JSON form) ----
interface Session {
  sessionToken: string;
  playerId: string;
  username: string;
  issuedAt: string;
  expiresAt: string;
}
interface RegisterRequest {
  username: string;
  password: string;
  email: string;
  displayName: string;
}
interface RegisterResponse {
  playerId: string;
  username: string;
  createdAt: string;
}
interface LoginRequest {
  username: string;
  password: string;
  ttl?: string;
  client: string;
}
interface LoginResponse {
  session: Session;
}
interface ValidateRequest {
  sessionToken: string;
}
interface ValidateResponse {
  valid: boolean;
  session?: Session;
  reason: string;
}
interface LogoutRequest {
  sessionToken: string;
}
interface LogoutResponse {
  revoked: boolean;
}

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

export default defineService({
  name: "auth",
  description: "Player accounts and sessions",
  async start(ctx) {
    const maxTtlMs = envSeconds(ctx, "AUTH_MAX_SESSION_TTL_S", 86400);
    const defaultTtlMs = Math.min(envSeconds(ctx, "AUTH_SESSION_TTL_S", 3600), maxTtlMs);
    const graceMs = envSeconds(ctx, "AUTH_SESSION_GRACE_S", 86400);
    const cost = { ...DEFAULT_SCRYPT, N: Number(ctx.env.AUTH_SCRYPT_N ?? DEFAULT_SCRYPT.N) };
    const decoy = await decoyHash(cost);
    const { state, events, log } = ctx;

    const publish = (name: string, data: unknown) =>
      events
        .publish(name, data)
        .catch((err: Error) => log.warn("event not published", { event: name, err: err.message }));

    const toSession = (token: string, s: StoredSession): Session => ({
      sessionToken: token,
      playerId: s.playerId,
      username: s.username,
      issuedAt: s.issuedAt,
      expiresAt: s.expiresAt,
    });

    // Forget sessions that ended long ago; every instance may sweep, deletes are revision-checked.
    const sweep = async () => {
      const now = Date.now();
      let removed = 0;
      for (const key of await state.keys("session")) {
        const cur = await state.get<StoredSession>(key);
        if (cur && sessionForgettable(cur.value, now, graceMs)) {
          await state.delete(key, cur.revision).then(
            () => removed++,
            () => undefined,
          );
        }
      }
      if (removed) log.info("swept ended sessions", { removed });
    };
    // per instance (several may share a process in tests), so tied to this instance's shutdown signal
    const sweeper = setInterval(
      () => void sweep().catch((err: Error) => log.warn("session sweep failed", { err: err.message })),
      envSeconds(ctx, "AUTH_SWEEP_INTERVAL_S", 300),
    );
    sweeper.unref();
    ctx.signal.addEventListener("abort", () => clearInterval(sweeper), { once: true });

    return {
      async Register(req: RegisterRequest): Promise<RegisterResponse> {
        const problems = registrationProblems(req);
        if (problems.length) throw badRequest(problems.join("; "));
        const username = normalizeUsername(req.username);
        const account: Account = {
          playerId: randomUUID(),
          username,
          email: req.email.trim(),
          displayName: req.displayName.trim() || username,
          password: await hashPassword(req.password, cost),
          createdAt: new Date().toISOString(),
        };
        try {
          await state.put(userKey(username), account, 0);
        } catch (err) {
          if (err instanceof RevisionConflict) throw conflict(`username ${username} is taken`);
          throw err;
        }
        log.info("player registered", { playerId: account.playerId, username });
        await publish("PlayerRegisteredEvent", { playerId: account.playerId, username, createdAt: account.createdAt });
        return { playerId: account.playerId, username, createdAt: account.createdAt };
      },

      async Login(req: LoginRequest): Promise<LoginResponse> {
        if (!req.username || !req.password) throw badRequest("username and password are required");
        let ttlMs: number;
        try {
          ttlMs = sessionTtlMs(req.ttl, defaultTtlMs, maxTtlMs);
        } catch (err) {
          throw badRequest((err as Error).message);
        }
        const username = normalizeUsername(req.username);
        const account = (await state.get<Account>(userKey(username)))?.value;
        // unknown users cost a scrypt too, so response time does not reveal which usernames exist
        const ok =
          req.password.length <= PASSWORD_MAX && (await verifyPassword(req.password, account?.password ?? decoy));
        if (!account || !ok) {
          const reason = account ? "BAD_PASSWORD" : "UNKNOWN_USER";
          log.info("login failed", { username, reason });
          await publish("LoginFailedEvent", { username, reason, at: new Date().toISOString() });
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
        await state.put(sessionKey(token), session, 0);
        log.info("player logged in", {
          playerId: account.playerId,
          client: session.client,
          expiresAt: session.expiresAt,
        });
        await publish("PlayerLoggedInEvent", {
          playerId: account.playerId,
          username,
          expiresAt: session.expiresAt,
          client: session.client,
          at: session.issuedAt,
        });
        return { session: toSession(token, session) };
      },

      async Validate(req: ValidateRequest): Promise<ValidateResponse> {
        if (!req.sessionToken) throw badRequest("session_token is required");
        const stored = (await state.get<StoredSession>(sessionKey(req.sessionToken)))?.value;
        const status = sessionStatus(stored, Date.now());
        if (!status.valid) return { valid: false, reason: status.reason };
        return { valid: true, session: toSession(req.sessionToken, stored!), reason: "" };
      },

      async Logout(req: LogoutRequest): Promise<LogoutResponse> {
        if (!req.sessionToken) throw badRequest("session_token is required");
        const key = sessionKey(req.sessionToken);
        for (;;) {
          const cur = await state.get<StoredSession>(key);
          if (!sessionStatus(cur?.value, Date.now()).valid) return { revoked: false };
          const at = new Date().toISOString();
          try {
            await state.put(key, { ...cur!.value, revokedAt: at }, cur!.revision);
          } catch (err) {
            if (err instanceof RevisionConflict) continue; // a concurrent logout: re-read and report what it did
            throw err;
          }
          log.info("player logged out", { playerId: cur!.value.playerId });
          await publish("PlayerLoggedOutEvent", { playerId: cur!.value.playerId, at });
          return { revoked: true };
        }
      },
    };
  },
});
