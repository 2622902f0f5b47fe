// The sources the exporter polls, opened for a gs.yaml target as `gs status --watch` opens them: the
// platform, the fleet's NATS (reconnecting through outages on the local platform) and the NATS layer.
import { NatsLayerReader } from "../nats-layer/read-layer.js";
import { natsLayerAccess } from "../nats-layer/target-access.js";
import { openPlatform, type PlatformContext } from "../platform/open-platform.js";
import type { FleetSources } from "./fleet-poller.js";

export interface OpenedFleetSources extends FleetSources {
  close(): Promise<void>;
}

export async function openFleetSources(ctx: PlatformContext, intervalMs: number): Promise<OpenedFleetSources> {
  const opened = await openPlatform(ctx, { name: "gs-metrics", reconnect: true });
  try {
    const nc = await opened.nats();
    const natsLayer = new NatsLayerReader(natsLayerAccess(ctx, opened, { reconnect: true }), {
      maxConsumerPending: ctx.cfg.status.maxConsumerPending,
      // within the poller's timeout per source (the interval, at least 500ms, at most 5s)
      maxWaitMs: Math.max(300, Math.min(intervalMs - 100, 1500)),
    });
    return {
      platform: opened.platform,
      nc,
      natsLayer,
      close: async () => {
        await natsLayer.close();
        await opened.close().catch(() => undefined);
      },
    };
  } catch (err) {
    await opened.close().catch(() => undefined);
    throw err;
  }
}
