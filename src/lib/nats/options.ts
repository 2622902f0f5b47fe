// Where a command connects to NATS, and with which credentials, from flags, env, gs.yaml,
// the local fleet and natscli contexts. Pure apart from reading small files; never connects.
import { readFileSync } from "node:fs";
import path from "node:path";
import type { ConnectionSettings } from "@gs/fleet/sdk/connection";
import { EXIT, GsError, type ExitCode } from "../output/errors.js";
import { NatsContextError, readContext, selectedContextName, type NatsCliContext } from "./natscli-context.js";

export const DEFAULT_NATS_URL = "nats://127.0.0.1:4222";
export const DEFAULT_TIMEOUT_MS = 5000;
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
/** What the local platform writes while the local fleet runs, relative to the project root. */
export const LOCAL_FLEET_RECORD = path.join(".gs", "local.json");

/** The NATS flags every command shares. */
export interface NatsFlags {
  server?: string;
  context?: string;
  creds?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  user?: string;
  password?: string;
  /** ms */
  timeout?: number;
}

export interface ResolveConnectionOptions {
  env?: NodeJS.ProcessEnv;
  /** relative paths in flags resolve against it; the local fleet record is looked for from it upwards */
  cwd: string;
  /** the NATS URL of the gs.yaml target, when the target has one (ecs) */
  targetNatsUrl?: string;
  /** the target's name, for `source` */
  targetName?: string;
  /** a .creds file for the target's URL (the caller resolves gs.yaml's credentials reference to it) */
  targetCreds?: string;
  /** replaces $XDG_CONFIG_HOME / ~/.config when looking for natscli contexts (tests) */
  configHome?: string;
}

/** Connection settings plus where they came from, e.g. "--server", "NATS_URL", "context prod". */
export type ResolvedConnection = ConnectionSettings & { source: string };

/** A bad server address or timeout (bad input, exit 2), or an unusable local fleet record (exit 1). */
export class NatsSettingsError extends GsError {
  override name = "NatsSettingsError";
  constructor(message: string, hint: string, opts: { code?: string; exit?: ExitCode } = {}) {
    super(message, { hint, code: opts.code ?? "bad_nats_settings", exit: opts.exit ?? EXIT.usage });
  }
}

type Base = Omit<ConnectionSettings, "timeout" | "reconnectForever" | "name"> & { source: string };

/**
 * The first of these that is set decides the servers (and the credentials that go with them):
 *   1. --server (-s): comma-separated URLs or bare host:port
 *   2. --context NAME: a natscli context
 *   3. env NATS_URL, with NATS_CREDS, NATS_NKEY, NATS_USER, NATS_PASSWORD, NATS_TOKEN,
 *      NATS_CA/NATS_CERT/NATS_KEY as natscli reads them (NATS_TLS_* as the fleet's services do)
 *   4. env NATS_CONTEXT: a natscli context, as natscli reads it
 *   5. the gs.yaml target's NATS URL (targetNatsUrl, with targetCreds)
 *   6. the local fleet record .gs/local.json, nearest from cwd upwards
 *   7. the natscli selected context (nats context select)
 *   8. nats://127.0.0.1:4222
 * The NATS_* credential variables only go with NATS_URL: credentials from a shell set up for
 * one cluster must not be sent to another (the local fleet, a target from gs.yaml).
 * Then explicit flags (--creds, --user/--password, --tls-*) override what the source gave.
 */
export function resolveConnection(flags: NatsFlags, opts: ResolveConnectionOptions): ResolvedConnection {
  const env = opts.env ?? process.env;
  const ctxOpts = { configHome: opts.configHome, env };
  const base = chooseSource(flags, opts, env, ctxOpts);
  const out: ResolvedConnection = { ...base, timeout: flags.timeout ?? DEFAULT_TIMEOUT_MS, reconnectForever: false };
  applyFlags(out, flags, opts.cwd);
  if (!(Number.isFinite(out.timeout) && out.timeout! > 0)) {
    throw new NatsSettingsError(
      `--timeout: expected a positive duration, got ${String(flags.timeout)}`,
      "pass e.g. --timeout 5s",
      { code: "bad_duration" },
    );
  }
  // Node's timers fire at once above 2^31-1 ms: a longer timeout is a typo, not a wish
  if (out.timeout! > MAX_TIMEOUT_MS) {
    throw new NatsSettingsError(`--timeout: ${String(flags.timeout)}ms is longer than 596h`, "pass e.g. --timeout 5s", {
      code: "bad_duration",
    });
  }
  return dropEmpty(out);
}

