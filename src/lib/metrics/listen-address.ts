// Where the exporter listens, as `--listen` takes it: HOST:PORT, [IPv6]:PORT, or :PORT for every
// interface (the Prometheus exporters' convention). Port 0 picks a free port.
import net from "node:net";
import { UsageError } from "../output/errors.js";

export interface ListenAddress {
  /** undefined: every interface */
  host: string | undefined;
  port: number;
}

export const DEFAULT_LISTEN = "127.0.0.1:9464";

const EXAMPLE = "use HOST:PORT, e.g. 127.0.0.1:9464 (or :9464 for every interface)";

export function parseListenAddress(text: string): ListenAddress {
  const input = text.trim();
  const m = /^(?:\[([^\]]+)\]|([A-Za-z0-9._-]*)):(\d+)$/.exec(input);
  if (!m) throw new UsageError(`bad listen address "${text}": ${EXAMPLE}`, undefined, "bad_listen_address");
  const host = m[1] ?? m[2] ?? "";
  if (m[1] !== undefined && net.isIPv6(host) === false)
    throw new UsageError(
      `bad listen address "${text}": "${host}" is not an IPv6 address`,
      undefined,
      "bad_listen_address",
    );
  const port = Number(m[3]);
  if (port > 65535)
    throw new UsageError(`bad listen address "${text}": port ${port} is above 65535`, undefined, "bad_listen_address");
  return { host: host === "" ? undefined : host, port };
}

/** Bound to every interface or to an address other machines can reach: the docs say what that exposes. */
export function isLoopback(host: string | undefined): boolean {
  if (host === undefined) return false;
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The URL of `path` on the bound address (a wildcard address becomes localhost, which reaches it). */
export function listenUrl(bound: net.AddressInfo, path = "/metrics"): string {
  const wildcard = bound.address === "::" || bound.address === "0.0.0.0";
  const host = wildcard ? "localhost" : bound.family === "IPv6" ? `[${bound.address}]` : bound.address;
  return `http://${host}:${bound.port}${path}`;
}
