// How gs's own parts (the supervisor, `gs up`/`gs down`, the local platform) connect to the local
// fleet's NATS: plain, or with the fleet's TLS client certificate and the operator identity when it
// runs with --secure. One place, so no caller can forget the credentials.
import { connect, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node";
import { toConnectionOptions, type ConnectionSettings } from "@gs/fleet/sdk/connection";
import type { FleetRecord } from "./fleet-record.js";

export type FleetNats = Pick<FleetRecord["nats"], "url" | "tls" | "nkey">;

function fleetSettings(nats: FleetNats, name = "gs"): ConnectionSettings {
  return {
    servers: nats.url.split(","),
    name,
    ...(nats.tls ? { tls: { ...nats.tls } } : {}),
    ...(nats.nkey ? { nkey: nats.nkey } : {}),
  };
}

export function fleetConnectOptions(
  nats: FleetNats,
  opts: { name?: string; timeout?: number; reconnect?: boolean } = {},
): ConnectionOptions {
  const o = toConnectionOptions({ ...fleetSettings(nats, opts.name), timeout: opts.timeout ?? 3000 });
  if (opts.reconnect) {
    o.reconnect = true;
    o.maxReconnectAttempts = -1;
    o.reconnectTimeWait = 250;
  }
  return o;
}

export function connectFleet(
  nats: FleetNats,
  opts: { name?: string; timeout?: number; reconnect?: boolean } = {},
): Promise<NatsConnection> {
  return connect(fleetConnectOptions(nats, opts));
}
