// Reading the NATS layer from a real nats-server with what the local fleet's nodes have (a system
// account whose user is gs's, clients without credentials in the global account, a monitoring port)
// and a user whose permissions deny $SYS: the system account when the credentials allow it, the
// monitoring endpoint otherwise, and notes (never a failure) when neither can be read.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { createUser } from "@nats-io/nkeys";
import { freePort } from "../platform/local/nats-cluster.js";
import type { FleetRecord } from "../platform/local/fleet-record.js";
import { startNatsServer, type TestNatsServer } from "../../../test/support/nats-server.js";
import { NatsLayerReader, type NatsLayerAccess } from "./read-layer.js";
import type { PlatformContext } from "../platform/open-platform.js";
import { localFleetAccess, natsLayerAccess } from "./target-access.js";

describe("reading the NATS layer of a real nats-server", () => {
  let dir: string;
  let server: TestNatsServer;
  let monitorUrl: string;
  let record: FleetRecord["nats"];
  let app: NatsConnection;
  const readers: NatsLayerReader[] = [];
  const opened: NatsConnection[] = [];

  const reader = (access: NatsLayerAccess, maxConsumerPending = 1000) => {
    const r = new NatsLayerReader(access, { maxConsumerPending });
    readers.push(r);
    return r;
  };
  /** the system account tried on a connection that is not its user */
  const asUser = (opts: { user?: string; pass?: string }): NatsLayerAccess => ({
    system: {
      connection: async () => {
        const nc = await connect({ servers: server.url, ...opts });
        opened.push(nc);
        return nc;
      },
      close: async () => undefined,
    },
    monitoring: [{ url: monitorUrl, name: "t1" }],
    expected: ["t1"],
  });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "gs-nats-layer-"));
    const system = createUser();
    writeFileSync(path.join(dir, "gs-system.nk"), new TextDecoder().decode(system.getSeed()) + "\n", { mode: 0o600 });
    const conf = path.join(dir, "nats.conf");
    writeFileSync(
      conf,
      [
        "server_name: t1",
        "system_account: SYS",
        `accounts ${JSON.stringify({ SYS: { users: [{ nkey: system.getPublicKey() }] } })}`,
        `authorization ${JSON.stringify({
          users: [
            { user: "fleet" },
            { user: "limited", password: "limited-pw", permissions: { publish: { deny: ["$SYS.>"] } } },
          ],
        })}`,
        "no_auth_user: fleet",
      ].join("\n") + "\n",
    );
    const monitorPort = await freePort();
    server = await startNatsServer({ jetstream: true, args: ["-c", conf, "-m", String(monitorPort)] });
    monitorUrl = `http://127.0.0.1:${monitorPort}`;
    record = {
      url: server.url,
      nodes: [{ name: "t1", port: server.port, monitorPort }],
      system: { nkey: path.join(dir, "gs-system.nk") },
      monitoring: [monitorUrl],
    };

    // what the fleet keeps there: the EVENTS stream with a consumer behind, and a KV bucket
    app = await connect({ servers: server.url });
    const jsm = await jetstreamManager(app);
    await jsm.streams.add({ name: "EVENTS", subjects: ["events.>"] });
    await jsm.consumers.add("EVENTS", { durable_name: "audit", ack_policy: "explicit" });
    const js = jetstream(app);
    for (let i = 0; i < 3; i++) await js.publish("events.payment.deposited", `{"n":${i}}`);
    const kv = await new Kvm(app).create("gs_payment");
    await kv.put("balance.p1", "5");
  }, 30_000);

  afterAll(async () => {
    for (const r of readers) await r.close();
    for (const nc of [app, ...opened]) await nc?.close().catch(() => undefined);
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads the server, JetStream and every stream through the system account", async () => {
    const started = Date.now();
    const layer = await reader(localFleetAccess(record)).read();
    // the one expected server answered: no waiting out the window
    expect(Date.now() - started).toBeLessThan(900);
    expect(layer.source).toBe("system-account");
    expect(layer.notes).toEqual([]);
    expect(layer.servers).toHaveLength(1);
    expect(layer.servers[0]).toMatchObject({ name: "t1", state: "up", version: expect.stringMatching(/^2\./) });
    expect(layer.servers[0]!.connections).toBeGreaterThanOrEqual(2);
    expect(layer.jetstream).toEqual({ clustered: false, metaLeader: null, clusterSize: null });
    expect(layer.streams.map((s) => [s.kind, s.name, s.bucket, s.leader, s.replicas.current, s.messages])).toEqual([
      ["stream", "EVENTS", null, "t1", 1, 3],
      ["kv", "KV_gs_payment", "gs_payment", "t1", 1, 1],
    ]);
    expect(layer.streams[0]!.consumers).toEqual([{ name: "audit", pending: 3, ackPending: 0, redelivered: 0 }]);
    expect(layer.problems).toEqual([]);
  });

  it("counts a consumer with more pending messages than allowed", async () => {
    const layer = await reader(localFleetAccess(record), 2).read();
    expect(layer.problems).toEqual([
      {
        kind: "consumer-pending",
        subject: "EVENTS/audit",
        message: "consumer audit of stream EVENTS: 3 messages pending (more than 2)",
      },
    ]);
  });

  it("falls back to the monitoring endpoint when the credentials are not a system-account user, with a note", async () => {
    const viaSystem = await reader(localFleetAccess(record)).read();
    const layer = await reader(asUser({})).read();
    expect(layer.source).toBe("monitoring");
    expect(layer.notes).toEqual([
      "system account: no responders: the credentials are not a user of the system account",
    ]);
    // the same view, from the other source
    expect(layer.servers.map((s) => [s.name, s.state])).toEqual([["t1", "up"]]);
    expect(layer.streams.map((s) => s.name)).toEqual(viaSystem.streams.map((s) => s.name));
    expect(layer.streams[0]!.consumers).toEqual(viaSystem.streams[0]!.consumers);
  });

  it("says so when the user's permissions deny $SYS", async () => {
    const layer = await reader(asUser({ user: "limited", pass: "limited-pw" })).read();
    expect(layer.source).toBe("monitoring");
    expect(layer.notes).toHaveLength(1);
    expect(layer.notes[0]).toMatch(/^system account: denied: .*permissions violation.*\$SYS\.REQ\.SERVER\.PING/i);
  });

  it("notes a system user the server does not accept, and reads the monitoring endpoint instead", async () => {
    const wrong = path.join(dir, "wrong.nk");
    writeFileSync(wrong, new TextDecoder().decode(createUser().getSeed()) + "\n", { mode: 0o600 });
    const layer = await reader(localFleetAccess({ ...record, system: { nkey: wrong } })).read();
    expect(layer.source).toBe("monitoring");
    expect(layer.notes).toEqual(["system account: cannot connect as its user: Authorization Violation"]);
  });

  it("with no source left, shows nothing but notes, and no problem (a note alone is not unhealthy)", async () => {
    const closed = await freePort();
    const layer = await reader({
      ...asUser({}),
      monitoring: [{ url: `http://127.0.0.1:${closed}`, name: "t1" }],
    }).read();
    expect(layer).toMatchObject({ source: null, servers: [], streams: [], jetstream: null, problems: [] });
    expect(layer.notes).toEqual([
      "system account: no responders: the credentials are not a user of the system account",
      `monitoring endpoint http://127.0.0.1:${closed} (t1) unreachable: connection refused`,
    ]);
  });

  it("on an ecs target, tries the target's own connection, then the monitoring endpoints listed in gs.yaml", async () => {
    const anon = await connect({ servers: server.url });
    opened.push(anon);
    const ctx = (monitoring?: string[]) =>
      ({
        targetName: "prod",
        target: {
          platform: "ecs",
          region: "eu-west-1",
          cluster: "c",
          registry: "r",
          serviceNameFormat: "{service}",
          confirm: true,
          nats: { url: server.url, ...(monitoring ? { monitoring } : {}) },
        },
      }) as unknown as PlatformContext;
    const target = { nats: async () => anon };
    const listed = await reader(natsLayerAccess(ctx([monitorUrl]), target)).read();
    expect(listed.source).toBe("monitoring");
    expect(listed.servers.map((s) => s.name)).toEqual(["t1"]);
    const r = reader(natsLayerAccess(ctx(), target));
    const unlisted = await r.read();
    await r.close();
    expect(unlisted).toMatchObject({ source: null, servers: [], problems: [] });
    expect(unlisted.notes).toEqual([
      "system account: no responders: the credentials are not a user of the system account",
      "no monitoring endpoints to fall back on",
      "to see it, list each server's monitoring URL under targets.prod.nats.monitoring in gs.yaml, or use credentials of a system-account user",
    ]);
    // the target's connection is shared: closing the reader leaves it open
    expect(anon.isClosed()).toBe(false);
  });

  it("notes a fleet recorded by an older gs (no system user, no monitoring endpoints)", async () => {
    const layer = await reader(localFleetAccess({ url: server.url, nodes: record.nodes })).read();
    expect(layer.source).toBeNull();
    expect(layer.notes).toEqual([
      "this fleet was started by an older gs without a system account: restart it (`gs down`, then `gs up`)",
    ]);
  });
});
