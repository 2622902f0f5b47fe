// The exporter's HTTP endpoint on a real port: what each path answers, and binding errors as one
// line with their exit code (a port in use: 1; an address that is not this machine's: 2).
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Gauge, Registry } from "prom-client";
import { EXIT, GsError } from "../output/errors.js";
import { startMetricsServer, type MetricsServer } from "./metrics-server.js";

function registry(): Registry {
  const r = new Registry();
  new Gauge({ name: "gs_test_value", help: "A value.", registers: [r] }).set(7);
  return r;
}

async function bindError(host: string | undefined, port: number): Promise<GsError> {
  try {
    const s = await startMetricsServer({ host, port }, { registry: registry(), title: "target t" });
    await s.close();
  } catch (err) {
    return err as GsError;
  }
  throw new Error("it listened");
}

describe("the metrics server", () => {
  let server: MetricsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("serves /metrics in the Prometheus text format, /healthz, a pointer page at /, and 404 elsewhere", async () => {
    server = await startMetricsServer({ host: "127.0.0.1", port: 0 }, { registry: registry(), title: "target <x>" });
    expect(server.url).toBe(`http://127.0.0.1:${server.address.port}/metrics`);
    const metrics = await fetch(server.url);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(await metrics.text()).toContain("\ngs_test_value 7");
    const base = server.url.replace(/\/metrics$/, "");
    const health = await fetch(`${base}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, "ok\n"]);
    const index = await fetch(`${base}/`);
    const html = await index.text();
    expect(index.headers.get("content-type")).toMatch(/^text\/html/);
    expect(html).toContain('<a href="/metrics">');
    // the title is escaped
    expect(html).toContain("target &#60;x&#62;");
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(server.url, { method: "POST" })).status).toBe(405);
  });

  it("fails with exit 1 and a hint when the port is in use", async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const err = await bindError("127.0.0.1", port);
      expect(err).toBeInstanceOf(GsError);
      expect(err.exitCode).toBe(EXIT.failed);
      expect(err.code).toBe("address_in_use");
      expect(err.message).toBe(`cannot listen on 127.0.0.1, port ${port}: the port is in use`);
      expect(err.hint).toMatch(/another port with --listen/);
    } finally {
      taken.close();
    }
  });

  it("fails with exit 2 for an address that is not this machine's", async () => {
    // TEST-NET-1 (RFC 5737): never assigned to a host, so binding it fails here; nothing is sent
    const err = await bindError("192.0.2.1", 9464);
    expect(err.exitCode).toBe(EXIT.usage);
    expect(err.code).toBe("bad_listen_address");
    expect(err.message).toBe("cannot listen on 192.0.2.1, port 9464: 192.0.2.1 is not an address of this machine");
  });

  it("closes even while a scraper holds its connection open", async () => {
    server = await startMetricsServer({ host: "127.0.0.1", port: 0 }, { registry: registry(), title: "t" });
    const held = net.connect(server.address.port, "127.0.0.1");
    await new Promise((r) => held.once("connect", r));
    const t0 = Date.now();
    await server.close();
    server = undefined;
    expect(Date.now() - t0).toBeLessThan(1000);
    held.destroy();
  });
});
