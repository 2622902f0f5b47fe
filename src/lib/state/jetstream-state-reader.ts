// A service's JetStream KV bucket, read-only: bound with Kvm.open (the SDK's openStore would create
// the bucket if it were missing), keys decoded the SDK's way (encodeKey / decodeKey).
import type { NatsConnection } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { Kvm, type KV, type KvEntry } from "@nats-io/kv";
import { kvStreamOf } from "@gs/fleet/sdk/permissions";
import { decodeKey, encodeKey } from "@gs/fleet/sdk/state";
import { OperationError } from "../output/errors.js";
import { isStreamNotFound, jetStreamFailure, openJetStream } from "./jetstream-errors.js";
import type { StateEntry, StateReader } from "./state-reader.js";
import type { StateSource } from "./state-source.js";
import { decodeStoredBytes } from "./stored-value.js";

type JetStreamSource = Extract<StateSource, { backend: "jetstream" }>;

export async function openJetStreamStateReader(
  nc: NatsConnection,
  source: JetStreamSource,
  opts: { timeout: number },
): Promise<StateReader> {
  const jsm = await openJetStream(nc, opts.timeout);
  try {
    await jsm.streams.info(kvStreamOf(source.service));
  } catch (err) {
    if (isStreamNotFound(err))
      throw new OperationError(
        `${source.service} has no state in JetStream: bucket ${source.bucket} does not exist on this NATS`,
        {
          hint: `the bucket appears when ${source.service} first starts (\`gs up\`); if it keeps its state in Redis, pass --backend redis --redis-url URL`,
          code: "no_state_store",
        },
      );
    throw jetStreamFailure(err, `read bucket ${source.bucket}`);
  }
  try {
    const kv = await new Kvm(jetstream(nc, { timeout: opts.timeout })).open(source.bucket);
    return new JetStreamStateReader(kv, source);
  } catch (err) {
    throw jetStreamFailure(err, `open bucket ${source.bucket}`);
  }
}

class JetStreamStateReader implements StateReader {
  readonly keepsHistory = true;

  constructor(
    private readonly kv: KV,
    readonly source: JetStreamSource,
  ) {}

  private async read<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw jetStreamFailure(err, `read ${what} of bucket ${this.source.bucket}`);
    }
  }

  keys(prefix?: string): Promise<string[]> {
    return this.read("the keys", async () => {
      const out: string[] = [];
      for await (const k of await this.kv.keys(prefix ? `${encodeKey(prefix)}.>` : ">")) out.push(decodeKey(k));
      return out.sort();
    });
  }

  latest(key: string): Promise<StateEntry | null> {
    return this.read(key, async () => {
      const e = await this.kv.get(encodeKey(key));
      return e ? entryOf(key, e) : null;
    });
  }

  history(key: string): Promise<StateEntry[]> {
    return this.read(`the history of ${key}`, async () => {
      const out: StateEntry[] = [];
      for await (const e of await this.kv.history({ key: encodeKey(key) })) out.push(entryOf(key, e));
      return out.sort((a, b) => a.revision - b.revision);
    });
  }

  async close(): Promise<void> {}
}

function entryOf(key: string, e: KvEntry): StateEntry {
  return {
    key,
    revision: e.revision,
    time: e.created.toISOString(),
    operation: e.operation,
    ...(e.operation === "PUT" ? { value: decodeStoredBytes(e.value) } : {}),
  };
}
