import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectNats, NatsConnectError } from "./connect.js";
import { resolveConnection } from "./options.js";
import { freePort } from "../../../test/support/free-port.js";
import { startNatsServer, type TestNatsServer } from "../../../test/support/nats-server.js";

/** A TCP server on loopback that accepts connections and never says a word. */
async function silentServer(): Promise<{ port: number; open(): number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    open: () => sockets.size,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => srv.close(r));
    },
  };
}

async function failure(p: Promise<unknown>): Promise<{ err: NatsConnectError; ms: number }> {
  const started = Date.now();
  try {
    const nc = await p;
    await (nc as { close(): Promise<void> }).close();
  } catch (err) {
    expect(err).toBeInstanceOf(NatsConnectError);
    return { err: err as NatsConnectError, ms: Date.now() - started };
  }
  throw new Error("expected the connection to fail");
}

describe("connectNats against a real nats-server", () => {
  let server: TestNatsServer;
  let authServer: TestNatsServer;
  let dir: string;

  beforeAll(async () => {
    [server, authServer] = await Promise.all([
      startNatsServer(),
      startNatsServer({ args: ["--user", "alice", "--pass", "s3cret-pw"] }),
    ]);
    dir = mkdtempSync(path.join(tmpdir(), "gs-nats-connect-"));
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), authServer?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("connects with --server and round-trips a request", async () => {
    const settings = resolveConnection({ server: `127.0.0.1:${server.port}` }, { cwd: dir, env: {}, configHome: dir });
    const nc = await connectNats(settings, { name: "gs-test" });
    try {
      const sub = nc.subscribe("echo", {
        callback: (_e, m) => {
          m.respond(m.data);
        },
      });
      const reply = await nc.request("echo", "ping", { timeout: 1000 });
      expect(reply.string()).toBe("ping");
      sub.unsubscribe();
    } finally {
      await nc.close();
    }
  });

  it("finds the local fleet through .gs/local.json", async () => {
    const project = path.join(dir, "project");
    mkdirSync(path.join(project, ".gs"), { recursive: true });
    writeFileSync(path.join(project, ".gs", "local.json"), JSON.stringify({ nats: { url: server.url } }));
    const settings = resolveConnection({}, { cwd: project, env: {}, configHome: dir });
    expect(settings.source).toBe("local fleet (.gs/local.json)");
    const nc = await connectNats(settings);
    await nc.flush();
    await nc.close();
  });

  it("connects through the live server when another in the list is down", async () => {
    const dead = await freePort();
    const nc = await connectNats({ servers: [`nats://127.0.0.1:${dead}`, server.url], timeout: 1000 });
    expect(nc.getServer()).toBe(`127.0.0.1:${server.port}`);
    await nc.close();
  });

  it("skips a silent server in the list and connects to the live one at once", async () => {
    const silent = await silentServer();
    try {
      const started = Date.now();
      const nc = await connectNats({ servers: [`nats://127.0.0.1:${silent.port}`, server.url], timeout: 5000 });
      expect(Date.now() - started).toBeLessThan(1000);
      await nc.close();
      // and the probe of the silent one does not linger until the timeout
      await expect.poll(() => silent.open(), { timeout: 1000 }).toBe(0);
    } finally {
      await silent.close();
    }
  });

  it("says why each server failed when the reasons differ", async () => {
    const dead = await freePort();
    const silent = await silentServer();
    const port = silent.port;
    try {
      const { err, ms } = await failure(
        connectNats({ servers: [`nats://127.0.0.1:${dead}`, `nats://127.0.0.1:${port}`], timeout: 300 }),
      );
      expect(err.message).toBe(
        `cannot connect to NATS at nats://127.0.0.1:${dead}, nats://127.0.0.1:${port}: ` +
          `nats://127.0.0.1:${dead}: connection refused; nats://127.0.0.1:${port}: timed out after 300ms`,
      );
      expect(ms).toBeLessThan(1500);
    } finally {
      await silent.close();
    }
  });

  it("says so when the address is not a NATS server", async () => {
    const http = net.createServer((s) => s.end("HTTP/1.1 400 Bad Request\r\n\r\n"));
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    const { port } = http.address() as net.AddressInfo;
    try {
      const { err } = await failure(connectNats({ servers: [`nats://127.0.0.1:${port}`], timeout: 1000 }));
      expect(err.reason).toBe("not a NATS server (it did not send INFO)");
    } finally {
      await new Promise((r) => http.close(r));
    }
  });

  it("fails at once with 'connection refused' when nothing listens", async () => {
    const port = await freePort();
    const { err, ms } = await failure(connectNats({ servers: [`nats://127.0.0.1:${port}`], timeout: 500 }));
    expect(err.message).toBe(`cannot connect to NATS at nats://127.0.0.1:${port}: connection refused`);
    expect(err.hint).toContain("gs up");
    expect(ms).toBeLessThan(2000);
  });

  it("fails within the timeout when the server accepts but never speaks", async () => {
    const silent = await silentServer();
    const port = silent.port;
    try {
      const { err, ms } = await failure(connectNats({ servers: [`nats://127.0.0.1:${port}`], timeout: 500 }));
      expect(err.message).toBe(`cannot connect to NATS at nats://127.0.0.1:${port}: timed out after 500ms`);
      expect(err.hint).toContain("--timeout");
      expect(ms).toBeGreaterThanOrEqual(450);
      expect(ms).toBeLessThan(2000);
      // the abandoned socket is closed, not left to keep the process alive
      await expect.poll(() => silent.open(), { timeout: 1000 }).toBe(0);
    } finally {
      await silent.close();
    }
  });

  it("reports refused authorization without showing the password", async () => {
    const settings = resolveConnection(
      { server: authServer.url, user: "alice", password: "wrong-pw" },
      { cwd: dir, env: {}, configHome: dir },
    );
    const { err } = await failure(connectNats(settings));
    expect(err.message).toBe(
      `cannot connect to NATS at ${authServer.url}: authorization failed (check the credentials)`,
    );
    expect(`${err.message} ${err.hint} ${err.reason}`).not.toContain("wrong-pw");
    expect(err.hint).toContain("--user/--password");
  });

  it("connects with --user/--password to a server that requires them", async () => {
    const settings = resolveConnection(
      { server: authServer.url, user: "alice", password: "s3cret-pw" },
      { cwd: dir, env: {}, configHome: dir },
    );
    const nc = await connectNats(settings);
    await nc.flush();
    await nc.close();
  });

  it("redacts a password written in the URL", async () => {
    const port = await freePort();
    const { err } = await failure(connectNats({ servers: [`nats://alice:hunter2@127.0.0.1:${port}`], timeout: 500 }));
    expect(err.message).toBe(`cannot connect to NATS at nats://alice:***@127.0.0.1:${port}: connection refused`);
  });

  it("says TLS was asked for when the server does not offer it", async () => {
    const ca = path.join(dir, "ca.pem");
    writeFileSync(ca, "not really a certificate\n");
    const { err } = await failure(connectNats({ servers: [server.url], tls: { ca }, timeout: 1000 }));
    expect(err.reason).toBe("TLS was asked for but the server does not offer it");
    expect(err.hint).toContain("--tls-ca");
  });

  it("names a missing credentials file before trying to connect", async () => {
    const creds = path.join(dir, "missing.creds");
    const { err } = await failure(connectNats({ servers: [server.url], creds, source: "--creds" }));
    expect(err.message).toBe(
      `cannot connect to NATS at ${server.url}: cannot read credentials file ${creds} (no such file)`,
    );
  });
});
