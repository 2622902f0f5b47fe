// `gs status` and the NATS layer, as a user runs it: the built CLI against fleets started with
// `gs up --detach`. A single node: its server, streams and KV buckets read through the system
// account, and through the monitoring endpoint (with a note) when the system account refuses gs.
// A 3-node cluster: one node killed with SIGKILL shows as down (`--check` exits 5) in the one-shot
// and in `--watch --json`, then the supervisor restarts it and `--check` exits 0 again.
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "@nats-io/transport-node";
import { createUser } from "@nats-io/nkeys";
import type { StatusJson, StatusWatchJson } from "./status.js";
import { createProject, existingServices, isAlive, waitFor, type TestProject } from "../../test/support/local-fleet.js";
import { repoRoot, runCli } from "../../test/support/run-cli.js";
import { startCli } from "../../test/support/live-process.js";

const canRun = ["settings", "payment"].every((s) => existingServices().includes(s));

interface NatsRecord {
  url: string;
  system: { nkey: string };
  monitoring: string[];
  nodes: { name: string; port: number; monitorPort: number; pid: number }[];
}
const natsOf = (p: TestProject) => (p.record() as unknown as { nats: NatsRecord }).nats;

async function statusJson(project: TestProject, check = false): Promise<{ code: number | null; doc: StatusJson }> {
  const r = await runCli(["status", "--json", ...(check ? ["--check"] : [])], { cwd: project.dir });
  expect(r.stdout, r.stderr).toMatch(/^\{/);
  return { code: r.code, doc: JSON.parse(r.stdout) as StatusJson };
}

function up(project: TestProject, extra: string[] = []) {
  return runCli(["up", "--detach", "--timeout", "90s", ...extra], { cwd: project.dir });
}

describe.runIf(canRun)("gs status: the NATS layer of a single-node fleet", () => {
  let project: TestProject;

  beforeAll(async () => {
    if (!existsSync(path.join(repoRoot, "dist/cli.js"))) throw new Error("build first: npm run build");
    project = createProject(["settings", "payment"], { desired: 1 });
    const r = await up(project);
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    if (!project) return;
    await runCli(["down", "--purge"], { cwd: project.dir });
    project.remove();
  });

  it("shows the server, JetStream and the fleet's stream and KV buckets through the system account", async () => {
    const { code, doc } = await statusJson(project, true);
    expect(code).toBe(0);
    const nats = doc.nats;
    expect(nats.source).toBe("system-account");
    expect(nats.notes).toEqual([]);
    expect(nats.problems).toEqual([]);
    expect(nats.servers).toEqual([
      expect.objectContaining({ name: "node1", state: "up", version: expect.stringMatching(/^2\.\d+\.\d+/) }),
    ]);
    // the supervisor, gs and the two services are connected
    expect(nats.servers[0]!.connections).toBeGreaterThanOrEqual(3);
    expect(nats.jetstream).toEqual({ clustered: false, metaLeader: null, clusterSize: null });
    expect(
      nats.streams.map((s) => [s.kind, s.name, s.bucket, s.leader, s.replicas.current, s.replicas.expected]),
    ).toEqual([
      ["stream", "EVENTS", null, "node1", 1, 1],
      ["kv", "KV_gs_payment", "gs_payment", "node1", 1, 1],
      ["kv", "KV_gs_settings", "gs_settings", "node1", 1, 1],
    ]);
    // the services' own rows are untouched
    expect(doc.services.map((s) => [s.name, s.responding])).toEqual([
      ["payment", 1],
      ["settings", 1],
    ]);
  });

  it("prints the servers and streams as tables after the services, and a summary line", async () => {
    const r = await runCli(["status"], { cwd: project.dir });
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout.split("\n");
    const servers = out.findIndex((l) => /^SERVER\s+STATE\s+VERSION\s+CONNS\s+CPU\s+MEM\s+SLOW\s+UPTIME$/.test(l));
    expect(servers).toBeGreaterThan(out.findIndex((l) => /^settings\s/.test(l)));
    expect(out[servers + 1]).toMatch(/^node1\s+up\s+2\.\d+\.\d+\s+\d+\s+\d+%\s+\d+(\.\d)?MiB\s+0\s+\S+$/);
    expect(out).toContainEqual(expect.stringMatching(/^KV gs_settings\s+1\/1\s+node1\s+\d+\s+\S+\s+0\s+0\s+0$/));
    expect(r.stderr).toContain("NATS: 1/1 servers up · JetStream standalone · 1 stream, 2 KV buckets · system account");
  });

  it("gives gs a system-account user of its own and a monitoring endpoint on loopback, both in the fleet record", async () => {
    const nats = natsOf(project);
    expect((statSync(nats.system.nkey).mode & 0o777).toString(8)).toBe("600");
    expect(nats.monitoring).toEqual([`http://127.0.0.1:${nats.nodes[0]!.monitorPort}`]);
    const varz = (await (await fetch(`${nats.monitoring[0]}/varz`)).json()) as {
      server_name: string;
      system_account: string;
    };
    expect(varz).toMatchObject({ server_name: "node1", system_account: "SYS" });
    // a client without credentials (what the services are) is in the fleet's account, not the system account
    const anon = await connect({ servers: nats.url });
    try {
      await expect(anon.request("$SYS.REQ.SERVER.PING.VARZ", "", { timeout: 1000 })).rejects.toThrow(/no responders/i);
    } finally {
      await anon.close();
    }
  });

  it("reads the monitoring endpoint, with a note, when the system account refuses gs; the note alone does not fail --check", async () => {
    const seedFile = natsOf(project).system.nkey;
    const seed = readFileSync(seedFile, "utf8");
    // a key the server does not know
    writeFileSync(seedFile, new TextDecoder().decode(createUser().getSeed()) + "\n");
    chmodSync(seedFile, 0o600);
    try {
      const { code, doc } = await statusJson(project, true);
      expect(code).toBe(0);
      expect(doc.nats.source).toBe("monitoring");
      expect(doc.nats.notes).toEqual(["system account: cannot connect as its user: Authorization Violation"]);
      expect(doc.nats.servers.map((s) => [s.name, s.state])).toEqual([["node1", "up"]]);
      expect(doc.nats.streams).toHaveLength(3);
      const plain = await runCli(["status", "--check"], { cwd: project.dir });
      expect(plain.code).toBe(0);
      expect(plain.stderr).toContain("NATS layer: system account: cannot connect as its user: Authorization Violation");
      expect(plain.stderr).toContain("· monitoring endpoints");
    } finally {
      writeFileSync(seedFile, seed);
    }
  });
});

describe.runIf(canRun)("gs status: a node of a 3-node cluster killed, then back", () => {
  let project: TestProject;

  beforeAll(async () => {
    if (!existsSync(path.join(repoRoot, "dist/cli.js"))) throw new Error("build first: npm run build");
    project = createProject(["settings"], { desired: 1 });
    const r = await up(project, ["--cluster", "3"]);
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    if (!project) return;
    await runCli(["down", "--purge"], { cwd: project.dir });
    project.remove();
  });

  it("shows the three servers, the meta leader and R3 streams; a killed node down (exit 5); then recovered (exit 0)", async () => {
    // replicas of streams just created may take a moment to report current
    await waitFor("a healthy cluster", async () => (await statusJson(project, true)).code === 0, 30_000, 500);
    const { doc } = await statusJson(project);
    const names = ["node1", "node2", "node3"];
    expect(doc.nats.servers.map((s) => [s.name, s.state])).toEqual(names.map((n) => [n, "up"]));
    expect(doc.nats.jetstream).toMatchObject({ clustered: true, clusterSize: 3 });
    expect(names).toContain(doc.nats.jetstream!.metaLeader);
    expect(doc.nats.streams.map((s) => [s.name, s.replicas.expected, s.replicas.current])).toEqual([
      ["EVENTS", 3, 3],
      ["KV_gs_settings", 3, 3],
    ]);
    for (const s of doc.nats.streams) expect(names).toContain(s.leader);

    const watch = startCli(["status", "--watch", "--json", "--check", "--interval", "500ms"], {
      cwd: project.dir,
      timeoutMs: 110_000,
    });
    const docs = () =>
      watch
        .stdout()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as StatusWatchJson);
    try {
      await watch.waitFor("stdout", /"problems":\[\]/);

      // The supervisor restarts a killed node within half a second. To look at the cluster while the
      // node is down, its monitoring port is held for a few seconds: its restarts fail (as a node's
      // that cannot start would), then it comes back on its own.
      const holder = await killAndHoldMonitorPort(project, "node2");
      const released = new Promise<void>((resolve) => setTimeout(() => holder.close(() => resolve()), 8000));
      try {
        const down = await statusJson(project, true);
        expect(down.code).toBe(5);
        expect(down.doc.nats.servers.find((s) => s.name === "node2")).toMatchObject({ state: "down", version: null });
        expect(down.doc.nats.problems).toContainEqual({
          kind: "server-down",
          subject: "node2",
          message: "server node2 is down",
        });
        // the services are fine: the NATS layer alone made --check fail
        expect(down.doc.services.every((s) => s.responding === s.desired)).toBe(true);
        const plain = await runCli(["status", "--check"], { cwd: project.dir });
        expect(plain.code).toBe(5);
        expect(plain.stderr).toContain("NATS: server node2 is down");
        expect(plain.stdout).toMatch(/^node2\s+down\s+-/m);
      } finally {
        await released;
      }

      await waitFor(
        "the node back and --check passing",
        async () => (await runCli(["status", "--check"], { cwd: project.dir })).code === 0,
        60_000,
        1000,
      );
      const back = await statusJson(project);
      expect(back.doc.nats.servers.map((s) => [s.name, s.state])).toEqual(names.map((n) => [n, "up"]));

      // the watch saw it too: node2 down with the problem, then every server up and no problem
      await waitFor(
        "the watch to see the node back",
        () => {
          const all = docs();
          const downAt = all.findIndex((d) =>
            d.nats.problems.some((p) => p.kind === "server-down" && p.subject === "node2"),
          );
          return (
            downAt >= 0 &&
            all.slice(downAt).some((d) => d.nats.problems.length === 0 && d.nats.servers.every((s) => s.state === "up"))
          );
        },
        30_000,
        250,
      );
    } finally {
      watch.signal("SIGTERM");
    }
    // --check: as of the last poll, healthy again
    expect((await watch.exit).code).toBe(0);
  }, 180_000);
});

