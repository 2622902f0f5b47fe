// The exporter's HTTP endpoint: /metrics in the Prometheus text format, /healthz, and a short page at /
// that points at both. Binding errors become one line with the documented exit code: an address that
// cannot be this machine's is bad input (exit 2); a port in use or not allowed is an environment
// problem that trying again (or another port) can fix (exit 1).
import http from "node:http";
import type net from "node:net";
import type { Registry } from "prom-client";
import { OperationError, UsageError, type GsError } from "../output/errors.js";
import { listenUrl, type ListenAddress } from "./listen-address.js";

export interface MetricsServer {
  /** the /metrics URL on the address actually bound (port 0 becomes the port picked) */
  url: string;
  address: net.AddressInfo;
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  registry: Registry;
  /** shown on the / page, e.g. "target local" */
  title: string;
}

export async function startMetricsServer(listen: ListenAddress, o: MetricsServerOptions): Promise<MetricsServer> {
  const server = http.createServer((req, res) => void handle(req, res, o));
  // a scraper that keeps its connection open must not hold up a stop
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(listenError(err, listen));
    server.once("error", onError);
    server.listen({ port: listen.port, host: listen.host }, () => {
      server.off("error", onError);
      resolve();
    });
  });
  const address = server.address() as net.AddressInfo;
  return {
    url: listenUrl(address),
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse, o: MetricsServerOptions): Promise<void> {
  const path = (req.url ?? "/").split("?")[0];
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" }).end("method not allowed\n");
    return;
  }
  try {
    if (path === "/metrics") {
      const body = await o.registry.metrics();
      res.writeHead(200, { "content-type": o.registry.contentType }).end(req.method === "HEAD" ? undefined : body);
    } else if (path === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8" }).end("ok\n");
    } else if (path === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(indexPage(o.title));
    } else {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found: try /metrics\n");
    }
  } catch (err) {
    res.writeHead(500, { "content-type": "text/plain; charset=utf-8" }).end(`${(err as Error).message}\n`);
  }
}

function indexPage(title: string): string {
  const t = title.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>gs metrics: ${t}</title></head>
<body><h1>gs metrics</h1><p>Prometheus exporter for ${t}.</p>
<ul><li><a href="/metrics">/metrics</a>: the metrics, Prometheus text format</li>
<li><a href="/healthz">/healthz</a>: ok while the exporter runs</li></ul>
<p>Scrape config and alert rules: docs/metrics.md in the gs repository.</p></body></html>
`;
}

function listenError(err: NodeJS.ErrnoException, listen: ListenAddress): GsError {
  const where = `${listen.host === undefined ? "every interface" : listen.host.includes(":") ? `[${listen.host}]` : listen.host}, port ${listen.port}`;
  switch (err.code) {
    case "EADDRINUSE":
      return new OperationError(`cannot listen on ${where}: the port is in use`, {
        hint: "stop what listens there, or pick another port with --listen HOST:PORT",
        code: "address_in_use",
        cause: err,
      });
    case "EACCES":
      return new OperationError(`cannot listen on ${where}: permission denied`, {
        hint: "ports below 1024 need privileges: pick a port from 1024 up with --listen HOST:PORT",
        code: "listen_denied",
        cause: err,
      });
    case "EADDRNOTAVAIL":
      return new UsageError(
        `cannot listen on ${where}: ${listen.host} is not an address of this machine`,
        "use 127.0.0.1:PORT, or :PORT for every interface",
        "bad_listen_address",
        err,
      );
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_FAIL":
      return new UsageError(
        `cannot listen on ${where}: the host name does not resolve`,
        "use an IP address, e.g. 127.0.0.1:9464",
        "bad_listen_address",
        err,
      );
    default:
      return new OperationError(`cannot listen on ${where}: ${err.message}`, { code: "listen_failed", cause: err });
  }
}
