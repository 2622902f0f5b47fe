import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const protoRoot = path.join(repoRoot, "proto");

const SERVICES = [
  "auth",
  "settings",
  "payment",
  "state-manager",
  "world-state",
  "quest-system",
  "npc-behavior",
  "weather-manager",
  "time-manager",
  "language-system",
  "ai-integration",
  "model-management",
  "ai-router",
  "capability-registry",
  "router",
  "orchestration",
  "event-bus",
  "performance-mode",
  "knowledge-base",
  "environmental-narrative",
  "story-teller",
  "body-broker-integration",
];

function listProtoFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...listProtoFiles(full));
    else if (entry.endsWith(".proto")) out.push(full);
  }
  return out.sort();
}

/** Directories to add with --proto_path so google/protobuf/*.proto resolve. */
function wellKnownIncludeDirs(): string[] {
  return ["/usr/include", "/usr/local/include", "/opt/homebrew/include"].filter((d) =>
    existsSync(path.join(d, "google", "protobuf", "timestamp.proto")),
  );
}

function requireProtoc(): void {
  try {
    execFileSync("protoc", ["--version"], { stdio: "pipe" });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      throw new Error("protoc not found on PATH: install it with `apt-get install protobuf-compiler`");
    }
    throw err;
  }
}

function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/[^\n]*/g, "");
}

function pascal(name: string): string {
  return name
    .split(/[-_]/)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join("");
}

const protoFiles = listProtoFiles(protoRoot);

describe("proto schemas", () => {
  it("compile cleanly with protoc", () => {
    requireProtoc();
    const rel = protoFiles.map((f) => path.relative(protoRoot, f));
    const args = [
      `--proto_path=${protoRoot}`,
      ...wellKnownIncludeDirs().map((d) => `--proto_path=${d}`),
      "--descriptor_set_out=/dev/null",
      ...rel,
    ];
    let stderr = "";
    try {
      const out = execFileSync("protoc", args, { cwd: protoRoot, stdio: "pipe", encoding: "utf8" });
      expect(out).toBe("");
    } catch (err) {
      stderr = String((err as { stderr?: string }).stderr ?? err);
    }
    expect(stderr).toBe("");
  });

  it("has 23 packages, one directory per package, path mirroring the package name", () => {
    const packages = new Map<string, string>();
    for (const file of protoFiles) {
      const src = stripComments(readFileSync(file, "utf8"));
      const pkg = /^\s*package\s+([\w.]+)\s*;/m.exec(src)?.[1];
      expect(pkg, `${file} declares a package`).toBeDefined();
      const dir = path.relative(protoRoot, path.dirname(file)).split(path.sep).join("/");
      expect(dir, `${file} lives in the directory of its package`).toBe(pkg!.replace(/\./g, "/"));
      expect(/^\s*syntax\s*=\s*"proto3"\s*;/m.test(src), `${file} is proto3`).toBe(true);
      packages.set(pkg!, dir);
    }
    expect(packages.size).toBe(23);
    expect(new Set(packages.values()).size).toBe(23);
    const expected = ["gs.common.v1", ...SERVICES.map((s) => `${s.replace(/-/g, "_")}.v1`)].sort();
    expect([...packages.keys()].sort()).toEqual(expected);
  });

  it("gives each service package exactly one <PascalName>Service with unary <Rpc>Request/<Rpc>Response rpcs", () => {
    for (const service of SERVICES) {
      const name = service.replace(/-/g, "_");
      const file = path.join(protoRoot, name, "v1", `${name}.proto`);
      expect(existsSync(file), `${file} exists`).toBe(true);
      const src = stripComments(readFileSync(file, "utf8"));
      const services = [...src.matchAll(/^\s*service\s+(\w+)\s*\{/gm)].map((m) => m[1]);
      expect(services, `${service} services`).toHaveLength(1);
      expect(services[0]!.endsWith("Service")).toBe(true);
      expect(services[0]).toBe(`${pascal(service)}Service`);

      const rpcs = [
        ...src.matchAll(/\brpc\s+(\w+)\s*\(\s*(stream\s+)?([\w.]+)\s*\)\s*returns\s*\(\s*(stream\s+)?([\w.]+)\s*\)/g),
      ];
      expect(rpcs.length, `${service} has rpcs`).toBeGreaterThan(0);
      for (const [, rpc, reqStream, req, resStream, res] of rpcs) {
        expect(reqStream ?? resStream, `${service}.${rpc} is unary`).toBeUndefined();
        expect(req).toBe(`${rpc}Request`);
        expect(res).toBe(`${rpc}Response`);
      }
      expect(/^\s*message\s+\w+Event\s*\{/m.test(src), `${service} publishes at least one event`).toBe(true);
    }
  });

  it("keeps gs.common.v1 free of services", () => {
    const src = stripComments(readFileSync(path.join(protoRoot, "gs", "common", "v1", "common.proto"), "utf8"));
    expect(/^\s*service\s+/m.test(src)).toBe(false);
  });
});
