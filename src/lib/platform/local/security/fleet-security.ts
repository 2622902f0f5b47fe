// `gs up --secure`: TLS everywhere (mutual, client connections and cluster routes) and one NATS
// identity per service with least-privilege subject permissions; gs and the supervisor use the
// operator identity, and `gs status` reads the NATS layer as a user of the system account (an
// identity of its own: no service and not the operator can reach $SYS). Identities are nkeys:
// nats-server's config holds only public keys, each seed is a 0600 file under .gs/secure/nkeys/
// that only its process is pointed at (NATS_NKEY).
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createUser } from "@nats-io/nkeys";
import {
  GATEWAY_SERVICE,
  gatewayPermissions,
  inboxPrefixOf,
  servicePermissions,
  type NatsPermissions,
} from "@gs/fleet/sdk/permissions";
import type { ProtoRegistry } from "@gs/fleet/sdk/registry";
import { ensureLocalPki, type TlsFiles } from "./pki.js";

export interface FleetIdentity {
  /** the file holding the nkey seed (0600) */
  nkey: string;
  publicKey: string;
}

/** What the supervisor needs to run a secure fleet. Paths and public data only: no secret in here. */
export interface FleetSecurity {
  /** nats-server's certificate (client connections and routes) */
  server: TlsFiles;
  /** the certificate every client presents (gs, the supervisor, the services) */
  client: TlsFiles;
  operator: FleetIdentity;
  /** the system account's user: gs reads servers, JetStream and streams with it ($SYS.REQ.SERVER.PING.*) */
  system: FleetIdentity;
  services: Record<string, FleetIdentity & { inboxPrefix: string; permissions: NatsPermissions }>;
}

/** Make (or refresh) the CA, certificates and identities of a secure local fleet under `dir`. */
export async function prepareFleetSecurity(
  dir: string,
  services: string[],
  registry: ProtoRegistry,
): Promise<FleetSecurity> {
  const pki = await ensureLocalPki(dir);
  const keys = path.join(dir, "nkeys");
  mkdirSync(keys, { recursive: true, mode: 0o700 });
  chmodSync(keys, 0o700);
  const identity = (name: string) => createIdentity(keys, name);
  const out: FleetSecurity = {
    server: pki.server,
    client: pki.client,
    operator: identity("gs-operator"),
    system: identity("gs-system"),
    services: {},
  };
  for (const name of services) {
    out.services[name] = {
      ...identity(name),
      inboxPrefix: inboxPrefixOf(name),
      permissions: name === GATEWAY_SERVICE ? gatewayPermissions(registry) : servicePermissions(registry, name),
    };
  }
  return out;
}

/** A fresh nkey user: its seed in `<dir>/<name>.nk` (0600). Fresh on every start: a seed copied out of an old .gs/ opens nothing. */
export function createIdentity(dir: string, name: string): FleetIdentity {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const kp = createUser();
  const file = path.join(dir, `${name}.nk`);
  writeFileSync(file, new TextDecoder().decode(kp.getSeed()) + "\n", { mode: 0o600 });
  chmodSync(file, 0o600);
  return { nkey: file, publicKey: kp.getPublicKey() };
}

/** The nats-server config lines for TLS on client connections (mutual: a client certificate is required). */
export function tlsConfig(sec: FleetSecurity): string {
  return `tls ${JSON.stringify({ cert_file: sec.server.cert, key_file: sec.server.key, ca_file: sec.server.ca, verify: true, timeout: 3 })}`;
}

/** The fleet's users (nats-server config `users`): the operator may do anything, each service what servicePermissions says. */
export function fleetUsers(sec: FleetSecurity): { nkey: string; permissions?: NatsPermissions }[] {
  return [
    { nkey: sec.operator.publicKey },
    ...Object.values(sec.services).map((s) => ({ nkey: s.publicKey, permissions: s.permissions })),
  ];
}

/** The environment a service instance connects with. */
export function serviceEnv(sec: FleetSecurity, service: string): Record<string, string> {
  const id = sec.services[service];
  if (!id) throw new Error(`no NATS identity for ${service}`);
  return {
    NATS_TLS_CA: sec.client.ca,
    NATS_TLS_CERT: sec.client.cert,
    NATS_TLS_KEY: sec.client.key,
    NATS_NKEY: id.nkey,
    NATS_INBOX_PREFIX: id.inboxPrefix,
  };
}
