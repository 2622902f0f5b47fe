// Open the CLI's NATS connection: fail fast, within the timeout, with one line saying why.
import { accessSync, constants } from "node:fs";
import net from "node:net";
import { connect, errors, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node";
import { toConnectionOptions, type ConnectionSettings } from "@gs/fleet/sdk/connection";
import { EXIT, OperationError } from "../output/errors.js";
import { DEFAULT_TIMEOUT_MS, redactUrl } from "./options.js";

/** Why a connection failed: `message` is one line, `hint` the next step. Never holds a secret. */
export class NatsConnectError extends OperationError {
  override name = "NatsConnectError";
  constructor(
    message: string,
    hint: string,
    /** the short reason, e.g. "connection refused", "timed out after 5s" */
    readonly reason: string,
    opts: { cause?: unknown; code?: string; usage?: boolean } = {},
  ) {
    super(message, {
      hint,
      cause: opts.cause,
      code: opts.code ?? "nats_connect_failed",
      exit: opts.usage ? EXIT.usage : EXIT.failed,
    });
  }
}

type Settings = ConnectionSettings & { source?: string };

/** A connection of gs's that outlives outages (a live view, an exporter): it reconnects, 250 ms apart, for as long as it is open. */
export const KEEP_RECONNECTING = {
  reconnect: true,
  maxReconnectAttempts: -1,
  reconnectTimeWait: 250,
} satisfies Partial<ConnectionOptions>;

/**
 * Connect with settings from resolveConnection (or any ConnectionSettings). The whole attempt,
 * several servers included, is bounded by `settings.timeout` (default 5s). `keepReconnecting`: the
 * first connect is bounded and fails as usual, but once connected the connection reconnects through
 * outages for as long as it is open, to any of the servers (`gs status --watch`, `gs metrics` on an
 * ecs target).
 */
export async function connectNats(
  settings: Settings,
  opts: { name?: string; keepReconnecting?: boolean } = {},
): Promise<NatsConnection> {
  const s: Settings = { ...settings, name: opts.name ?? settings.name ?? "gs" };
  const timeout = s.timeout ?? DEFAULT_TIMEOUT_MS;
  // bad settings, found before anything is sent: exit 2
  const bad = (reason: string, hint: string, code: string, cause?: unknown) =>
    new NatsConnectError(
      scrub(`cannot connect to NATS at ${s.servers.map(redactUrl).join(", ")}: ${reason}`, s),
      hint,
      scrub(reason, s),
      { cause, code, usage: true },
    );

  if (s.servers.length === 0) throw bad("no server given", "pass --server or --context", "bad_server_address");
  // NATS.js would report a missing file as a bare ENOENT, without saying which file it was for
  for (const [what, file] of filesOf(s)) {
    try {
      accessSync(file, constants.R_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const problem = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : String(code);
      throw bad(
        `cannot read ${what} ${file} (${problem})`,
        // the file may come from a flag (--creds, --tls-*) that overrode the source, so both are named
        `check the path given by --creds / --tls-*${s.source && s.source !== "--server" ? ` or by ${s.source}` : ""}`,
        "nats_file_unreadable",
        err,
      );
    }
  }

  try {
    // a service process waits for NATS instead (the SDK's reconnect-forever mode)
    if (s.reconnectForever) return await connect(toConnectionOptions(s));
    if (opts.keepReconnecting)
      return await connectBounded({
        ...toConnectionOptions(s),
        ...KEEP_RECONNECTING,
        servers: s.servers,
        timeout,
        reconnectToAll: true,
      });
    return await connectBounded({ ...toConnectionOptions(s), servers: s.servers, timeout });
  } catch (err) {
    throw translate(err, s, timeout);
  }
}

function translate(err: unknown, s: Settings, timeout: number): NatsConnectError {
  const errors = err instanceof AllFailed ? err.errors : [err];
  const reasons = errors.map((e) => explain(e, timeout));
  // the most telling reason: one that names a credential, TLS or DNS problem beats refused/timeout
  const best = reasons.find((r) => r.rank === 0) ?? reasons[0]!;
  const reason =
    errors.length > 1 && new Set(reasons.map((r) => r.text)).size > 1
      ? s.servers.map((u, i) => `${redactUrl(u)}: ${reasons[i]!.text}`).join("; ")
      : best.text;
  return new NatsConnectError(
    scrub(`cannot connect to NATS at ${s.servers.map(redactUrl).join(", ")}: ${reason}`, s),
    hintFor(best.kind, s.source, timeout),
    scrub(best.text, s),
    { cause: errors[0], code: CODES[best.kind] },
  );
}

/** Why a connection failed, in words ("connection refused", "timed out after 3s"): the most telling reason of all servers tried. */
export function connectFailureText(err: unknown, timeout: number): string {
  const reasons = (err instanceof AllFailed ? err.errors : [err]).map((e) => explain(e, timeout));
  return (reasons.find((r) => r.rank === 0) ?? reasons[0]!).text;
}

/** The --json code of each kind of connection failure. */
const CODES: Record<Kind, string> = {
  refused: "nats_unreachable",
  unreachable: "nats_unreachable",
  dns: "nats_unreachable",
  timeout: "nats_timeout",
  auth: "nats_auth_failed",
  tls: "nats_tls_failed",
  other: "nats_connect_failed",
};

class AllFailed extends Error {
  constructor(readonly errors: unknown[]) {
    super("no server answered");
  }
}
class DeadlineError extends Error {}

/**
 * NATS.js (3.4) leaves its socket open when the connect timeout fires before the server's INFO
 * (a silent server, a dropped SYN), and that socket keeps the CLI process alive. So gs first
 * checks, on a socket of its own that it always destroys, which server sends INFO in time;
 * with several servers the first to answer wins, so one dead node of a cluster costs nothing.
 */
/**
 * NATS.js's connect, bounded: the first server to send its INFO line within `timeout`, then the
 * connection within what is left. A stalled server (stopped, or a black-holed address) would
 * otherwise keep NATS.js's socket open after its timeout, and the process from ever exiting.
 */
export async function connectBounded(
  options: ConnectionOptions & {
    servers: string[];
    timeout: number;
    /** a connection that reconnects may go to any of `servers` later (the one that answered first, first) */
    reconnectToAll?: boolean;
  },
): Promise<NatsConnection> {
  const { reconnectToAll, ...o } = options;
  const started = Date.now();
  const url = await firstToAnswer(o.servers, o.timeout);
  const left = Math.max(o.timeout - (Date.now() - started), 100);
  const servers = reconnectToAll ? [url, ...o.servers.filter((u) => u !== url)] : [url];
  return withDeadline(
    connect({ ...o, servers, timeout: left, ...(reconnectToAll ? { noRandomize: true } : {}) }),
    left,
  );
}

function firstToAnswer(servers: string[], timeout: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const errors: unknown[] = new Array(servers.length);
    let failures = 0;
    let settled = false;
    const probes = servers.map((url, i) => {
      const p = probe(url, timeout);
      p.answered.then(
        () => {
          if (settled) return;
          settled = true;
          // the losers' sockets would otherwise stay open until their timeout
          for (const other of probes) other.cancel();
          resolve(url);
        },
        (err) => {
          errors[i] = err;
          if (++failures === servers.length && !settled) {
            settled = true;
            reject(servers.length === 1 ? err : new AllFailed(errors));
          }
        },
      );
      return p;
    });
  });
}

