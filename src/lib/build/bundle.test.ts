// Local builds: one esbuild bundle per service, versioned by content hash, rebuilt only when an input changes.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { connect } from "@nats-io/transport-node";
import { compileServiceDescriptorSets } from "@gs/fleet/sdk/descriptor-set";
import { schemaDigest } from "@gs/fleet/sdk/schema";
import { bundleService } from "./bundle.js";
import { startNatsServer } from "../../../test/support/nats-server.js";
import { repoRoot } from "../../../test/support/run-cli.js";

describe("local builds", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "gs-build-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("versions a bundle by its content and rebuilds only when an input changed", async () => {
    // a copy of services/ with one real service (settings) whose files can be edited
    const services = path.join(dir, "services");
    cpSync(path.join(repoRoot, "services", "sdk"), path.join(services, "sdk"), { recursive: true });
    cpSync(path.join(repoRoot, "services", "settings"), path.join(services, "settings"), { recursive: true });
    symlinkSync(path.join(repoRoot, "services", "package.json"), path.join(services, "package.json"));
    const opts = { servicesDir: services, protoDir: path.join(repoRoot, "proto"), outDir: path.join(dir, "builds") };

    const first = await bundleService("settings", opts);
    expect(first.version).toMatch(/^\d+\.\d+\.\d+\+[0-9a-f]{12}$/);
    expect(first.ref).toBe(path.join(dir, "builds", "settings", `${first.hash}.mjs`));
    expect(readFileSync(first.ref, "utf8")).toContain("createRequire");

    expect(await bundleService("settings", opts)).toEqual(first);
    expect(await bundleService("settings", { ...opts, salt: "again" })).not.toEqual(first);

    const service = path.join(services, "settings", "service.ts");
    writeFileSync(service, readFileSync(service, "utf8").replace('description: "', 'description: "(edited) '));
    const edited = await bundleService("settings", opts);
    expect(edited.hash).not.toBe(first.hash);
    expect(readdirSync(path.join(dir, "builds", "settings")).filter((f) => f.endsWith(".mjs")).length).toBe(3);
  }, 60_000);

  it("says which service does not build and where", async () => {
    const services = path.join(dir, "services");
    writeFileSync(path.join(services, "settings", "service.ts"), "export default {;\n");
    await expect(
      bundleService("settings", {
        servicesDir: services,
        protoDir: path.join(repoRoot, "proto"),
        outDir: path.join(dir, "builds"),
      }),
    ).rejects.toThrow(/settings does not build: .*service\.ts:1: /);
    await expect(
      bundleService("no-such", {
        servicesDir: services,
        protoDir: path.join(repoRoot, "proto"),
        outDir: path.join(dir, "builds"),
      }),
    ).rejects.toThrow(/no-such: .*service\.ts not found/);
  });

  it("embeds the service's descriptor set, which the running bundle serves over NATS", async () => {
    const artifact = await bundleService("settings", {
      servicesDir: path.join(repoRoot, "services"),
      protoDir: path.join(repoRoot, "proto"),
      outDir: path.join(dir, "schema-builds"),
    });
    const expected = compileServiceDescriptorSets(path.join(repoRoot, "proto"), ["settings"]).get("settings")!;
    const server = await startNatsServer({ jetstream: true });
    const child = spawn(process.execPath, [artifact.ref], {
      env: {
        PATH: process.env.PATH,
        NATS_URL: server.url,
        GS_PROTO_DIR: path.join(repoRoot, "proto"),
        GS_HEALTH_FILE: path.join(dir, "settings.health"),
        GS_LOG_LEVEL: "error",
      },
      stdio: "ignore",
    });
    const nc = await connect({ servers: server.url });
    try {
      let info: { metadata?: Record<string, string> } | undefined;
      for (let i = 0; i < 100 && !info; i++) {
        info = await nc
          .request("$SRV.INFO.settings", "", { timeout: 500 })
          .then((m) => m.json<{ metadata?: Record<string, string> }>())
          .catch(() => undefined);
        if (!info) await new Promise((r) => setTimeout(r, 200));
      }
      expect(info?.metadata?.["gs.schema.digest"]).toBe(schemaDigest(expected));
      const served = await nc.request(info!.metadata!["gs.schema.subject"]!, "", { timeout: 5000 });
      expect(Buffer.from(served.data).equals(Buffer.from(expected))).toBe(true);
    } finally {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
      await nc.close();
      await server.stop();
    }
  }, 90_000);
});
