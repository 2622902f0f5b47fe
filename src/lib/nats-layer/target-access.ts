// How to reach a target's NATS layer. The local fleet: the system account's user and each node's
// monitoring endpoint, both recorded in .gs/local.json by the supervisor. An ecs target: its own
// NATS connection (which answers $SYS requests only if its credentials are a system-account user),
// then the monitoring endpoints listed in gs.yaml (`nats.monitoring`).
import type { NatsConnection } from "@nats-io/transport-node";
import type { OpenedPlatform, PlatformContext } from "../platform/open-platform.js";
import { connectFleet } from "../platform/local/fleet-connection.js";
import { readFleetRecord, type FleetRecord } from "../platform/local/fleet-record.js";
import type { NatsLayerAccess } from "./read-layer.js";

export function natsLayerAccess(
  ctx: PlatformContext,
  opened: Pick<OpenedPlatform, "nats">,
  opts: { reconnect?: boolean } = {},
): NatsLayerAccess {
  const t = ctx.target;
  if (t.platform === "local") {
    const rec = readFleetRecord(ctx.paths);
    return rec ? localFleetAccess(rec.nats, opts) : { monitoring: [], noSystem: "the local fleet is not running" };
  }
  return {
    system: { connection: () => opened.nats(), close: async () => undefined },
    monitoring: (t.nats.monitoring ?? []).map((url) => ({ url })),
    hint: `to see it, list each server's monitoring URL under targets.${ctx.targetName}.nats.monitoring in gs.yaml, or use credentials of a system-account user`,
  };
}

/** The local fleet's NATS layer: its system user first, its nodes' monitoring endpoints next. */
export function localFleetAccess(nats: FleetRecord["nats"], opts: { reconnect?: boolean } = {}): NatsLayerAccess {
  const base: NatsLayerAccess = {
    monitoring: (nats.monitoring ?? []).map((url, i) => ({
      url,
      ...(nats.nodes[i] ? { name: nats.nodes[i].name } : {}),
    })),
    expected: nats.nodes.map((n) => n.name),
    ...(nats.tls ? { tls: nats.tls } : {}),
  };
  const system = nats.system;
  if (!system)
    return {
      ...base,
      noSystem: "this fleet was started by an older gs without a system account: restart it (`gs down`, then `gs up`)",
    };
  let nc: Promise<NatsConnection> | undefined;
  return {
    ...base,
    system: {
      connection: () => {
        if (!nc) {
          // the fleet's TLS client certificate, with the system user's key instead of the operator's
          const opening = connectFleet(
            { url: nats.url, ...(nats.tls ? { tls: nats.tls } : {}), nkey: system.nkey },
            { name: "gs-nats-layer", timeout: 2000, reconnect: opts.reconnect },
          );
          // a failed connect is tried again on the next read
          opening.catch(() => {
            if (nc === opening) nc = undefined;
          });
          nc = opening;
        }
        return nc;
      },
      close: async () => {
        const open = await nc?.catch(() => undefined);
        nc = undefined;
        await open?.close();
      },
    },
  };
}
