// The sources of `gs status --watch` on the local platform. Unlike a one-shot command, the watch
// keeps its NATS connection through outages (reconnecting forever), so NATS going down shows as
// "NATS down" and the dashboard recovers on its own when it comes back.
import type { NatsConnection } from "@nats-io/transport-node";
import { OperationError } from "../output/errors.js";
import { connectFleet } from "../platform/local/fleet-connection.js";
import { liveFleetRecord } from "../platform/local/fleet-record.js";
import { LocalPlatform, NOT_RUNNING_HINT } from "../platform/local/local-platform.js";
import type { LocalPaths } from "../platform/local/paths.js";
import { openPlatform, type PlatformContext } from "../platform/open-platform.js";
import type { Platform } from "../platform/platform.js";

export interface WatchSources {
  platform: Platform;
  nc: NatsConnection;
  natsServer: string;
  close(): Promise<void>;
}

export async function openLocalWatch(target: string, paths: LocalPaths): Promise<WatchSources> {
  const record = liveFleetRecord(paths);
  if (!record) throw new OperationError("the local fleet is not running", { hint: NOT_RUNNING_HINT, code: "not_running" });
  let nc: NatsConnection;
  try {
    // the fleet's own connection settings: TLS and the operator key when it runs --secure
    nc = await connectFleet(record.nats, { name: "gs-status-watch", timeout: 3000, reconnect: true });
  } catch (err) {
    throw new OperationError(`cannot reach the local fleet's NATS at ${record.nats.url} (${(err as Error).message})`, {
      hint: "restart it with `gs down` then `gs up`",
      code: "nats_unreachable",
    });
  }
  return {
    platform: new LocalPlatform(target, paths, nc, record.control.prefix),
    nc,
    natsServer: record.nats.url.split(",")[0]!,
    close: () => nc.close().catch(() => undefined),
  };
}

/** A non-local target (ecs): its platform, and its NATS from gs.yaml's `nats.url` and credentials. */
export async function openTargetWatch(ctx: PlatformContext): Promise<WatchSources> {
  const opened = await openPlatform(ctx);
  try {
    const nc = await opened.nats();
    const url = ctx.target.platform === "ecs" ? (ctx.target.nats?.url ?? "") : "";
    return { platform: opened.platform, nc, natsServer: url, close: opened.close };
  } catch (err) {
    await opened.close();
    throw err;
  }
}
