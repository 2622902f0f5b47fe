// Key-value state with optimistic concurrency. JetStream KV by default, Redis (one server or a Redis
// Cluster) as the alternative; all honour the same contract (services/sdk/state.contract.test.ts runs
// it against real servers of each).
import { headers, type NatsConnection } from "@nats-io/transport-node";
import {
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  type JetStreamManager,
} from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { randomBytes } from "node:crypto";
import { Cluster, Redis } from "ioredis";
import { ServiceError, unavailable } from "./errors.js";
import { isLeaderless, isLeaderlessOrTimeout, retryBudgetMs, retryWhile, SETUP_RETRY_MS } from "./jetstream-retry.js";
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
  /**
   * Store `value` under `key` unless the key holds a value; whether this call stored it. For records
   * written once, whose every writer writes the same value (a transaction by its id, a ledger entry by
   * its number): two such writes at once may both be stored, which changes nothing, so on a server that
   * needs the write fence (see needsWriteFence) this write does not wait its turn in it.
   */
  putOnce<T>(key: string, value: T): Promise<boolean>;
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

  async putOnce<T>(key: string, value: T): Promise<boolean> {
    try {
      await this.put(key, value, 0);
      return true;
    } catch (err) {
      if (err instanceof RevisionConflict) return false;
      throw err;
    }
  }

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

/**
 * nats-server before 2.9.21 checks a replicated stream's per-subject expectation
 * (Nats-Expected-Last-Subject-Sequence, what a KV update sends) against what the leader has stored, not
 * against what it has proposed: two updates of one key at one revision that arrive together are both
 * stored, and the second silently undoes the first (nats-io/nats-server#4320; state.fence.test.ts
 * shows it on the nats-server here). The stream-wide expectation (Nats-Expected-Last-Sequence) is
 * checked against what was proposed, so on such a server a conditional write of a replicated bucket
 * carries both: the key's revision and the stream's last sequence (see JetStreamKvStore.fenced).
 */
export function needsWriteFence(serverVersion: string | undefined, replicas: number): boolean {
  if (replicas <= 1 || !serverVersion) return false;
  const [major = 0, minor = 0, patch = 0] = (/^v?(\d+)\.(\d+)\.(\d+)/.exec(serverVersion) ?? []).slice(1).map(Number);
  return major < 2 || (major === 2 && (minor < 9 || (minor === 9 && patch < 21)));
}

/** What a fenced write needs: the bucket's subjects, a publish with both expectations, and the stream's last sequence as known. */
interface WriteFence {
  subject(encodedKey: string): string;
  publish(subject: string, data: Uint8Array, expect: { key: number; stream: number }, del: boolean): Promise<number>;
  /** the stream's last sequence the leader has stored (STREAM.INFO) */
  stored(): Promise<number>;
  /** the stream's last sequence as this store last learned it: from its acks and from the leader's refusals */
  last: number;
  /**
   * the fenced write in flight, if any: one at a time per store. A second one sent behind the first
   * would expect the first's sequence, and the leader would check its key against what it has stored,
   * without the first; and writers that retry together all learn the same sequence and all but one
   * fail again, round after round.
   */
  turn: Promise<unknown>;
}

export class JetStreamKvStore extends BaseStore {
  private constructor(
    private readonly kv: KV,
    /** a replicated bucket's keys are listed by its leader (see keys) */
    private readonly lister: KeyLister | undefined,
    /** set when the server needs it for this bucket (see needsWriteFence) */
    private readonly fence?: WriteFence,
  ) {
    super();
  }

