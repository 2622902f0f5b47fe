// Build time only (never imported by a running service): the FileDescriptorSet each service serves
// (schema.ts), compiled from proto/ by buf (the @bufbuild/buf npm package ships the binary), imports
// and source info (comments) included. One `buf build` of the whole tree, then each service's
// files (`<package folder>/**`) and what they import are cut out of it byte for byte, so a set's
// digest changes only when the service's own protos or their imports do.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import protobuf from "protobufjs";

const BUF_PLATFORM_PACKAGES: Record<string, string> = {
  "linux-x64": "@bufbuild/buf-linux-x64",
  "linux-arm64": "@bufbuild/buf-linux-aarch64",
  "linux-arm": "@bufbuild/buf-linux-armv7",
  "darwin-x64": "@bufbuild/buf-darwin-x64",
  "darwin-arm64": "@bufbuild/buf-darwin-arm64",
  "win32-x64": "@bufbuild/buf-win32-x64",
  "win32-arm64": "@bufbuild/buf-win32-arm64",
};

/** The buf binary: $GS_BUF, else the platform package @bufbuild/buf installed (no node wrapper in between). */
export function bufBinary(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GS_BUF) return env.GS_BUF;
  const require = createRequire(import.meta.url);
  const exe = process.platform === "win32" ? "buf.exe" : "buf";
  const platformPkg = BUF_PLATFORM_PACKAGES[`${process.platform}-${process.arch}`];
  for (const pkg of [platformPkg, "@bufbuild/buf"]) {
    if (!pkg) continue;
    try {
      const bin = path.join(path.dirname(require.resolve(`${pkg}/package.json`)), "bin", exe);
      if (existsSync(bin)) return bin;
    } catch {
      // not installed for this platform: try the next
    }
  }
  throw new Error("buf not found: run `npm install` (gs depends on @bufbuild/buf) or set GS_BUF");
}

/** Every file of `protoDir` compiled into one FileDescriptorSet (imports and comments included). */
export function compileProtoTree(protoDir: string, env: NodeJS.ProcessEnv = process.env): Uint8Array {
  try {
    // an inline config: the tree is compiled as it is, whatever buf.yaml a workspace above it has
    return new Uint8Array(
      execFileSync(
        bufBinary(env),
        ["build", protoDir, "--config", '{"version":"v2"}', "--as-file-descriptor-set", "-o", "-#format=binpb"],
        { maxBuffer: 256 * 1024 * 1024, stdio: ["ignore", "pipe", "pipe"] },
      ),
    );
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`cannot compile ${protoDir}: ${stderr || (err as Error).message}`, { cause: err });
  }
}

interface FileEntry {
  name: string;
  dependencies: string[];
  /** the FileDescriptorProto's bytes as buf wrote them */
  bytes: Uint8Array;
}

/** The files of a FileDescriptorSet, in order, each with its name, imports and exact bytes. */
export function filesOfSet(set: Uint8Array): FileEntry[] {
  const files: FileEntry[] = [];
  const r = protobuf.Reader.create(set);
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 !== 1 || (tag & 7) !== 2) {
      r.skipType(tag & 7);
      continue;
    }
    const bytes = r.bytes();
    const f = protobuf.Reader.create(bytes);
    let name = "";
    const dependencies: string[] = [];
    while (f.pos < f.len) {
      const t = f.uint32();
      if (t === ((1 << 3) | 2)) name = f.string();
      else if (t === ((3 << 3) | 2)) dependencies.push(f.string());
      else f.skipType(t & 7);
    }
    files.push({ name, dependencies, bytes });
  }
  return files;
}

/** The files under `<package folder>/` of `service` (`quest-system` -> `quest_system/`) and everything they import, in the set's order. */
export function serviceDescriptorSet(tree: Uint8Array, service: string): Uint8Array | undefined {
  const files = filesOfSet(tree);
  const byName = new Map(files.map((f) => [f.name, f]));
  const folder = `${service.replace(/-/g, "_")}/`;
  const wanted = new Set<string>();
  const add = (name: string) => {
    if (wanted.has(name)) return;
    wanted.add(name);
    for (const dep of byName.get(name)?.dependencies ?? []) add(dep);
  };
  for (const f of files) if (f.name.startsWith(folder)) add(f.name);
  if (wanted.size === 0) return undefined;
  const w = protobuf.Writer.create();
  for (const f of files) if (wanted.has(f.name)) w.uint32((1 << 3) | 2).bytes(f.bytes);
  return w.finish();
}

/** Each service's descriptor set from one compile of `protoDir`; services without a package folder are left out. */
export function compileServiceDescriptorSets(
  protoDir: string,
  services: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Map<string, Uint8Array> {
  const tree = compileProtoTree(protoDir, env);
  const out = new Map<string, Uint8Array>();
  for (const s of services) {
    const set = serviceDescriptorSet(tree, s);
    if (set) out.set(s, set);
  }
  return out;
}
