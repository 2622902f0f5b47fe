// Reflection over NATS against real instances (the SDK runtime on a real nats-server): what they
// advertise, which set is picked when they disagree, the cache, and the one-line refusals.
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Svcm } from "@nats-io/services";
import { compileServiceDescriptorSets } from "@gs/fleet/sdk/descriptor-set";
import { createLogger } from "@gs/fleet/sdk/log";
import { startService, type RunningService } from "@gs/fleet/sdk/runtime";
import { SCHEMA_DIGEST_KEY, SCHEMA_SUBJECT_KEY, schemaDigest } from "@gs/fleet/sdk/schema";
import { npcProbe } from "../../../services/test-support/npc-probe.js";
import { startNatsServer, type TestNatsServer } from "../../../test/support/nats-server.js";
import { repoRoot } from "../../../test/support/run-cli.js";
import { UsageError } from "../output/errors.js";
import { fetchServiceDescriptorSet } from "./fleet-schema.js";
import { registryOfSets } from "./schema-source.js";

const quiet = createLogger({}, { level: "error", write: () => undefined });
let server: TestNatsServer;
let nc: NatsConnection;
let tmp: string;
let setA: Uint8Array;
let setB: Uint8Array;
const running: RunningService[] = [];
const conns: NatsConnection[] = [];

async function instance(schema: Uint8Array | undefined, version: string): Promise<RunningService> {
  const c = await connect({ servers: server.url });
  conns.push(c);
  const s = await startService(npcProbe(), { nc: c, log: quiet, schema, version });
  running.push(s);
  return s;
}

beforeAll(async () => {
  server = await startNatsServer({ jetstream: true });
  nc = await connect({ servers: server.url });
  tmp = mkdtempSync(path.join(os.tmpdir(), "gs-fleet-schema-"));
  setA = compileServiceDescriptorSets(path.join(repoRoot, "proto"), ["npc-behavior"]).get("npc-behavior")!;
  // the next version of the protos: one field added
  const next = path.join(tmp, "proto");
  cpSync(path.join(repoRoot, "proto"), next, { recursive: true });
  const file = path.join(next, "npc_behavior/v1/npc_behavior.proto");
  writeFileSync(
    file,
    readFileSync(file, "utf8").replace("message DecideResponse {", "message DecideResponse {\n  string added = 99;"),
  );
  setB = compileServiceDescriptorSets(next, ["npc-behavior"]).get("npc-behavior")!;
}, 60_000);

afterAll(async () => {
  for (const s of running) await s.stop(1000).catch(() => undefined);
  for (const c of [...conns, nc]) await c?.close().catch(() => undefined);
  await server?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("fetchServiceDescriptorSet", () => {
  it("reads the digest from $SRV.INFO and gets the set's exact bytes from the subject it names", async () => {
    const s = await instance(setA, "1.0.0");
    const info = await nc.request(`$SRV.INFO.npc-behavior.${s.id}`, "");
    const digest = schemaDigest(setA);
    expect(info.json<{ metadata: Record<string, string> }>().metadata).toMatchObject({
      [SCHEMA_DIGEST_KEY]: digest,
      [SCHEMA_SUBJECT_KEY]: `gs.schema.npc-behavior.${digest}`,
    });
    const got = await fetchServiceDescriptorSet(nc, "npc-behavior", { cacheDir: null });
    expect(got).toMatchObject({ digest, versions: ["1.0.0"], instances: 1, others: [] });
    expect(Buffer.from(got.bytes).equals(Buffer.from(setA))).toBe(true);
    // the set decodes into the types, comments included
    const registry = await registryOfSets([got], null);
    expect(registry.rpc("npc-behavior.decide")?.response.fields.reason?.comment).toMatch(/human-readable/);
    await s.stop(1000);
    running.splice(running.indexOf(s), 1);
  });

  it("picks the set most instances serve and names the others", async () => {
    await instance(setA, "1.0.0");
    await instance(setA, "1.0.0");
    await instance(setB, "1.1.0");
    const got = await fetchServiceDescriptorSet(nc, "npc-behavior", { cacheDir: null });
    expect(got.digest).toBe(schemaDigest(setA));
    expect(got.instances).toBe(2);
    expect(got.others).toEqual([{ digest: schemaDigest(setB), versions: ["1.1.0"], instances: 1 }]);
  });

  it("caches sets by digest, and ignores a cached file that is not what its name says", async () => {
    const cacheDir = path.join(tmp, "cache");
    const first = await fetchServiceDescriptorSet(nc, "npc-behavior", { cacheDir });
    const file = path.join(cacheDir, `${first.digest}.binpb`);
    expect(readdirSync(cacheDir)).toContain(`${first.digest}.binpb`);
    writeFileSync(file, "tampered");
    const again = await fetchServiceDescriptorSet(nc, "npc-behavior", { cacheDir });
    expect(Buffer.from(again.bytes).equals(Buffer.from(setA))).toBe(true);
    expect(readFileSync(file).equals(Buffer.from(setA))).toBe(true);
  });

  it("refuses, with exit 2, a service nobody runs and one whose instances serve no schema", async () => {
    await expect(fetchServiceDescriptorSet(nc, "nobody", { cacheDir: null, timeoutMs: 1000 })).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/no running instance of nobody/),
    });
    const legacyConn = await connect({ servers: server.url });
    conns.push(legacyConn);
    await new Svcm(legacyConn).add({ name: "legacy", version: "0.9.0" });
    await legacyConn.flush(); // its subscriptions reach the server
    const err = await fetchServiceDescriptorSet(nc, "legacy", { cacheDir: null }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message).toMatch(/legacy does not serve its schema/);
  });
});
