// Local builds: one esbuild bundle per service, versioned by content hash, rebuilt only when an input changes.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bundleService } from "./bundle.js";
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
});
