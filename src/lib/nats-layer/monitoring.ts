// The NATS layer through each server's HTTP monitoring endpoint (/varz, /jsz): the fallback when the
// system account cannot be used. One endpoint per server, all asked at once; an endpoint that cannot
// be reached is reported as such, never as the whole layer failing. HTTPS endpoints may need the
// fleet's client certificate (the local fleet's `--secure` monitoring port asks for it).
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { isVarz, JSZ_QUERY, serverReport, type Jsz, type ServerReport } from "./server-report.js";

export interface MonitorEndpoint {
  /** e.g. http://127.0.0.1:8222 */
  url: string;
  /** the server's name, when known beforehand (the local fleet's nodes) */
  name?: string;
}

export interface MonitorTls {
  ca?: string;
  cert?: string;
  key?: string;
}

export interface MonitoringResult {
  reports: ServerReport[];
  /** endpoints that did not give a VARZ, and why (one line) */
  unreachable: { endpoint: MonitorEndpoint; reason: string }[];
}

export async function readViaMonitoring(
  endpoints: MonitorEndpoint[],
  opts: { timeoutMs: number; tls?: MonitorTls },
): Promise<MonitoringResult> {
  const tls = opts.tls ? loadTls(opts.tls) : undefined;
  const results = await Promise.all(
    endpoints.map(async (endpoint) => {
      const base = endpoint.url.replace(/\/+$/, "");
      const get = (p: string) => getJson(`${base}${p}`, opts.timeoutMs, tls);
      const [varz, jsz] = await Promise.allSettled([get("/varz"), get(`/jsz?${JSZ_QUERY}`)]);
      if (varz.status === "rejected") return { endpoint, reason: (varz.reason as Error).message };
      if (!isVarz(varz.value))
        return { endpoint, reason: "not a nats-server monitoring endpoint (no server_id in /varz)" };
      return serverReport(varz.value, jsz.status === "fulfilled" ? (jsz.value as Jsz) : undefined);
    }),
  );
  const reports: ServerReport[] = [];
  const unreachable: MonitoringResult["unreachable"] = [];
  for (const r of results) {
    if ("endpoint" in r) unreachable.push(r);
    else reports.push(r);
  }
  return { reports, unreachable };
}

interface LoadedTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

function loadTls(t: MonitorTls): LoadedTls {
  const read = (f?: string) => (f ? readFileSync(f) : undefined);
  return { ca: read(t.ca), cert: read(t.cert), key: read(t.key) };
}

/** GET a JSON document; rejects with one line: refused, timed out, an HTTP status, not JSON. */
function getJson(url: string, timeoutMs: number, tls?: LoadedTls): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const secure = u.protocol === "https:";
    if (!secure && u.protocol !== "http:") return reject(new Error(`not an http(s) URL: ${url}`));
    const req = (secure ? https : http).get(u, { timeout: timeoutMs, ...(secure && tls ? tls : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("error", (err) => reject(new Error(describe(err))));
      res.on("end", () => {
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode} from ${u.pathname}`));
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
        } catch {
          reject(new Error(`${u.pathname} did not return JSON`));
        }
      });
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs}ms`)));
    req.on("error", (err) => reject(new Error(describe(err))));
  });
}

function describe(err: Error & { code?: string }): string {
  if (err.code === "ECONNREFUSED") return "connection refused";
  if (err.code === "ENOTFOUND" || err.code === "EAI_AGAIN") return "host not found";
  if (err.code === "ECONNRESET") return "connection reset";
  return err.message.split("\n")[0]!;
}
