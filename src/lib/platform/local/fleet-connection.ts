// How gs's own parts (the supervisor, `gs up`/`gs down`, the local platform) connect to the local
// fleet's NATS: plain, or with the fleet's TLS client certificate and the operator identity when it
// runs with --secure. One place, so no caller can forget the credentials.
import { connect, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node";
import { toConnectionOptions, type ConnectionSettings } from "@gs/fleet/sdk/connection";
import { connectBounded, KEEP_RECONNECTING } from "../../nats/connect.js";
import type { FleetRecord } from "./fleet-record.js";

/** How long gs waits for the local fleet's NATS (loopback: a healthy server answers in milliseconds). */
export const FLEET_CONNECT_TIMEOUT_MS = 3000;

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
  const o = toConnectionOptions({
    ...fleetSettings(nats, opts.name),
    timeout: opts.timeout ?? FLEET_CONNECT_TIMEOUT_MS,
  });
  return opts.reconnect ? { ...o, ...KEEP_RECONNECTING } : o;
}

/** A short-lived connection is bounded (connectBounded); one that reconnects forever waits as NATS.js does. */
export function connectFleet(
  nats: FleetNats,
  opts: { name?: string; timeout?: number; reconnect?: boolean } = {},
): Promise<NatsConnection> {
  const options = fleetConnectOptions(nats, opts);
  if (opts.reconnect) return connect(options);
  return connectBounded({
    ...options,
    servers: nats.url.split(","),
    timeout: options.timeout ?? FLEET_CONNECT_TIMEOUT_MS,
  });
}