  static async open(
    nc: NatsConnection,
    bucket: string,
    opts: { replicas?: number; history?: number } = {},
  ): Promise<JetStreamKvStore> {
    const replicas = opts.replicas ?? 1;
    // creates the bucket when missing: asked again, while a node that died leaves it (or the API) leaderless.
    // A replicated bucket is read from its leader: a follower answers a direct get from what it has
    // applied so far, so a caller could miss the write it was just told succeeded (nats-io/nats-server#6557).
    const kv = await retryWhile(
      () =>
        new Kvm(nc).create(bucket, {
          history: opts.history ?? 5,
          replicas,
          ...(replicas > 1 ? { allow_direct: false } : {}),
        }),
      isLeaderlessOrTimeout,
      SETUP_RETRY_MS,
    );
    const status = await retryWhile(() => kv.status(), isLeaderlessOrTimeout, SETUP_RETRY_MS);
    const lister =
      status.replicas > 1 ? { jsm: await jetstreamManager(nc), stream: `KV_${bucket}`, bucket } : undefined;
    if (!needsWriteFence(nc.info?.version, status.replicas)) return new JetStreamKvStore(kv, lister);
    const js = jetstream(nc);
    const jsm = lister?.jsm ?? (await jetstreamManager(nc));
    return new JetStreamKvStore(kv, lister, {
      subject: (k) => `$KV.${bucket}.${k}`,
      publish: async (subject, data, expect, del) => {
        const h = headers();
        if (del) h.set("KV-Operation", "DEL");
        const ack = await js.publish(subject, data, {
          headers: h,
          expect: { lastSubjectSequence: expect.key, lastSequence: expect.stream },
        });
        return ack.seq;
      },
      stored: async () => (await jsm.streams.info(`KV_${bucket}`)).state.last_seq,
      last: status.streamInfo.state.last_seq,
      turn: Promise.resolve(),
    });
  }

  /**
   * A conditional write through the fence: sent with the stream's last sequence as known (see
   * WriteFence.last). A refusal names the last sequence the leader has proposed; once it has stored
   * that far, a key still at `expected` means only another key moved, and the write is sent again
   * expecting that sequence. A moved key is a RevisionConflict.
   */
  private fenced(fence: WriteFence, key: string, data: Uint8Array, expected: number, del: boolean): Promise<number> {
    const run = fence.turn.then(
      () => this.fencedNow(fence, key, data, expected, del),
      () => this.fencedNow(fence, key, data, expected, del),
    );
    fence.turn = run.catch(() => undefined);
    return run;
  }

