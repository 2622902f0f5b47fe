import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { decodeToJson } from "./sdk/json-codec.js";
import { defaultRegistry } from "./sdk/runtime.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const generated = path.join(root, "services", "generated");

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

/** `interface Name { a: ...; b?: ... }` blocks of the generated files: name -> field -> required. */
function generatedInterfaces(): Map<string, Map<string, boolean>> {
  const out = new Map<string, Map<string, boolean>>();
  for (const file of files(generated)) {
    const pkg = path.dirname(file).split(path.sep).join(".");
    const text = readFileSync(path.join(generated, file), "utf8");
    for (const m of text.matchAll(/^export interface (\w+) \{\n([\s\S]*?)^\}/gm)) {
      const fields = new Map<string, boolean>();
      for (const f of m[2]!.matchAll(/^ {2}(\w+)(\??): /gm)) fields.set(f[1]!, f[2] !== "?");
      out.set(`${pkg}.${m[1]!.replace(/_/g, ".")}`, fields);
    }
  }
  return out;
}

describe("generated types (services/generated)", () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "gs-generated-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("are what proto/ generates today (run `npm run build` when this fails)", () => {
    execFileSync(process.execPath, [path.join(root, "scripts", "generate-types.mjs"), tmp], { stdio: "pipe" });
    const fresh = path.join(tmp, "services", "generated");
    expect(files(generated)).toEqual(files(fresh));
    for (const file of files(fresh)) {
      expect(readFileSync(path.join(generated, file), "utf8"), `${file} is stale`).toBe(
        readFileSync(path.join(fresh, file), "utf8"),
      );
    }
  }, 60_000);

  it("declare as required exactly the fields the SDK hands handlers for an empty message", () => {
    const registry = defaultRegistry();
    const interfaces = generatedInterfaces();
    const types = new Set(registry.rpcs.flatMap((r) => [r.request, r.response]));
    for (const ev of registry.events) types.add(ev.type);
    expect(types.size).toBeGreaterThan(150);
    for (const type of types) {
      const name = type.fullName.slice(1);
      const declared = interfaces.get(name);
      expect(declared, `no generated interface for ${name}`).toBeDefined();
      const present = Object.keys(decodeToJson(type, new Uint8Array()));
      const required = [...declared!].filter(([, req]) => req).map(([k]) => k);
      expect(required.sort(), name).toEqual(present.sort());
      expect([...declared!.keys()].sort(), name).toEqual(type.fieldsArray.map((f) => jsonKey(f.name)).sort());
    }
  });
});

function jsonKey(field: string): string {
  return field.replace(/_(.)/g, (_, c: string) => c.toUpperCase());
}