function chooseSource(
  flags: NatsFlags,
  opts: ResolveConnectionOptions,
  env: NodeJS.ProcessEnv,
  ctxOpts: { configHome?: string; env: NodeJS.ProcessEnv },
): Base {
  // `--server ''` is a mistake to report, not a request for the default
  if (flags.server !== undefined) return { servers: parseServers(flags.server, "--server"), source: "--server" };
  if (flags.context !== undefined)
    return fromContext(readContext(flags.context, ctxOpts), `--context ${flags.context}`);
  if (env.NATS_URL) {
    return {
      servers: parseServers(env.NATS_URL, "NATS_URL"),
      source: "NATS_URL",
      creds: env.NATS_CREDS || undefined,
      nkey: env.NATS_NKEY || undefined,
      user: env.NATS_USER || undefined,
      password: env.NATS_PASSWORD || undefined,
      token: env.NATS_TOKEN || undefined,
      tls: {
        ca: env.NATS_CA || env.NATS_TLS_CA || undefined,
        cert: env.NATS_CERT || env.NATS_TLS_CERT || undefined,
        key: env.NATS_KEY || env.NATS_TLS_KEY || undefined,
      },
    };
  }
  if (env.NATS_CONTEXT) return fromContext(readContext(env.NATS_CONTEXT, ctxOpts), `NATS_CONTEXT ${env.NATS_CONTEXT}`);
  if (opts.targetNatsUrl) {
    const source = opts.targetName ? `target ${opts.targetName}` : "target";
    return { servers: parseServers(opts.targetNatsUrl, source), source, creds: opts.targetCreds };
  }
  const local = findLocalFleetRecord(opts.cwd, env);
  if (local) {
    // a secure local fleet (`gs up --secure`): its client certificate and the operator identity
    return { servers: local.servers, source: `local fleet (${LOCAL_FLEET_RECORD})`, tls: local.tls, nkey: local.nkey };
  }
  const selected = selectedContextName(ctxOpts);
  if (selected) {
    try {
      return fromContext(readContext(selected, ctxOpts), `context ${selected}`);
    } catch (err) {
      if (err instanceof NatsContextError) {
        throw new NatsContextError(
          `${err.message} (it is the selected context)`,
          "select another with `nats context select`, or pass --server / --context",
        );
      }
      throw err;
    }
  }
  return { servers: [DEFAULT_NATS_URL], source: "default" };
}

function fromContext(ctx: NatsCliContext, source: string): Base {
  return {
    // natscli connects to the default URL when a context leaves url empty
    servers: ctx.url ? parseServers(ctx.url, `context ${ctx.name} (${ctx.file})`) : [DEFAULT_NATS_URL],
    source,
    ...contextCredentials(ctx),
  };
}

export type NatsCredentials = Pick<ConnectionSettings, "creds" | "nkey" | "user" | "password" | "token" | "tls">;

/** A natscli context's credentials and TLS files (tls only when it names one). */
export function contextCredentials(ctx: NatsCliContext): NatsCredentials {
  return {
    creds: ctx.creds,
    nkey: ctx.nkey,
    user: ctx.user,
    password: ctx.password,
    token: ctx.token,
    ...(ctx.ca || ctx.cert || ctx.key ? { tls: { ca: ctx.ca, cert: ctx.cert, key: ctx.key } } : {}),
  };
}

function applyFlags(s: ResolvedConnection, flags: NatsFlags, cwd: string): void {
  const abs = (p: string) => path.resolve(cwd, p);
  if (flags.creds) {
    // a creds file is a whole identity: drop whatever the source authenticated with
    s.creds = abs(flags.creds);
    s.nkey = s.user = s.password = s.token = undefined;
  }
  if (flags.user) {
    s.user = flags.user;
    s.password = flags.password;
    s.creds = s.nkey = s.token = undefined;
  } else if (flags.password !== undefined) {
    s.password = flags.password;
  }
  if (flags.tlsCa || flags.tlsCert || flags.tlsKey) {
    s.tls = {
      ca: flags.tlsCa ? abs(flags.tlsCa) : s.tls?.ca,
      cert: flags.tlsCert ? abs(flags.tlsCert) : s.tls?.cert,
      key: flags.tlsKey ? abs(flags.tlsKey) : s.tls?.key,
    };
  }
}

function dropEmpty(s: ResolvedConnection): ResolvedConnection {
  const out = Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)) as ResolvedConnection;
  if (out.tls) {
    const tls = Object.fromEntries(Object.entries(out.tls).filter(([, v]) => v !== undefined));
    if (Object.keys(tls).length === 0) delete out.tls;
    else out.tls = tls;
  }
  return out;
}

// the Node.js transport speaks TCP (optionally TLS), not websockets
const SCHEMES = new Set(["nats:", "tls:"]);

/**
 * Split a comma-separated server list into URLs: `host:port` and `host` become
 * `nats://host:port` and `nats://host:4222`. `what` names the source in errors.
 */