  private async fencedNow(fence: WriteFence, key: string, data: Uint8Array, expected: number, del: boolean) {
    const k = encodeKey(key);
    const t0 = Date.now();
    const spent = () => Date.now() - t0 > retryBudgetMs();
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0 && spent())
        throw unavailable(`${key} could not be written: the bucket is written too often from elsewhere; retry`);
      let held: number;
      try {
        const seq = await fence.publish(
          fence.subject(k),
          data,
          { key: expected, stream: Math.max(fence.last, expected) },
          del,
        );
        fence.last = Math.max(fence.last, seq);
        return seq;
      } catch (err) {
        const refused = wrongLastSequence(err);
        if (refused === undefined) {
          // leaderless: not applied
          if (!isLeaderless(err) || spent()) throw err;
          await new Promise((r) => setTimeout(r, Math.min(25 * 2 ** attempt, 400)));
          continue;
        }
        held = refused;
      }
      // writers refused together would come back together: after a few rounds, each waits a moment first
      if (attempt >= 3) await new Promise((r) => setTimeout(r, Math.random() * Math.min(attempt, 20)));
      // what the leader proposed up to `held` may be a write of this very key: read it once stored
      let stored = await retryWhile(() => fence.stored(), isLeaderlessOrTimeout);
      while (stored < held && !spent()) {
        await new Promise((r) => setTimeout(r, 2));
        stored = await retryWhile(() => fence.stored(), isLeaderlessOrTimeout);
      }
      if ((await this.revisionOf(k)) !== expected) throw new RevisionConflict(key, expected);
      // The key was read after the leader had stored `stored` (at least `held`): expecting that sequence
      // is as safe as expecting `held` (the leader takes the write only if it proposed nothing since, and
      // then checks the key against all it stored) and fresher, so another instance's writes meanwhile
      // refuse it less often. (The wait for a few rounds sat here, between the read and the write.)
      fence.last = Math.max(held, stored);
    }
  }

  /** The revision a conditional write of `k` must expect: its last entry's, a deleted key's included; 0 when it has none. */
  private async revisionOf(k: string): Promise<number> {
    const e = await retryWhile(() => this.kv.get(k), isLeaderlessOrTimeout);
    return e?.revision ?? 0;
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
      if (expectedRevision === undefined) {
        const seq = await retryWhile(() => this.kv.put(k, data));
        // an ack is stored: what the leader proposes after it, a fenced write of this store will see
        if (this.fence) this.fence.last = Math.max(this.fence.last, seq);
        return seq;
      }
      if (this.fence) return await this.fencedPut(this.fence, key, data, expectedRevision);
      if (expectedRevision === 0) return await retryWhile(() => this.kv.create(k, data));
      return await retryWhile(() => this.kv.update(k, data, expectedRevision));
    } catch (err) {
      if (isWrongSequence(err)) throw new RevisionConflict(key, expectedRevision);
      throw err;
    }
  }

  /** a plain KV create, around the fence: what two writers at once store is the same value */
  override async putOnce<T>(key: string, value: T): Promise<boolean> {
    if (!this.fence) return super.putOnce(key, value);
    try {
      const seq = await retryWhile(() => this.kv.create(encodeKey(key), JSON.stringify(value)));
      // as for an unconditional put: the fence's next write expects at least this sequence
      this.fence.last = Math.max(this.fence.last, seq);
      return true;
    } catch (err) {
      if (isWrongSequence(err)) return false;
      throw err;
    }
  }

  /** put through the fence; creating (0) a key whose last entry is a delete expects that entry, as KV create does */
  private async fencedPut(fence: WriteFence, key: string, data: string, expectedRevision: number): Promise<number> {
    let expected = expectedRevision;
    if (expected === 0) {
      const e = await retryWhile(() => this.kv.get(encodeKey(key)), isLeaderlessOrTimeout);
      if (e?.operation === "PUT") throw new RevisionConflict(key, 0);
      expected = e?.revision ?? 0;
    }
    return this.fenced(fence, key, new TextEncoder().encode(data), expected, false);
  }

  async delete(key: string, expectedRevision?: number): Promise<void> {
    try {
      if (this.fence && expectedRevision) {
        await this.fenced(this.fence, key, new Uint8Array(0), expectedRevision, true);
        return;
      }
      await retryWhile(() =>
        this.kv.delete(encodeKey(key), expectedRevision ? { previousSeq: expectedRevision } : undefined),
      );
    } catch (err) {
      if (isWrongSequence(err)) throw new RevisionConflict(key, expectedRevision);
      throw err;
    }
  }

  async keys(prefix?: string): Promise<string[]> {
    const filter = prefix ? `${encodeKey(prefix)}.>` : ">";
    if (this.lister) return (await leaderKeys(this.lister, filter)).map(decodeKey).sort();
    const it = await this.kv.keys(filter);
    const out: string[] = [];
    for await (const k of it) out.push(decodeKey(k));
    return out.sort();
  }

  async close(): Promise<void> {}
}

/** What listing a replicated bucket's keys through its leader needs. */
interface KeyLister {
  jsm: JetStreamManager;
  stream: string;
  bucket: string;
}

/**
 * The live keys under `filter` of a replicated bucket, as its leader holds them: the subjects the
 * stream holds (STREAM.INFO), less those whose last entry is a delete. KV's own listing starts an
 * ephemeral consumer each time, which may sit on a follower that has not applied the latest writes
 * (a key just deleted still listed), and each start is a cluster-wide proposal: a service polling
 * its keys every 250 ms kept hundreds of consumers alive.
 */