/** `answered` resolves once the server at `url` has sent its INFO line. */
function probe(url: string, timeout: number): { answered: Promise<void>; cancel(): void } {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(u.port || 4222);
  let cancel = () => {};
  const answered = new Promise<void>((resolve, reject) => {
    const socket = net.connect({ host, port });
    let received = "";
    const finish = (err?: unknown) => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on("error", () => {});
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    cancel = () => finish(new Error("cancelled"));
    const timer = setTimeout(() => finish(new DeadlineError("timeout")), timeout);
    socket.on("error", (err) => finish(err));
    socket.on("close", () =>
      finish(new Error(received.startsWith("-ERR") ? serverError(received) : "the server closed the connection")),
    );
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      if (received.startsWith("INFO ")) finish();
      else if (received.startsWith("-ERR") && received.includes("\n")) finish(new Error(serverError(received)));
      else if (received.length >= 5 && !received.startsWith("-ERR"))
        finish(new Error("not a NATS server (it did not send INFO)"));
    });
  });
  return { answered, cancel: () => cancel() };
}

function serverError(line: string): string {
  return line
    .split("\n")[0]!
    .replace(/^-ERR\s*/, "")
    .replace(/^'(.*)'\s*$/, "$1")
    .trim();
}

/** Backs up NATS.js's own timeout, so a handshake that stalls after INFO cannot hang gs. */
function withDeadline(attempt: Promise<NatsConnection>, timeout: number): Promise<NatsConnection> {
  return new Promise((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(new DeadlineError("timeout"));
    }, timeout + 250);
    attempt.then(
      (nc) => {
        clearTimeout(timer);
        if (late) void nc.close().catch(() => {});
        else resolve(nc);
      },
      (err) => {
        clearTimeout(timer);
        if (!late) reject(err);
      },
    );
  });
}