export function parseServers(spec: string, what: string): string[] {
  const items = spec
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0)
    throw new NatsSettingsError(`${what}: no server given`, "pass e.g. --server nats://127.0.0.1:4222", {
      code: "bad_server_address",
    });
  return items.map((item) => {
    const candidate = /^[a-z][a-z0-9+.-]*:\/\//i.test(item) ? item : `nats://${item}`;
    let url: URL;
    try {
      url = new URL(candidate);
    } catch {
      throw badServer(what, item);
    }
    if (!SCHEMES.has(url.protocol) || url.hostname === "") throw badServer(what, item);
    if (url.port === "") url.port = "4222";
    // URL keeps a lone trailing slash; NATS URLs have no path
    return url.pathname === "/" || url.pathname === "" ? url.href.replace(/\/$/, "") : url.href;
  });
}

function badServer(what: string, item: string): NatsSettingsError {
  return new NatsSettingsError(
    `${what}: "${redactUrl(item)}" is not a NATS server address`,
    "use nats://host:port, tls://host:port or host:port (several separated by commas)",
    { code: "bad_server_address" },
  );
}

/** What a command needs of the local fleet's record: where NATS is, and the files a secure fleet's clients connect with. */
export interface LocalFleetConnection {
  file: string;
  servers: string[];
  tls?: { ca: string; cert: string; key: string };
  /** the operator identity's nkey seed file */
  nkey?: string;
}

/** The local fleet's record nearest cwd, or undefined when no local fleet has been started. */
export function findLocalFleetRecord(
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): LocalFleetConnection | undefined {
  for (let dir = path.resolve(cwd); ;) {
    // GS_HOME moves .gs/ (see src/lib/platform/local/paths.ts); absolute or relative to the project
    const file = env.GS_HOME ? path.resolve(dir, env.GS_HOME, "local.json") : path.join(dir, LOCAL_FLEET_RECORD);
    let text: string | undefined;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") throw corruptRecord(file, cwd, `cannot read: ${code}`);
    }
    if (text !== undefined) return { file, ...parseRecord(text, file, cwd) };
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function parseRecord(text: string, file: string, cwd: string): Omit<LocalFleetConnection, "file"> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw corruptRecord(file, cwd, `not valid JSON (${(err as Error).message})`);
  }
  const nats = (data as { nats?: { url?: unknown; tls?: unknown; nkey?: unknown } } | null)?.nats;
  const url = nats?.url;
  if (typeof url !== "string" || url === "") throw corruptRecord(file, cwd, "no nats.url");
  let servers: string[];
  try {
    servers = parseServers(url, "nats.url");
  } catch (err) {
    throw corruptRecord(file, cwd, (err as Error).message);
  }
  const out: Omit<LocalFleetConnection, "file"> = { servers };
  if (nats!.tls !== undefined) {
    const t = nats!.tls as Record<string, unknown> | null;
    const str = (v: unknown) => typeof v === "string" && v !== "";
    if (!t || typeof t !== "object" || !str(t.ca) || !str(t.cert) || !str(t.key))
      throw corruptRecord(file, cwd, "nats.tls needs ca, cert and key paths");
    out.tls = { ca: t.ca as string, cert: t.cert as string, key: t.key as string };
  }
  if (nats!.nkey !== undefined) {
    if (typeof nats!.nkey !== "string" || nats!.nkey === "") throw corruptRecord(file, cwd, "nats.nkey is not a path");
    out.nkey = nats!.nkey;
  }
  return out;
}

function corruptRecord(file: string, cwd: string, problem: string): NatsSettingsError {
  const shown = path.relative(cwd, file) || file;
  // gs wrote the file, not the user: a failure, not bad input
  return new NatsSettingsError(
    `local fleet record ${shown} is unusable: ${problem}`,
    "reset the local fleet with `gs down --purge`, then `gs up`",
    { code: "local_record_unusable", exit: EXIT.failed },
  );
}

/** `nats://alice:***@host:4222`: a URL safe to print. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/]+)@/i, (_m, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(":");
    return colon < 0 ? `${scheme}***@` : `${scheme}${userinfo.slice(0, colon)}:***@`;
  });
}

/** What to show of a connection (human output, --json, debug logs): never a secret. */
export function describeConnection(s: ResolvedConnection): {
  servers: string[];
  source: string;
  auth: "creds" | "nkey" | "user" | "token" | "none";
  tls: boolean;
} {
  const auth = s.creds ? "creds" : s.nkey ? "nkey" : s.user ? "user" : s.token ? "token" : "none";
  const tls = Boolean(s.tls) || s.servers.some((u) => u.startsWith("tls://"));
  return { servers: s.servers.map(redactUrl), source: s.source, auth, tls };
}