async function leaderKeys(l: KeyLister, filter: string): Promise<string[]> {
  const base = `$KV.${l.bucket}.`;
  const info = await retryWhile(
    () => l.jsm.streams.info(l.stream, { subjects_filter: `${base}${filter}` }),
    isLeaderlessOrTimeout,
  );
  const subjects = Object.keys(info.state.subjects ?? {});
  const live: string[] = [];
  const queue = [...subjects];
  const one = async (subject: string) => {
    const m = await retryWhile(
      () => l.jsm.streams.getMessage(l.stream, { last_by_subj: subject }),
      isLeaderlessOrTimeout,
    );
    const op = m?.header?.get("KV-Operation");
    if (m && op !== "DEL" && op !== "PURGE") live.push(subject.slice(base.length));
  };
  await Promise.all(
    Array.from({ length: Math.min(16, queue.length) }, async () => {
      for (let s = queue.shift(); s !== undefined; s = queue.shift()) await one(s);
    }),
  );
  return live;
}

/** The sequence a "wrong last sequence" refusal names (the stream's, or the key's, last), or undefined for any other error. */
function wrongLastSequence(err: unknown): number | undefined {
  if (!isWrongSequence(err)) return undefined;
  const m = /wrong last sequence: (\d+)/i.exec((err as Error).message ?? "");
  return m ? Number(m[1]) : 0;
}

function isWrongSequence(err: unknown): boolean {
  // 10071: wrong last sequence; 10164/10058 style "key exists" answers all say "wrong last sequence"
  if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamWrongLastSequence) return true;
  return /wrong last sequence|key exists/i.test((err as { message?: string })?.message ?? "");
}

// Each key is a hash {v: JSON, r: revision}; revisions come from one counter per store, like a stream sequence.
// Every key of a store carries its hash tag `{ns}`, so all of them, and so every key a script touches,
// sit in one Redis Cluster slot.
//
// A write carries a random id recorded beside it (a hash per 30 s window, kept 60 s): ioredis sends a
// command again when the connection it was on closes before the answer came, and a write that had been
// applied then answers with its first revision instead of being applied twice (or refused as a conflict).
const PUT_SCRIPT = `
local done = redis.call('HGET', KEYS[3], ARGV[3])
if done then return tonumber(done) end
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
redis.call('HSET', KEYS[3], ARGV[3], rev)
redis.call('PEXPIRE', KEYS[3], ARGV[4])
return rev`;

const DEL_SCRIPT = `
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return 1 end
local cur = redis.call('HGET', KEYS[1], 'r')
if ARGV[1] ~= '' and cur ~= ARGV[1] then return -1 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[2], ARGV[2], 0)
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1`;

/** Write ids are grouped per window; a window's hash lives this long after its last write (> any retry). */
const WRITE_ID_WINDOW_MS = 30_000;
const WRITE_ID_TTL_MS = 2 * WRITE_ID_WINDOW_MS;

/** No primary is known for the store's slot right now (a failover is under way): send the operation again. */
class SlotWithoutPrimary extends Error {
  constructor() {
    super("no Redis primary is known for the store's slot yet");
  }
}

/** Redis namespaces become the hash tag: no braces (they would end the tag early), never empty. */
const SAFE_NAMESPACE = /^[-_a-zA-Z0-9]+$/;

/**
 * Redis errors after which the operation can be sent again: the server was unreachable, the slot had no
 * primary yet (failover), or the connection closed before the answer (a write is then recognised by its
 * id). Matched on Redis's error codes (the reply's first word) and on ioredis's messages, which have no codes.
 */
function isRedisUnavailable(err: unknown): boolean {
  if (err instanceof SlotWithoutPrimary) return true;
  const message = (err as Error | undefined)?.message ?? "";
  return (
    /^(CLUSTERDOWN|TRYAGAIN|LOADING|MASTERDOWN|READONLY)\b/.test(message) ||
    /Connection is closed|Too many Cluster redirections|max retries per request|Failed to refresh slots cache|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT/.test(
      message,
    )
  );
}

