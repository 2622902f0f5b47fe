// A service's Redis state, read through the SDK's own store (services/sdk/state.ts RedisKvStore: the
// key layout, the hash of value and revision, and the cluster slot walk stay the SDK's). Redis keeps
// only the current revision of a key and no time.
import { Redis } from "ioredis";
import type { JsonValue } from "@gs/fleet/sdk/json-codec";
import { RedisKvStore } from "@gs/fleet/sdk/state";
import { OperationError } from "../output/errors.js";
import { redactSecrets } from "./secret-fields.js";
import type { StateEntry, StateReader } from "./state-reader.js";
import { describeStateSource, redisUrls, type StateSource } from "./state-source.js";

type RedisSource = Extract<StateSource, { backend: "redis" | "redis-cluster" }>;

export async function openRedisStateReader(source: RedisSource, opts: { timeout: number }): Promise<StateReader> {
  // The SDK's client reconnects for ever (right for a service); a CLI must fail at once and say why
  await probe(source, opts.timeout);
  let store: RedisKvStore;
  try {
    store = await RedisKvStore.open(source.url, source.namespace, { cluster: source.backend === "redis-cluster" });
  } catch (err) {
    throw new OperationError(`cannot open ${describeStateSource(source)}: ${(err as Error).message}`, { cause: err });
  }
  return new RedisStateReader(store, source);
}

/** One PING to the first seed that answers: the real reason (refused, unknown host, bad password) when none does. */
async function probe(source: RedisSource, timeout: number): Promise<void> {
  let reason = "";
  for (const url of redisUrls(source.url)) {
    let lastEvent: Error | undefined;
    const client = new Redis(url.href, {
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      connectTimeout: timeout,
    });
    // the connection's own error arrives as an event; connect() only says "Connection is closed"
    client.on("error", (err: Error) => (lastEvent = err));
    try {
      await client.connect();
      await client.ping();
      await client.quit();
      return;
    } catch (err) {
      // a client that already ended must not be disconnected again: that arms a 2 s timer (disconnectTimeout)
      if (client.status !== "end") client.disconnect();
      reason = `${url.host}: ${(lastEvent ?? (err as Error)).message}`;
    }
  }
  throw new OperationError(`cannot connect to Redis (${reason})`, {
    hint: `check --redis-url (or GS_REDIS_URL in services.${source.service}.env of gs.yaml) and that Redis is up`,
    code: "redis_unreachable",
  });
}

class RedisStateReader implements StateReader {
  readonly keepsHistory = false;

  constructor(
    private readonly store: RedisKvStore,
    readonly source: RedisSource,
  ) {}

  private async read<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw new OperationError(
        `cannot read ${what} from ${describeStateSource(this.source)}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }

  keys(prefix?: string): Promise<string[]> {
    return this.read("the keys", () => this.store.keys(prefix));
  }

  latest(key: string): Promise<StateEntry | null> {
    return this.read(key, async () => {
      const cur = await this.store.get<JsonValue>(key);
      if (!cur) return null;
      const { value, redacted } = redactSecrets(cur.value);
      return { key, revision: cur.revision, operation: "PUT", value: { json: value, redacted } };
    });
  }

  async history(key: string): Promise<StateEntry[]> {
    const cur = await this.latest(key);
    return cur ? [cur] : [];
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
