// Opens the reader of the store a StateSource names; the backends' modules load only when used.
import type { NatsConnection } from "@nats-io/transport-node";
import type { StateReader } from "./state-reader.js";
import type { StateSource } from "./state-source.js";

/** Open the store `source` names: its JetStream KV bucket through `nc`, or its Redis server(s). */
export async function openStateReader(
  source: StateSource,
  nats: () => Promise<NatsConnection>,
  opts: { timeout: number },
): Promise<StateReader> {
  if (source.backend === "jetstream") {
    const { openJetStreamStateReader } = await import("./jetstream-state-reader.js");
    return openJetStreamStateReader(await nats(), source, opts);
  }
  const { openRedisStateReader } = await import("./redis-state-reader.js");
  return openRedisStateReader(source, opts);
}