/**
 * SIGKILLs a node and binds its monitoring port before the supervisor restarts it. On a loaded machine
 * the restart (0.5 s at first) can win the race: then the new process is killed too, and the
 * supervisor's growing backoff soon leaves the port free long enough.
 */
async function killAndHoldMonitorPort(project: TestProject, name: string): Promise<net.Server> {
  for (let attempt = 1; ; attempt++) {
    const node = natsOf(project).nodes.find((n) => n.name === name)!;
    try {
      process.kill(node.pid, "SIGKILL");
    } catch {
      // already gone: the supervisor is restarting it
    }
    // a process SIGKILLed is not gone at once: until it is, its port cannot be bound, which would read
    // as the node being back
    await waitFor(`${name} (pid ${node.pid}) gone`, () => !isAlive(node.pid), 10_000, 10);
    const holder = net.createServer((c) => c.destroy());
    const held = await new Promise<boolean>((resolve) => {
      holder.once("error", () => resolve(false));
      holder.listen(node.monitorPort, "127.0.0.1", () => resolve(true));
    });
    if (held) return holder;
    if (attempt === 10) throw new Error(`${name} came back on its monitoring port before it could be held, 10 times`);
    // the node is back: wait for the record to name its new pid (a restart waits for the cluster, which a loaded machine makes slow)
    await waitFor(
      `${name}'s new pid`,
      async () => natsOf(project).nodes.find((n) => n.name === name)!.pid !== node.pid,
      30_000,
      100,
    );
  }
}
