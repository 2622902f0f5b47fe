// HTTP -> NATS for clients not yet on NATS: `POST /v1/<subject>` with a JSON body is encoded with
// the rpc's request type, sent as a NATS request, and the reply comes back as JSON.
//   200 reply | 400 bad JSON / schema / the service's 400 | 4xx the service's own (401, 404, 409, 412...)
//   404 unknown subject (with suggestions) | 405 wrong method | 413 body too large | 415 not JSON
//   503 no responders (or the service says 503) | 504 timeout | 500 other 5xx replies
// Errors are `{"error":{"code":<status>,"message":"..."}}`. `GET /healthz` reports the NATS connection.
import http from "node:http";
import { randomUUID } from "node:crypto";
import { headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import { DEADLINE_HEADER, ERROR_CODE_HEADER, ERROR_HEADER, translateRequestError } from "../sdk/client.js";
import { ServiceError } from "../sdk/errors.js";
import { decodeToJson, encodeJson, SchemaError } from "../sdk/json-codec.js";
import { createLogger, type Logger } from "../sdk/log.js";
import type { ProtoRegistry } from "../sdk/registry.js";
import { parseTraceparent, TRACEPARENT_HEADER } from "../sdk/trace.js";

export interface GatewayOptions {
  nc: NatsConnection;
  registry: ProtoRegistry;
  /** largest request body accepted, bytes (default 64 KiB) */
  maxBodyBytes?: number;
  /** NATS request timeout, ms (default 5000) */
  timeoutMs?: number;
  log?: Logger;
  /** called once per answered request: its status and how long it took (ns); the fleet member counts them as micro stats */
  onResponse?: (status: number, ns: number, message: string | undefined) => void;
}

export const REQUEST_ID_HEADER = "X-Request-Id";

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** A service's error reply code as the HTTP status the gateway answers. */
export function statusForReplyCode(code: number): number {
  if (code >= 400 && code < 500) return code;
  if (code === 503 || code === 504) return code;
  return 500;
}

function readBody(req: http.IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        // stop reading: the response closes the connection
        req.off("data", onData);
        req.pause();
        reject(new HttpError(413, `request body is larger than ${max} bytes`, {}, { Connection: "close" }));
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function isJsonContentType(ct: string | undefined): boolean {
  if (!ct) return false;
  const type = ct.split(";")[0]!.trim().toLowerCase();
  return type === "application/json" || (type.startsWith("application/") && type.endsWith("+json"));
}

export function createGateway(opts: GatewayOptions): http.Server {
  const { nc, registry } = opts;
  const maxBody = opts.maxBodyBytes ?? 64 * 1024;
  const timeout = opts.timeoutMs ?? 5000;
  const log = opts.log ?? createLogger({ service: "gateway" });

  let disconnected = false;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect") disconnected = true;
      else if (s.type === "reconnect") disconnected = false;
    }
  })().catch(() => undefined);
  const natsUp = () => !nc.isClosed() && !disconnected;

  const send = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const data = JSON.stringify(body);
    res.writeHead(status, {
      "Content-Type": "application/json; charset=utf-8",
      "Content-Length": Buffer.byteLength(data),
      ...headers,
    });
    res.end(data);
  };

  async function route(req: http.IncomingMessage, requestId: string): Promise<unknown> {
    const url = new URL(req.url ?? "/", "http://gateway");
    if (url.pathname === "/healthz") {
      if (req.method !== "GET")
        throw new HttpError(405, `${req.method} is not allowed on /healthz`, {}, { Allow: "GET" });
      if (!natsUp())
        throw new HttpError(503, "NATS is not connected", { nats: nc.isClosed() ? "closed" : "disconnected" });
      return { status: "ok", nats: "connected" };
    }
    if (!url.pathname.startsWith("/v1/"))
      throw new HttpError(404, `no route ${url.pathname}: use POST /v1/<subject> or GET /healthz`);
    let subject: string;
    try {
      subject = decodeURIComponent(url.pathname.slice("/v1/".length));
    } catch {
      throw new HttpError(400, "malformed path");
    }
    const rpc = registry.rpc(subject);
    if (!rpc) throw new HttpError(404, `unknown subject ${subject}`, { suggestions: registry.suggest(subject) });
    if (req.method !== "POST")
      throw new HttpError(405, `${req.method} is not allowed: use POST`, {}, { Allow: "POST" });

    const declared = Number(req.headers["content-length"] ?? NaN);
    if (declared > maxBody)
      throw new HttpError(413, `request body is larger than ${maxBody} bytes`, {}, { Connection: "close" });
    const hasBody = declared > 0 || req.headers["transfer-encoding"] !== undefined;
    if ((hasBody || req.headers["content-type"]) && !isJsonContentType(req.headers["content-type"])) {
      throw new HttpError(415, `content type must be application/json, got ${req.headers["content-type"] ?? "none"}`);
    }
    const raw = await readBody(req, maxBody);
    let json: unknown = {};
    if (raw.length) {
      try {
        json = JSON.parse(raw.toString("utf8"));
      } catch (err) {
        throw new HttpError(400, `invalid JSON: ${(err as Error).message}`);
      }
    }
    let payload: Uint8Array;
    try {
      payload = encodeJson(rpc.request, json);
    } catch (err) {
      if (err instanceof SchemaError) throw new HttpError(400, `invalid ${rpc.request.name}: ${err.message}`);
      throw err;
    }

    const h = natsHeaders();
    h.set(DEADLINE_HEADER, String(Date.now() + timeout));
    h.set(REQUEST_ID_HEADER, requestId);
    // an HTTP client's W3C trace goes on into the fleet (only a valid one: the services would start afresh anyway)
    const traceparent = req.headers[TRACEPARENT_HEADER];
    if (typeof traceparent === "string" && parseTraceparent(traceparent)) h.set(TRACEPARENT_HEADER, traceparent);
    let reply;
    try {
      reply = await nc.request(subject, payload, { timeout, headers: h });
    } catch (err) {
      const e = translateRequestError(err, subject);
      if (e instanceof ServiceError) throw new HttpError(e.code, e.message);
      throw new HttpError(503, `cannot reach ${subject}: ${e.message}`);
    }
    const code = reply.headers?.get(ERROR_CODE_HEADER);
    if (code) {
      const n = Number(code) || 500;
      throw new HttpError(
        statusForReplyCode(n),
        reply.headers?.get(ERROR_HEADER) || "error",
        n !== statusForReplyCode(n) ? { serviceCode: n } : {},
      );
    }
    return decodeToJson(rpc.response, reply.data);
  }

  return http.createServer((req, res) => {
    const started = performance.now();
    const given = req.headers[REQUEST_ID_HEADER.toLowerCase()];
    const requestId = typeof given === "string" && given.length <= 128 ? given : randomUUID();
    const done = (status: number, message?: string) => {
      const ms = performance.now() - started;
      opts.onResponse?.(status, Math.round(ms * 1e6), message);
      // debug: at thousands of requests a second a line each would cost more than the requests (counts are in $SRV.STATS)
      log.debug("request", { method: req.method, path: req.url, status, ms: Math.round(ms), requestId });
    };
    route(req, requestId).then(
      (body) => {
        send(res, 200, body, { [REQUEST_ID_HEADER]: requestId });
        done(200);
      },
      (err: unknown) => {
        if (err instanceof HttpError) {
          send(
            res,
            err.status,
            { error: { code: err.status, message: err.message, ...err.extra } },
            { ...err.headers, [REQUEST_ID_HEADER]: requestId },
          );
          done(err.status, `${err.status} ${err.message}`);
          return;
        }
        log.error("gateway failed", { err, requestId });
        send(res, 500, { error: { code: 500, message: "internal error" } }, { [REQUEST_ID_HEADER]: requestId });
        done(500, "500 internal error");
      },
    );
  });
}
