// One way to turn connection settings into NATS.js options, shared by the services and the gs CLI.
import { readFileSync } from "node:fs";
import {
  connect,
  credsAuthenticator,
  nkeyAuthenticator,
  type ConnectionOptions,
  type NatsConnection,
} from "@nats-io/transport-node";

export interface ConnectionSettings {
  /** one or more URLs, e.g. `nats://127.0.0.1:4222` */
  servers: string[];
  name?: string;
  /** path of a .creds file (JWT + nkey seed) */
  creds?: string;
  /** path of a file holding an nkey seed */
  nkey?: string;
  user?: string;
  password?: string;
  token?: string;
  tls?: { ca?: string; cert?: string; key?: string };
  /** connect timeout, ms */
  timeout?: number;
  /** keep reconnecting forever (services) instead of failing fast (CLI) */
  reconnectForever?: boolean;
  /** reply subjects start with this (a service's permissions allow only its own inbox) */
  inboxPrefix?: string;
  /** connect to the servers in the order given (the local platform spreads instances over nodes) */
  noRandomize?: boolean;
}

/** Build NATS.js connection options. Reads the creds/nkey files named in `s`. */
export function toConnectionOptions(s: ConnectionSettings): ConnectionOptions {
  const opts: ConnectionOptions = { servers: s.servers, name: s.name, timeout: s.timeout ?? 5000 };
  if (s.creds) opts.authenticator = credsAuthenticator(readFileSync(s.creds));
  else if (s.nkey)
    opts.authenticator = nkeyAuthenticator(new TextEncoder().encode(readFileSync(s.nkey, "utf8").trim()));
  if (s.user) {
    opts.user = s.user;
    opts.pass = s.password;
  }
  if (s.token) opts.token = s.token;
  if (s.inboxPrefix) opts.inboxPrefix = s.inboxPrefix;
  if (s.noRandomize) opts.noRandomize = true;
  if (s.tls && (s.tls.ca || s.tls.cert || s.tls.key)) {
    opts.tls = { caFile: s.tls.ca, certFile: s.tls.cert, keyFile: s.tls.key };
  }
  if (s.reconnectForever) {
    opts.maxReconnectAttempts = -1;
    opts.reconnectTimeWait = 250;
    opts.reconnectJitter = 250;
    opts.reconnectJitterTLS = 500;
    opts.waitOnFirstConnect = true;
    opts.pingInterval = 10_000;
    // a long-running process makes requests on its hot path (a KV read per rpc): without this, NATS.js
    // builds two Errors with stacks per request in case it fails (measured: ~40% of payment's CPU)
    opts.noAsyncTraces = true;
  } else {
    opts.maxReconnectAttempts = 0;
    opts.reconnect = false;
  }
  return opts;
}

/**
 * Settings for a service process, from its environment (NATS_URL, NATS_CREDS, NATS_NKEY, NATS_USER,
 * NATS_PASSWORD, NATS_TOKEN, NATS_TLS_CA/CERT/KEY, NATS_INBOX_PREFIX, NATS_NO_RANDOMIZE=1).
 */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env, name?: string): ConnectionSettings {
  return {
    servers: (env.NATS_URL ?? "nats://127.0.0.1:4222")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    name,
    creds: env.NATS_CREDS || undefined,
    nkey: env.NATS_NKEY || undefined,
    user: env.NATS_USER || undefined,
    password: env.NATS_PASSWORD || undefined,
    token: env.NATS_TOKEN || undefined,
    tls: { ca: env.NATS_TLS_CA || undefined, cert: env.NATS_TLS_CERT || undefined, key: env.NATS_TLS_KEY || undefined },
    inboxPrefix: env.NATS_INBOX_PREFIX || undefined,
    noRandomize: env.NATS_NO_RANDOMIZE === "1",
    reconnectForever: true,
  };
}

export function connectWith(s: ConnectionSettings): Promise<NatsConnection> {
  return connect(toConnectionOptions(s));
}
