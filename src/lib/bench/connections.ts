// A load share's own NATS connections. The main thread already proved the settings work (it connected
// and sent one request), so plain connects suffice here.
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { toConnectionOptions } from "@gs/fleet/sdk/connection";
import type { WorkerConfig } from "./types.js";

export async function openConnections(
  cfg: Pick<WorkerConfig, "settings" | "connections" | "index">,
): Promise<NatsConnection[]> {
  // noAsyncTraces: no stack captured per operation, in case it fails (the load never shows one)
  const opts = { ...toConnectionOptions({ ...cfg.settings, name: `gs-bench-${cfg.index}` }), noAsyncTraces: true };
  const attempts = await Promise.allSettled(Array.from({ length: cfg.connections }, () => connect(opts)));
  const ncs = attempts.flatMap((a) => (a.status === "fulfilled" ? [a.value] : []));
  const failed = attempts.find((a): a is PromiseRejectedResult => a.status === "rejected");
  if (failed) {
    await closeConnections(ncs);
    throw new Error(`load share ${cfg.index} could not connect: ${(failed.reason as Error).message}`);
  }
  return ncs;
}

export async function closeConnections(ncs: NatsConnection[]): Promise<void> {
  await Promise.all(ncs.map((nc) => nc.close().catch(() => {})));
}