/** Where the state lives: the redis:// (or rediss://) URLs of GS_REDIS_URL, a comma-separated list. */
function parseRedisUrls(list: string): URL[] {
  const urls = list
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (urls.length === 0) throw new Error("GS_REDIS_URL is empty: set it to redis://host:port");
  return urls.map((s) => {
    // the URL may carry a password: never repeat that part
    const shown = s.replace(/\/\/[^/]*@/, "//***@");
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      throw new Error(`GS_REDIS_URL has an invalid URL "${shown}": use redis://host:port`);
    }
    if ((u.protocol !== "redis:" && u.protocol !== "rediss:") || !u.hostname)
      throw new Error(`GS_REDIS_URL has an invalid URL "${shown}": use redis://host:port (rediss:// for TLS)`);
    return u;
  });
}

/** Opening failed: name the servers (host:port only, never credentials) and the setting to check. */
function unreachable(urls: URL[], err: unknown): Error {
  const where = urls.map((u) => u.host).join(", ");
  return new Error(`cannot reach Redis at ${where} (${(err as Error).message}): check GS_REDIS_URL`);
}

export interface RedisStoreOptions {
  /** the URLs are seeds of a Redis Cluster (one reachable node is enough; the client finds the others) */
  cluster?: boolean;
  /**
   * Replicas that must hold a write before it is acknowledged (Redis WAIT). Redis replicates
   * asynchronously: without it, a primary that dies right after answering takes the write with it and
   * its promoted replica hands out the same revision again. Default 1 on a cluster, 0 on a single server.
   */
  replicaAcks?: number;
  /** how long a write waits for those replicas before it fails with 503 (default 1000 ms) */
  replicaTimeoutMs?: number;
}

type RedisClient = Redis | Cluster;

/** A lost connection fails the operations that meet it (retried, then a 503); ioredis would print each one. */
const ignoreConnectionEvent = (): void => undefined;

export class RedisKvStore extends BaseStore {
  private readonly base: string;
  private readonly counter: string;
  /** the WAIT not yet sent, which writes answered until then join (see replicaAcksOf) */
  private waitBatch: { node: Redis; acks: Promise<number> } | undefined;

  private constructor(
    private readonly redis: RedisClient,
    private readonly ns: string,
    /** the namespace's Redis Cluster slot; undefined on a single server */
    private readonly slot: number | undefined,
    private readonly replicaAcks: number,
    private readonly replicaTimeoutMs: number,
  ) {
    super();
    this.base = `gs:{${ns}}:k:`;
    this.counter = `gs:{${ns}}:rev`;
  }

  /** `url`: one redis:// URL, or for a cluster a comma-separated list of seed URLs. */
  static async open(url: string, namespace: string, opts: RedisStoreOptions = {}): Promise<RedisKvStore> {
    if (!SAFE_NAMESPACE.test(namespace))
      throw new Error(`invalid Redis store namespace "${namespace}": use letters, digits, - and _`);
    const urls = parseRedisUrls(url);
    const replicaAcks = opts.replicaAcks ?? (opts.cluster ? 1 : 0);
    const replicaTimeoutMs = opts.replicaTimeoutMs ?? 1000;
    if (!opts.cluster) {
      if (urls.length > 1)
        throw new Error(
          `GS_REDIS_URL lists ${urls.length} servers: for a Redis Cluster set GS_STATE_BACKEND=redis-cluster`,
        );
      const redis = new Redis(url.trim(), { lazyConnect: true, maxRetriesPerRequest: 3, enableAutoPipelining: true });
      redis.on("error", ignoreConnectionEvent);
      try {
        await redis.connect();
      } catch (err) {
        redis.disconnect();
        throw unreachable(urls, err);
      }
      return new RedisKvStore(redis, namespace, undefined, replicaAcks, replicaTimeoutMs);
    }
    const first = urls[0]!;
    const cluster = new Cluster(
      urls.map((u) => ({ host: u.hostname, port: Number(u.port || 6379) })),
      {
        lazyConnect: true,
        enableAutoPipelining: true,
        redisOptions: {
          username: decodeURIComponent(first.username) || undefined,
          password: decodeURIComponent(first.password) || undefined,
          tls: first.protocol === "rediss:" ? {} : undefined,
        },
      },
    );
    cluster.on("error", ignoreConnectionEvent);
    try {
      await cluster.connect();
      const slot = await cluster.cluster("KEYSLOT", `{${namespace}}`);
      return new RedisKvStore(cluster, namespace, slot, replicaAcks, replicaTimeoutMs);
    } catch (err) {
      cluster.disconnect();
      throw unreachable(urls, err);
    }
  }