type Kind = "refused" | "timeout" | "auth" | "tls" | "dns" | "unreachable" | "other";

function explain(err: unknown, timeout: number): { kind: Kind; text: string; rank: number } {
  const e = err as { name?: string; message?: string; code?: string; cause?: { code?: string; message?: string } };
  const code = e?.code ?? e?.cause?.code;
  const message = String(e?.message ?? err);
  // NATS.js's own errors by class; the server's -ERR line (read by probe) by its protocol text
  if (err instanceof errors.AuthorizationError || /authorization violation/i.test(message)) {
    return { kind: "auth", text: "authorization failed (check the credentials)", rank: 0 };
  }
  if (err instanceof errors.UserAuthenticationExpiredError || /user authentication expired/i.test(message)) {
    return { kind: "auth", text: "the credentials have expired", rank: 0 };
  }
  if (err instanceof errors.TimeoutError || err instanceof DeadlineError || code === "ETIMEDOUT") {
    return { kind: "timeout", text: `timed out after ${formatMs(timeout)}`, rank: 2 };
  }
  if (code === "ECONNREFUSED") return { kind: "refused", text: "connection refused", rank: 1 };
  if (code === "ECONNRESET" || code === "EPIPE")
    return { kind: "refused", text: "connection reset by the server", rank: 1 };
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
    const host = /(?:ENOTFOUND|EAI_AGAIN) (\S+)/.exec(message)?.[1];
    return { kind: "dns", text: host ? `unknown host ${host}` : "unknown host", rank: 0 };
  }
  if (code === "EHOSTUNREACH" || code === "ENETUNREACH")
    return { kind: "unreachable", text: "host unreachable", rank: 1 };
  if (/does not support 'tls'/i.test(message))
    return { kind: "tls", text: "TLS was asked for but the server does not offer it", rank: 0 };
  if (/requires 'tls'|requires tls/i.test(message)) return { kind: "tls", text: "the server requires TLS", rank: 0 };
  if (/tls|ssl|certificate|self[- ]signed|CERT_|ERR_TLS|ERR_SSL/i.test(`${code ?? ""} ${message}`)) {
    return { kind: "tls", text: `TLS failed: ${firstLine(message)}`, rank: 0 };
  }
  return { kind: "other", text: firstLine(message), rank: 1 };
}

function hintFor(kind: Kind, source: string | undefined, timeout: number): string {
  const from = source ? ` (the address came from ${source})` : "";
  const localish = source === undefined || source === "default" || source.startsWith("local fleet");
  switch (kind) {
    case "refused":
    case "unreachable":
      return localish
        ? "start the local fleet with `gs up`, or pass --server / --context"
        : `check that NATS runs at that address${from}, or pass --server / --context`;
    case "timeout":
      return `nothing answered within ${formatMs(timeout)}${from}: check the address and the network (VPN, security groups), or raise --timeout`;
    case "auth":
      return `check the credentials${from}: --creds, --user/--password, or the natscli context's`;
    case "tls":
      return "check --tls-ca / --tls-cert / --tls-key, and use tls:// only for a server that offers TLS";
    case "dns":
      return `check the host name${from}`;
    default:
      return `check the address${from}, or pass --server / --context`;
  }
}

function filesOf(s: Settings): Array<[string, string]> {
  const files: Array<[string, string]> = [];
  if (s.creds) files.push(["credentials file", s.creds]);
  else if (s.nkey) files.push(["nkey file", s.nkey]);
  if (s.tls?.ca) files.push(["TLS CA file", s.tls.ca]);
  if (s.tls?.cert) files.push(["TLS certificate", s.tls.cert]);
  if (s.tls?.key) files.push(["TLS key", s.tls.key]);
  return files;
}

/** Belt and braces: no password or token reaches a message, whatever a library put in it. */
function scrub(text: string, s: Settings): string {
  let out = text;
  for (const secret of [s.password, s.token]) {
    if (secret && secret.length >= 3) out = out.split(secret).join("***");
  }
  return out;
}

function firstLine(message: string): string {
  return message.split("\n")[0]!.trim();
}

function formatMs(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${(ms / 1000).toFixed(1)}s`;
}
