// Key-value state with optimistic concurrency. JetStream KV by default, Redis as the alternative;
// both honour the same contract (services/sdk/state.contract.test.ts runs against real servers of each).
import type { NatsConnection } from "@nats-io/transport-node";
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { Redis } from "ioredis";
import { ServiceError } from "./errors.js";
import { isLeaderless, retryWhile } from "./jetstream-retry.js";
import { kvBucketOf, storeNamespaceOf } from "./permissions.js";

export interface Versioned<T> {
  value: T;
  /** monotonic within a store; the value to pass as `expectedRevision` */
  revision: number;
}

export interface KvStore {
  get<T>(key: string): Promise<Versioned<T> | null>;
  /** `expectedRevision`: undefined = unconditional, 0 = only if absent, n = only if the key is at revision n. */
  put<T>(key: string, value: T, expectedRevision?: number): Promise<number>;
  delete(key: string, expectedRevision?: number): Promise<void>;
  /** keys whose first dot-separated tokens equal `prefix`'s (all keys without one), sorted */
  keys(prefix?: string): Promise<string[]>;
  /** read-modify-write with retries on conflict; `fn` gets undefined when the key is absent */
  update<T>(key: string, fn: (current: T | undefined) => T, retries?: number): Promise<Versioned<T>>;
  close(): Promise<void>;
}

/** The key was changed (or created, or deleted) by someone else since the revision given. */
export class RevisionConflict extends ServiceError {
  constructor(key: string, expected: number | undefined) {
    super(
      409,
      expected === 0 ? `${key} already exists` : `${key} was modified concurrently (expected revision ${expected})`,
    );
  }
}

// NATS KV keys allow [-/_=.a-zA-Z0-9]; tokens outside that are stored as "=" + base64url.
const SAFE_TOKEN = /^[-_a-zA-Z0-9]+$/;
/**
 * Longest encoded key. A key becomes part of a NATS subject, and nats-server closes the connection
 * of a client whose protocol line passes 4 KiB (max_control_line): a key made of user input must
 * not be able to disconnect a service.
 */
export const MAX_KEY_LENGTH = 1024;

export function encodeKey(key: string): string {
  if (!key) throw new ServiceError(400, "empty key");
  if (key.length > MAX_KEY_LENGTH) throw new ServiceError(400, `key is longer than ${MAX_KEY_LENGTH} characters`);
  const out = key
    .split(".")
    .map((t) => (SAFE_TOKEN.test(t) && !t.startsWith("=") ? t : "=" + Buffer.from(t, "utf8").toString("base64url")))
    .join(".");
  if (out.length > MAX_KEY_LENGTH)
    throw new ServiceError(400, `key is longer than ${MAX_KEY_LENGTH} characters once encoded`);
  return out;
}
export function decodeKey(key: string): string {
  return key
    .split(".")
    .map((t) => (t.startsWith("=") ? Buffer.from(t.slice(1), "base64url").toString("utf8") : t))
    .join(".");
}

abstract class BaseStore implements KvStore {
  abstract get<T>(key: string): Promise<Versioned<T> | null>;
  abstract put<T>(key: string, value: T, expectedRevision?: number): Promise<number>;
  abstract delete(key: string, expectedRevision?: number): Promise<void>;
  abstract keys(prefix?: string): Promise<string[]>;
  abstract close(): Promise<void>;

  async update<T>(key: string, fn: (current: T | undefined) => T, retries = 20): Promise<Versioned<T>> {
    for (let attempt = 0; ; attempt++) {
      const cur = await this.get<T>(key);
      const next = fn(cur?.value);
      try {
        const revision = await this.put(key, next, cur?.revision ?? 0);
        return { value: next, revision };
      } catch (err) {
        if (!(err instanceof RevisionConflict) || attempt >= retries) throw err;
        await new Promise((r) => setTimeout(r, Math.random() * 5 * (attempt + 1)));
      }
    }
  }
}

/** A read changes nothing: retry it on a timeout as well as while the stream has no leader. */
const isLeaderlessOrTimeout = (err: unknown): boolean =>
  isLeaderless(err) || /timeout/i.test((err as Error)?.message ?? "");

export class JetStreamKvStore extends BaseStore {
  private constructor(private readonly kv: KV) {
    super();
  }

  static async open(
    nc: NatsConnection,
    bucket: string,
    opts: { replicas?: number; history?: number } = {},
  ): Promise<JetStreamKvStore> {
    const kv = await new Kvm(nc).create(bucket, { history: opts.history ?? 5, replicas: opts.replicas ?? 1 });
    return new JetStreamKvStore(kv);
  }

  async get<T>(key: string): Promise<Versioned<T> | null> {
    const k = encodeKey(key);
    const e = await retryWhile(() => this.kv.get(k), isLeaderlessOrTimeout);
    if (!e || e.operation !== "PUT") return null;
    return { value: JSON.parse(new TextDecoder().decode(e.value)) as T, revision: e.revision };
  }