  private k(key: string): string {
    return this.base + encodeKey(key);
  }

  /** This window's hash of write ids (see PUT_SCRIPT). */
  private writeIds(): string {
    return `gs:{${this.ns}}:w:${Math.floor(Date.now() / WRITE_ID_WINDOW_MS)}`;
  }

  /** Run `op`, again while Redis is unreachable or failing over; a 503 once that lasts past the budget. */
  private async call<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await retryWhile(op, (err) => {
        if (!isRedisUnavailable(err)) return false;
        if (this.redis instanceof Cluster) this.redis.refreshSlotsCache();
        return true;
      });
    } catch (err) {
      if (isRedisUnavailable(err)) throw unavailable(`state store unavailable: ${(err as Error).message}`);
      throw err;
    }
  }

  /** The connection to the primary that holds this store's slot (the one that just ran its write). */
  private primary(): Redis | undefined {
    if (!(this.redis instanceof Cluster)) return this.redis;
    const owner = this.redis.slots[this.slot!]?.[0];
    return this.redis.nodes("master").find((n) => `${n.options.host}:${n.options.port}` === owner);
  }

  /** Wait until `replicaAcks` replicas hold this connection's writes so far (see RedisStoreOptions). */
  private async replicated(key: string): Promise<void> {
    if (this.replicaAcks <= 0) return;
    const node = this.primary();
    if (!node) throw new SlotWithoutPrimary();
    const acks = await this.replicaAcksOf(node);
    if (acks < this.replicaAcks)
      throw unavailable(
        `${key}: the write was not confirmed by ${this.replicaAcks} Redis replica(s) within ${this.replicaTimeoutMs}ms`,
      );
  }

  /**
   * WAIT answers for every write its connection made before it, so the writes answered before one is
   * sent share it (group commit); it is sent once the current I/O callbacks have run.
   */
  private replicaAcksOf(node: Redis): Promise<number> {
    if (this.waitBatch?.node === node) return this.waitBatch.acks;
    const batch = { node, acks: Promise.resolve(0) };
    batch.acks = new Promise<void>((r) => setImmediate(r)).then(() => {
      // sent from here on: a write answered later may come after it on the connection
      if (this.waitBatch === batch) this.waitBatch = undefined;
      return node.wait(this.replicaAcks, this.replicaTimeoutMs);
    });
    this.waitBatch = batch;
    return batch.acks;
  }

  async get<T>(key: string): Promise<Versioned<T> | null> {
    const k = this.k(key);
    const [v, r] = await this.call(() => this.redis.hmget(k, "v", "r"));
    if (v === null || r === null) return null;
    return { value: JSON.parse(v) as T, revision: Number(r) };
  }

  async put<T>(key: string, value: T, expectedRevision?: number): Promise<number> {
    const k = this.k(key);
    const writeIds = this.writeIds();
    const writeId = randomBytes(12).toString("base64url");
    const data = JSON.stringify(value);
    const expected = expectedRevision === undefined ? "" : String(expectedRevision);
    const rev = await this.call(async () => {
      const r = (await this.redis.eval(
        PUT_SCRIPT,
        3,
        k,
        this.counter,
        writeIds,
        data,
        expected,
        writeId,
        WRITE_ID_TTL_MS,
      )) as number;
      if (r >= 0) await this.replicated(key);
      return r;
    });
    if (rev < 0) throw new RevisionConflict(key, expectedRevision);
    return rev;
  }

  async delete(key: string, expectedRevision?: number): Promise<void> {
    const k = this.k(key);
    const writeIds = this.writeIds();
    const writeId = randomBytes(12).toString("base64url");
    const expected = expectedRevision ? String(expectedRevision) : "";
    const ok = await this.call(async () => {
      const r = (await this.redis.eval(DEL_SCRIPT, 2, k, writeIds, expected, writeId, WRITE_ID_TTL_MS)) as number;
      if (r >= 0) await this.replicated(key);
      return r;
    });
    if (ok < 0) throw new RevisionConflict(key, expectedRevision);
  }

  async keys(prefix?: string): Promise<string[]> {
    const under = prefix ? `${this.base}${encodeKey(prefix)}.` : this.base;
    const names = await this.call(() => (this.redis instanceof Cluster ? this.slotKeys() : this.scan(under + "*")));
    const out = new Set<string>();
    for (const k of names) if (k.startsWith(under)) out.add(decodeKey(k.slice(this.base.length)));
    return [...out].sort();
  }

  private async scan(match: string): Promise<string[]> {
    const out: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await this.redis.scan(cursor, "MATCH", match, "COUNT", 500);
      cursor = next;
      out.push(...batch);
    } while (cursor !== "0");
    return out;
  }

  /**
   * Every key in the store's slot, asked of every primary: a slot being migrated has keys on two of
   * them, and ioredis sends a keyless command (SCAN) to one node at random. GETKEYSINSLOT costs a
   * primary that holds nothing of the slot O(log n).
   */
  private async slotKeys(): Promise<string[]> {
    const cluster = this.redis as Cluster;
    const primaries = cluster.nodes("master");
    const owner = cluster.slots[this.slot!]?.[0];
    // a stale view (e.g. right after a failover) would list another node's keys or none
    if (!primaries.some((n) => `${n.options.host}:${n.options.port}` === owner)) throw new SlotWithoutPrimary();
    const batches = await Promise.all(primaries.map((n) => n.cluster("GETKEYSINSLOT", this.slot!, 2 ** 31 - 1)));
    return batches.flat();
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => undefined);
  }
}

