// The one place the `gs kv` commands turn their flags into a service's state store: the store named by
// --backend/--redis-url, the service's env in gs.yaml, or JetStream KV over the NATS flags' connection.
import type { StateReader } from "./lib/state/state-reader.js";
import { withServiceState } from "./lib/state/service-state.js";
import { openNats, type NatsFlagValues } from "./nats-session.js";

export interface StateFlagValues extends NatsFlagValues {
  target?: string;
  backend?: string;
  "redis-url"?: string;
}

/** Runs `fn` with a reader of `service`'s state store, closed afterwards. */
export function readServiceState<T>(
  service: string,
  flags: StateFlagValues,
  fn: (reader: StateReader) => Promise<T>,
): Promise<T> {
  return withServiceState(
    {
      service,
      cwd: process.cwd(),
      config: flags.config,
      backend: flags.backend,
      redisUrl: flags["redis-url"],
      target: flags.target,
      nats: async () => (await openNats(flags)).nc,
      timeout: flags.timeout,
    },
    fn,
  );
}