  async put<T>(key: string, value: T, expectedRevision?: number): Promise<number> {
    const k = encodeKey(key);
    const data = JSON.stringify(value);
    try {
      // only a leaderless stream is retried: after a timeout the write may have been applied
      if (expectedRevision === undefined) return await retryWhile(() => this.kv.put(k, data));
      if (expectedRevision === 0) return await retryWhile(() => this.kv.create(k, data));
      return await retryWhile(() => this.kv.update(k, data, expectedRevision));
    } catch (err) {
      if (isWrongSequence(err)) throw new RevisionConflict(key, expectedRevision);
      throw err;
    }
  }

  async delete(key: string, expectedRevision?: number): Promise<void> {
    try {
      await retryWhile(() =>
        this.kv.delete(encodeKey(key), expectedRevision ? { previousSeq: expectedRevision } : undefined),
      );
    } catch (err) {
      if (isWrongSequence(err)) throw new RevisionConflict(key, expectedRevision);
      throw err;
    }
  }

  async keys(prefix?: string): Promise<string[]> {
    const it = await this.kv.keys(prefix ? `${encodeKey(prefix)}.>` : ">");
    const out: string[] = [];
    for await (const k of it) out.push(decodeKey(k));
    return out.sort();
  }

  async close(): Promise<void> {}
}

function isWrongSequence(err: unknown): boolean {
  // 10071: wrong last sequence; 10164/10058 style "key exists" answers all say "wrong last sequence"
  if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamWrongLastSequence) return true;
  return /wrong last sequence|key exists/i.test((err as { message?: string })?.message ?? "");
}

// Each key is a hash {v: JSON, r: revision}; revisions come from one counter per store, like a stream sequence.
// Keys carry the store's hash tag `{ns}` so a script's keys share one Redis Cluster slot.
const PUT_SCRIPT = `
local cur = redis.call('HGET', KEYS[1], 'r')
local expected = ARGV[2]
if expected ~= '' then
  if expected == '0' then
    if cur then return -1 end
  elseif cur ~= expected then
    return -1
  end
end
local rev = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'r', rev)
return rev`;

const DEL_SCRIPT = `
local cur = redis.call('HGET', KEYS[1], 'r')
if ARGV[1] ~= '' and cur ~= ARGV[1] then return -1 end
redis.call('DEL', KEYS[1])
return 1`;

export class RedisKvStore extends BaseStore {
  private constructor(
    private readonly redis: Redis,
    private readonly ns: string,
  ) {
    super();
  }

  static async open(url: string, namespace: string): Promise<RedisKvStore> {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3, enableAutoPipelining: true });
    await redis.connect();
    return new RedisKvStore(redis, namespace);
  }

  private k(key: string): string {
    return `gs:{${this.ns}}:k:${encodeKey(key)}`;
  }

  async get<T>(key: string): Promise<Versioned<T> | null> {
    const [v, r] = await this.redis.hmget(this.k(key), "v", "r");
    if (v === null || r === null) return null;
    return { value: JSON.parse(v) as T, revision: Number(r) };
  }

  async put<T>(key: string, value: T, expectedRevision?: number): Promise<number> {
    const rev = (await this.redis.eval(
      PUT_SCRIPT,
      2,
      this.k(key),
      `gs:{${this.ns}}:rev`,
      JSON.stringify(value),
      expectedRevision === undefined ? "" : String(expectedRevision),
    )) as number;
    if (rev < 0) throw new RevisionConflict(key, expectedRevision);
    return rev;
  }

  async delete(key: string, expectedRevision?: number): Promise<void> {
    const ok = (await this.redis.eval(
      DEL_SCRIPT,
      1,
      this.k(key),
      expectedRevision ? String(expectedRevision) : "",
    )) as number;
    if (ok < 0) throw new RevisionConflict(key, expectedRevision);
  }

  async keys(prefix?: string): Promise<string[]> {
    const base = `gs:{${this.ns}}:k:`;
    const match = prefix ? `${base}${encodeKey(prefix)}.*` : `${base}*`;
    const out: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await this.redis.scan(cursor, "MATCH", match, "COUNT", 500);
      cursor = next;
      for (const k of batch) out.push(decodeKey(k.slice(base.length)));
    } while (cursor !== "0");
    return out.sort();
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => undefined);
  }
}

export interface StoreConfig {
  /** `jetstream` (default) or `redis` */
  backend?: string;
  redisUrl?: string;
  replicas?: number;
}

/** The store of one service: bucket `gs_<service>` in JetStream KV, or keys `gs:{<service>}:*` in Redis. */
export async function openStore(nc: NatsConnection, service: string, cfg: StoreConfig = {}): Promise<KvStore> {
  if ((cfg.backend ?? "jetstream") === "redis") {
    if (!cfg.redisUrl) throw new Error("GS_STATE_BACKEND=redis needs GS_REDIS_URL (e.g. redis://127.0.0.1:6379)");
    return RedisKvStore.open(cfg.redisUrl, storeNamespaceOf(service));
  }
  if (cfg.backend !== undefined && cfg.backend !== "jetstream") {
    throw new Error(`unknown state backend "${cfg.backend}": use jetstream or redis`);
  }
  return JetStreamKvStore.open(nc, kvBucketOf(service), { replicas: cfg.replicas });
}