/**
 * How a service's state is configured (read from the environment by runtime.ts):
 *   GS_STATE_BACKEND=jetstream (default)  JetStream KV, bucket gs_<service>, GS_JS_REPLICAS replicas
 *   GS_STATE_BACKEND=redis                one Redis server: GS_REDIS_URL=redis://[user:pass@]host:port
 *   GS_STATE_BACKEND=redis-cluster        a Redis Cluster: GS_REDIS_URL=redis://h1:p1,redis://h2:p2,...
 *                                         (seeds; one live node is enough; rediss:// for TLS); writes are
 *                                         acknowledged once a replica holds them (WAIT 1)
 */
export interface StoreConfig {
  /** `jetstream` (default), `redis` or `redis-cluster` */
  backend?: string;
  redisUrl?: string;
  replicas?: number;
}

/** The store of one service: bucket `gs_<service>` in JetStream KV, or keys `gs:{<service>}:*` in Redis. */
export async function openStore(nc: NatsConnection, service: string, cfg: StoreConfig = {}): Promise<KvStore> {
  const backend = cfg.backend ?? "jetstream";
  if (backend === "redis" || backend === "redis-cluster") {
    if (!cfg.redisUrl)
      throw new Error(
        `GS_STATE_BACKEND=${backend} needs GS_REDIS_URL (e.g. ${backend === "redis" ? "redis://127.0.0.1:6379" : "redis://10.0.0.1:6379,redis://10.0.0.2:6379"})`,
      );
    return RedisKvStore.open(cfg.redisUrl, storeNamespaceOf(service), { cluster: backend === "redis-cluster" });
  }
  if (backend !== "jetstream") {
    throw new Error(`unknown state backend "${backend}": use jetstream, redis or redis-cluster`);
  }
  return JetStreamKvStore.open(nc, kvBucketOf(service), { replicas: cfg.replicas });
}
