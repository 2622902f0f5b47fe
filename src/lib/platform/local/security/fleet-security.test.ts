// `gs up --secure` with real processes: a local CA, mutual TLS on nats-server, one NATS identity per
// service with least-privilege permissions, and gs commands that connect over TLS as the operator.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { toConnectionOptions, type ConnectionSettings } from "../../../../../services/sdk/connection.js";
import { inboxPrefixOf } from "../../../../../services/sdk/permissions.js";
import { ensureLocalPki } from "./pki.js";
import type { StatusJson } from "../../../../commands/status.js";
import type { TraceJson } from "../../../../commands/trace.js";
import type { UpJson } from "../../../../commands/up.js";
import { createProject, type TestProject } from "../../../../../test/support/local-fleet.js";
import { runCli } from "../../../../../test/support/run-cli.js";

interface SecureRecord {
  nats: {
    url: string;
    tls: { ca: string; cert: string; key: string };
    nkey: string;
    system: { nkey: string };
    monitoring: string[];
  };
}

describe("a secure local fleet (gs up --secure)", () => {
  let project: TestProject;
  let rec: SecureRecord;
  let secureDir: string;
  const opened: NatsConnection[] = [];

  const servers = () => rec.nats.url.split(",");
  const as = async (s: Partial<ConnectionSettings>): Promise<NatsConnection> => {
    const nc = await connect({ ...toConnectionOptions({ servers: servers(), timeout: 3000, ...s }), reconnect: false });
    opened.push(nc);
    return nc;
  };
  const service = (name: string): Partial<ConnectionSettings> => ({
    tls: rec.nats.tls,
    nkey: path.join(secureDir, "nkeys", `${name}.nk`),
    inboxPrefix: inboxPrefixOf(name),
  });

  beforeAll(async () => {
    project = createProject(["payment", "settings", "orchestration"], { desired: 1 });
    const up = await runCli(["up", "--detach", "--secure", "--json", "--timeout", "90s"], { cwd: project.dir });
    expect(up.code, up.stderr).toBe(0);
    expect((JSON.parse(up.stdout) as UpJson).secure).toBe(true);
    rec = project.record() as unknown as SecureRecord;
    secureDir = path.join(project.dir, ".gs", "secure");
  }, 120_000);

  afterAll(async () => {
    await Promise.all(opened.map((nc) => nc.close().catch(() => undefined)));
    if (!project) return;
    await runCli(["down", "--purge"], { cwd: project.dir });
    project.remove();
  });

  it("keeps the CA, certificates and nkey seeds under .gs/secure, readable by the owner only", () => {
    const files = [
      ...readdirSync(secureDir).map((f) => path.join(secureDir, f)),
      ...readdirSync(path.join(secureDir, "nkeys")).map((f) => path.join(secureDir, "nkeys", f)),
    ];
    const plain = files.filter((f) => statSync(f).isFile());
    expect(plain.map((f) => path.basename(f)).sort()).toEqual([
      "ca.key",
      "ca.pem",
      "client.key",
      "client.pem",
      "gs-operator.nk",
      "gs-system.nk",
      "orchestration.nk",
      "payment.nk",
      "server.key",
      "server.pem",
      "settings.nk",
    ]);
    for (const f of plain) expect((statSync(f).mode & 0o777).toString(8), f).toBe("600");
    expect((statSync(secureDir).mode & 0o777).toString(8)).toBe("700");
    // the record holds paths, never a seed or key
    const text = readFileSync(path.join(project.dir, ".gs", "local.json"), "utf8");
    expect(text).not.toMatch(/SU[A-Z2-7]{50,}|PRIVATE KEY/);
  });

  it("lets gs commands connect over TLS as the operator without any flag", async () => {
    const st = await runCli(["status", "--check"], { cwd: project.dir });
    expect(st.code, st.stderr).toBe(0);
    const r = await runCli(
      [
        "request",
        "payment.deposit",
        '{"playerId":"p1","amount":{"currency":"GOLD","minorUnits":"5"},"idempotencyKey":"k1"}',
        "--json",
      ],
      { cwd: project.dir },
    );
    expect(r.code, r.stderr).toBe(0);
  }, 30_000);

  it("reads the NATS layer as a system-account user of its own, which no service and not the operator is", async () => {
    const r = await runCli(["status", "--json"], { cwd: project.dir });
    expect(r.code, r.stderr).toBe(0);
    const nats = (JSON.parse(r.stdout) as StatusJson).nats;
    expect(nats).toMatchObject({ source: "system-account", notes: [], problems: [] });
    expect(nats.streams.map((s) => s.name)).toContain("KV_gs_payment");
    expect(rec.nats.system.nkey).toBe(path.join(secureDir, "nkeys", "gs-system.nk"));
    // the monitoring endpoint speaks TLS too
    expect(rec.nats.monitoring).toEqual([expect.stringMatching(/^https:\/\/127\.0\.0\.1:\d+$/)]);
    const system = await as({ tls: rec.nats.tls, nkey: rec.nats.system.nkey });
    const varz = await system.request("$SYS.REQ.SERVER.PING.VARZ", "", { timeout: 2000 });
    expect(varz.json<{ data: { system_account: string } }>().data.system_account).toBe("SYS");
    // a service may not publish there at all; the operator is in the fleet's account, where nobody answers
    const settings = await as(service("settings"));
    await expect(settings.request("$SYS.REQ.SERVER.PING.VARZ", "", { timeout: 2000 })).rejects.toThrow(
      /Permissions Violation for Publish/,
    );
    const operator = await as({ tls: rec.nats.tls, nkey: rec.nats.nkey });
    await expect(operator.request("$SYS.REQ.SERVER.PING.VARZ", "", { timeout: 2000 })).rejects.toThrow(
      /no responders/i,
    );
  }, 30_000);

  it("lets services report the spans of a sampled request (gs trace) under their permissions", async () => {
    const r = await runCli(["trace", "payment.get-balance", '{"playerId":"p1"}', "--json"], { cwd: project.dir });
    expect(r.code, r.stderr).toBe(0);
    const t = JSON.parse(r.stdout) as TraceJson;
    expect(t.root.children).toMatchObject([{ kind: "server", service: "payment", status: "ok" }]);
  }, 30_000);

  it("refuses a plaintext connection", async () => {
    const [host, port] = new URL(servers()[0]!).host.split(":");
    const answer = await new Promise<string>((resolve) => {
      const s = net.connect({ host: host!, port: Number(port) });
      let got = "";
      s.on("data", (d) => {
        got += d.toString();
        if (got.startsWith("INFO ") && got.includes("\n") && !got.includes("CONNECT-SENT")) {
          got += "CONNECT-SENT\n";
          s.write('CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n');
        }
      });
      s.on("close", () => resolve(got));
      s.on("error", () => resolve(got));
      setTimeout(() => s.destroy(), 5000);
    });
    const info = JSON.parse(answer.split("\n")[0]!.slice(5)) as { tls_required?: boolean };
    expect(info.tls_required).toBe(true);
    expect(answer).not.toMatch(/PONG/);
    // NATS.js without the CA cannot verify the server either
    await expect(as({ nkey: rec.nats.nkey })).rejects.toThrow();
  });

  it("refuses a client certificate from another CA, and the client refuses a server from another CA", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "gs-other-ca-"));
    try {
      const other = await ensureLocalPki(dir, { commonName: "someone else's CA" });
      await expect(
        as({ tls: { ca: rec.nats.tls.ca, cert: other.client.cert, key: other.client.key }, nkey: rec.nats.nkey }),
      ).rejects.toThrow();
      await expect(
        as({ tls: { ca: other.ca, cert: rec.nats.tls.cert, key: rec.nats.tls.key }, nkey: rec.nats.nkey }),
      ).rejects.toThrow();
      // and without any client certificate at all
      const [host, port] = new URL(servers()[0]!).host.split(":");
      const handshake = await new Promise<string>((resolve) => {
        const raw = net.connect({ host: host!, port: Number(port) }, () => undefined);
        raw.once("data", () => {
          const t = tls.connect({ socket: raw, ca: readFileSync(rec.nats.tls.ca), servername: "localhost" });
          let got = "";
          t.on("secureConnect", () => t.write('CONNECT {"verbose":false}\r\nPING\r\n'));
          t.on("data", (d) => (got += d.toString()));
          t.on("error", (e) => resolve(`error: ${e.message}`));
          t.on("close", () => resolve(got || "closed"));
        });
      });
      expect(handshake).not.toMatch(/PONG/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a client with the right certificate but no credentials: it cannot request payment.*", async () => {
    await expect(as({ tls: rec.nats.tls })).rejects.toThrow(/authorization/i);
    const r = await runCli(
      [
        "request",
        "payment.get-balance",
        '{"playerId":"p1"}',
        "-s",
        rec.nats.url,
        "--tls-ca",
        rec.nats.tls.ca,
        "--tls-cert",
        rec.nats.tls.cert,
        "--tls-key",
        rec.nats.tls.key,
      ],
      { cwd: os.tmpdir() },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/authorization failed/);
  }, 30_000);

  it("does not let a service subscribe to another service's subject, or to everyone's replies", async () => {
    const nc = await as(service("settings"));
    for (const subject of ["payment.purchase", "payment.>", "_INBOX.>", ">", "events.>"]) {
      const sub = nc.subscribe(subject);
      const closed = await Promise.race([sub.closed, new Promise((r) => setTimeout(() => r("still open"), 2000))]);
      expect(String(closed), subject).toMatch(/Permissions Violation for Subscription/);
    }
    // its own subjects are fine
    const own = nc.subscribe("settings.get-schema", { queue: "gs" });
    await nc.flush();
    expect(own.isClosed()).toBe(false);
    own.unsubscribe();
  });

  it("lets a service request only the services it calls", async () => {
    const settings = await as(service("settings"));
    await expect(settings.request("payment.purchase", new Uint8Array(), { timeout: 2000 })).rejects.toThrow(
      /Permissions Violation for Publish/,
    );
    // orchestration calls payment (services/sdk/permissions.ts FLEET_ACCESS): it gets an answer
    const orchestration = await as(service("orchestration"));
    const reply = await orchestration.request("payment.get-balance", new Uint8Array(), { timeout: 3000 });
    expect(reply.headers?.get("Nats-Service-Error-Code")).toBe("400"); // an empty request, answered by payment
    // but it may not publish events as payment, nor delete payment's state
    await expect(
      orchestration.request("$JS.API.STREAM.DELETE.KV_gs_payment", new Uint8Array(), { timeout: 2000 }),
    ).rejects.toThrow(/Permissions Violation/);
    await expect(
      orchestration.request("events.payment.purchased", new Uint8Array(), { timeout: 2000 }),
    ).rejects.toThrow(/Permissions Violation/);
  });

  it("writes no nkey seed or private key to any log, record or command output", async () => {
    const nkeys = path.join(secureDir, "nkeys");
    const seeds = readdirSync(nkeys).map((f) => readFileSync(path.join(nkeys, f), "utf8").trim());
    const keys = ["ca.key", "server.key", "client.key"].map(
      (f) => readFileSync(path.join(secureDir, f), "utf8").split("\n")[1]!,
    );
    const secrets = [...seeds, ...keys];
    expect(secrets.every((x) => x.length > 20)).toBe(true);
    const home = path.join(project.dir, ".gs");
    const files = [
      path.join(home, "local.json"),
      path.join(home, "supervisor.json"),
      path.join(home, "supervisor.log"),
    ];
    const walk = (d: string): string[] =>
      readdirSync(d, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)],
      );
    files.push(...walk(path.join(home, "logs")), ...walk(path.join(home, "nats")).filter((f) => f.endsWith(".conf")));
    const outputs = await Promise.all([
      runCli(["status", "--json"], { cwd: project.dir }),
      runCli(["logs", "payment"], { cwd: project.dir }),
      runCli(["up", "--detach", "--secure"], { cwd: project.dir }),
      runCli(["services", "--json"], { cwd: project.dir }),
      runCli(["request", "payment.get-balance", '{"playerId":"p1"}'], { cwd: project.dir, env: { DEBUG: "gs*" } }),
    ]);
    const texts = [
      ...files.map((f) => [f, readFileSync(f, "utf8")] as const),
      ...outputs.map((o, i) => [`output ${i}`, o.stdout + o.stderr] as const),
    ];
    const leaks = texts.flatMap(([where, text]) =>
      secrets.filter((x) => text.includes(x)).map((x) => `${where}: ${x.slice(0, 4)}…`),
    );
    expect(leaks).toEqual([]);
    // the logs are not empty: the check looked at something
    expect(texts.filter(([w]) => w.endsWith(".log")).length).toBeGreaterThan(3);
  }, 60_000);
});
