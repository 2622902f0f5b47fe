// Local builds: each service bundled by esbuild into one ESM file, named by its content hash.
// The hash covers the bundle and the service's .proto files, so an unchanged service keeps its version.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Plugin as EsbuildPlugin } from "esbuild";
import { compileProtoTree, serviceDescriptorSet } from "@gs/fleet/sdk/descriptor-set";
import { listProtoFiles } from "@gs/fleet/sdk/registry";
import type { Artifact, ArtifactBuilder } from "../platform/platform.js";
import { OperationError, type GsErrorOptions } from "../output/errors.js";

export interface BundleOptions {
  /** the fleet workspace: `<servicesDir>/<service>/service.ts`, `<servicesDir>/sdk/runtime.ts` */
  servicesDir: string;
  /** the proto/ folder whose files go into the hash */
  protoDir: string;
  /** bundles go to `<outDir>/<service>/<hash>.mjs` */
  outDir: string;
  /** extra folders to resolve packages from (a copy of services/ outside the repo) */
  nodePaths?: string[];
  /** mixed into every hash: a way to force new versions without changing code (GS_BUILD_SALT) */
  salt?: string;
}

/** A service that does not bundle: the user fixes the code. */
export class BuildError extends OperationError {
  override name = "BuildError";
  constructor(message: string, opts: GsErrorOptions = {}) {
    super(message, { code: "build_failed", ...opts });
  }
}

const HASH_LENGTH = 12;
// CJS dependencies (ioredis, protobufjs' helpers) call require(); ESM bundles have none of their own
const BANNER =
  'import { createRequire as __gsCreateRequire } from "node:module"; const require = __gsCreateRequire(import.meta.url);';

/** gs's own node_modules (nearest above this module, bundled or not): packages for a copy of services/ outside the repo. */
function gsNodeModules(): string[] {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ;) {
    const candidate = path.join(dir, "node_modules");
    if (existsSync(candidate)) return [candidate];
    const parent = path.dirname(dir);
    if (parent === dir) return [];
    dir = parent;
  }
}

type Esbuild = typeof import("esbuild");
// a runtime import: esbuild finds its native binary relative to its own package, so it must not be bundled into gs
const ESBUILD = "esbuild";

// the module the entry imports its descriptor set from (services/sdk/schema.ts serves it): the bytes are
// embedded in the bundle, so its content hash and the image carry the schema with the code
const SCHEMA_MODULE = "gs:schema";

/**
 * What a service folder holds: `service.ts` (a module the SDK runtime serves), or `process.ts` for a
 * process of its own that registers as a micro service itself (the gateway: `runGatewayProcess`).
 */
function serviceSource(servicesDir: string, service: string): { file: string; kind: "module" | "process" } {
  const mod = path.join(servicesDir, service, "service.ts");
  const own = path.join(servicesDir, service, "process.ts");
  return !existsSync(mod) && existsSync(own) ? { file: own, kind: "process" } : { file: mod, kind: "module" };
}

/** The per-service entry: the runtime serves the module; `--health` runs the health check; an orphan exits. */
function entrySource(servicesDir: string, service: string): string {
  const source = serviceSource(servicesDir, service);
  const mod = JSON.stringify(source.file);
  const runtime = JSON.stringify(path.join(servicesDir, "sdk", "runtime.ts"));
  const health = JSON.stringify(path.join(servicesDir, "sdk", "health.ts"));
  const imports =
    source.kind === "process"
      ? `import { runGatewayProcess } from ${mod};\nconst run = () => runGatewayProcess();`
      : `import mod from ${mod};\nimport schema from "${SCHEMA_MODULE}";\nimport { runServiceProcess } from ${runtime};\nconst run = () => runServiceProcess(mod, { schema });`;
  return `${imports}
import { checkHealth } from ${health};
if (process.argv.includes("--health")) {
  const r = await checkHealth();
  process.stdout.write((r.ok ? "healthy: " : "unhealthy: ") + r.reason + "\\n");
  process.exit(r.ok ? 0 : 1);
}
if (process.env.GS_SUPERVISED === "1") {
  // the supervisor went away without stopping us (killed): drain and exit instead of running forever
  const parent = process.ppid;
  setInterval(() => { if (process.ppid !== parent) process.kill(process.pid, "SIGTERM"); }, 1000).unref();
}
await run();
`;
}

// one compile of the proto tree per process while its files stay as they are (a build bundles many services)
let compiledTree: { stamp: string; tree: Promise<Uint8Array> } | undefined;

/** The FileDescriptorSet `service` serves, cut from one compile of `protoDir`; undefined without a package folder. */
async function serviceSchema(protoDir: string, service: string): Promise<Uint8Array | undefined> {
  const all = listProtoFiles(protoDir);
  const stamp = [protoDir, ...all.map((f) => `${f}:${fileHash(f)}`)].join("\0");
  if (compiledTree?.stamp !== stamp) {
    compiledTree = { stamp, tree: Promise.resolve().then(() => compileProtoTree(protoDir)) };
  }
  let tree: Uint8Array;
  try {
    tree = await compiledTree.tree;
  } catch (err) {
    compiledTree = undefined;
    throw new BuildError(`${service}: ${(err as Error).message.split("\n")[0]}`, {
      hint: "fix the .proto files (`buf build proto` shows every error), then run the command again",
      cause: err,
    });
  }
  return serviceDescriptorSet(tree, service);
}

function protoFiles(protoDir: string, service: string): string[] {
  return [path.join(protoDir, service.replace(/-/g, "_")), path.join(protoDir, "gs")].flatMap(listProtoFiles).sort();
}

export function contentHash(bundle: Uint8Array, protoDir: string, service: string, salt = ""): string {
  const h = createHash("sha256").update(bundle);
  for (const file of protoFiles(protoDir, service))
    h.update(path.relative(protoDir, file)).update("\0").update(readFileSync(file));
  if (salt) h.update("\0salt\0").update(salt);
  return h.digest("hex").slice(0, HASH_LENGTH);
}

function fleetVersion(servicesDir: string): string {
  try {
    const v = (JSON.parse(readFileSync(path.join(servicesDir, "package.json"), "utf8")) as { version?: string })
      .version;
    if (v && /^\d+\.\d+\.\d+/.test(v)) return v.replace(/[+].*$/, "");
  } catch {
    // a copy of services/ without package.json still builds
  }
  return "0.0.0";
}

// ---- input cache: an unchanged service is not bundled again (`gs deploy` with nothing changed stays fast) ----

interface BuildCache {
  key: string;
  inputs: string[];
  artifact: Artifact;
}

// memoized per file by size and mtime: one process may bundle, see a file edited, and bundle again
const fileHashes = new Map<string, { stamp: string; hash: string }>();
function fileHash(file: string): string | null {
  let stamp: string;
  try {
    const st = statSync(file);
    stamp = `${st.size}:${st.mtimeMs}`;
  } catch {
    return null;
  }
  const known = fileHashes.get(file);
  if (known?.stamp === stamp) return known.hash;
  try {
    const hash = createHash("sha256").update(readFileSync(file)).digest("hex");
    fileHashes.set(file, { stamp, hash });
    return hash;
  } catch {
    return null;
  }
}

/** A digest of everything the bundle was made from; undefined when an input is gone. */
function inputsKey(service: string, inputs: string[], opts: BundleOptions): string | undefined {
  let workDir: string;
  try {
    workDir = realpathSync(opts.servicesDir); // services/ re-pointed at another copy is another build
  } catch {
    return undefined;
  }
  const h = createHash("sha256")
    .update(entrySource(opts.servicesDir, service))
    .update("\0")
    .update(workDir)
    .update("\0")
    .update(opts.salt ?? "");
  for (const file of [...inputs, ...protoFiles(opts.protoDir, service)]) {
    const fh = fileHash(file);
    if (fh === null) return undefined;
    h.update(file).update("\0").update(fh);
  }
  return h.digest("hex");
}

function cachedArtifact(service: string, opts: BundleOptions): Artifact | undefined {
  let cache: BuildCache;
  try {
    cache = JSON.parse(readFileSync(path.join(opts.outDir, service, "cache.json"), "utf8")) as BuildCache;
  } catch {
    return undefined;
  }
  if (!existsSync(cache.artifact?.ref ?? "")) return undefined;
  return inputsKey(service, cache.inputs, opts) === cache.key ? cache.artifact : undefined;
}

/** Bundle one service; writes `<outDir>/<service>/<hash>.mjs` unless it is already there. */
export async function bundleService(service: string, opts: BundleOptions): Promise<Artifact> {
  const cached = cachedArtifact(service, opts);
  if (cached) return cached;
  const { file } = serviceSource(opts.servicesDir, service);
  if (!existsSync(file)) {
    throw new BuildError(`${service}: ${path.relative(process.cwd(), file) || file} not found`, {
      hint: `add the service's code, or remove ${service} from gs.yaml`,
    });
  }
  const schema = await serviceSchema(opts.protoDir, service);
  const esbuild = (await import(ESBUILD)) as Esbuild;
  let result;
  try {
    result = await esbuild.build({
      absWorkingDir: realpathSync(opts.servicesDir),
      metafile: true,
      stdin: {
        contents: entrySource(opts.servicesDir, service),
        resolveDir: opts.servicesDir,
        loader: "ts",
        sourcefile: `${service}-entry.ts`,
      },
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      packages: "bundle",
      write: false,
      outfile: path.join(opts.outDir, service, "bundle.mjs"),
      banner: { js: BANNER },
      plugins: [schemaPlugin(schema)],
      nodePaths: [...(opts.nodePaths ?? []), ...gsNodeModules()],
      logLevel: "silent",
      legalComments: "none",
    });
  } catch (err) {
    const first = (err as { errors?: { text: string; location?: { file: string; line: number } | null }[] })
      .errors?.[0];
    const where = first?.location ? `${first.location.file}:${first.location.line}: ` : "";
    throw new BuildError(`${service} does not build: ${where}${first?.text ?? (err as Error).message}`, {
      hint: `fix the error, then run the command again`,
      cause: err,
    });
  }
  const bytes = result.outputFiles[0]!.contents;
  const hash = contentHash(bytes, opts.protoDir, service, opts.salt);
  const dir = path.join(opts.outDir, service);
  const out = path.join(dir, `${hash}.mjs`);
  if (!existsSync(out)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${out}.${process.pid}.tmp`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, out);
  }
  const artifact = { version: `${fleetVersion(opts.servicesDir)}+${hash}`, hash, ref: out };
  const workDir = realpathSync(opts.servicesDir);
  const inputs = Object.keys(result.metafile?.inputs ?? {})
    // the generated entry (metafile names it `<service>-entry.ts`, relative) is hashed as text; the
    // schema module is made from the .proto files, which the key covers
    .filter((f) => !f.startsWith("<") && !f.startsWith(SCHEMA_MODULE) && path.basename(f) !== `${service}-entry.ts`)
    .map((f) => path.resolve(workDir, f.replace(/^[a-z-]+:/, "")));
  const key = inputsKey(service, inputs, opts);
  if (key) writeFileSync(path.join(dir, "cache.json"), JSON.stringify({ key, inputs, artifact } satisfies BuildCache));
  return artifact;
}

/** Resolves the entry's `gs:schema` import to the descriptor set's bytes (or undefined: no reflection). */
function schemaPlugin(schema: Uint8Array | undefined): EsbuildPlugin {
  const [namespace, name] = SCHEMA_MODULE.split(":") as [string, string];
  return {
    name: "gs-schema",
    setup(b) {
      b.onResolve({ filter: new RegExp(`^${SCHEMA_MODULE}$`) }, () => ({ path: name, namespace }));
      b.onLoad({ filter: /.*/, namespace }, () =>
        schema ? { contents: schema, loader: "binary" } : { contents: "export default undefined;", loader: "js" },
      );
    },
  };
}

/** Builds for the local platform; each service is bundled at most once per builder. */
export class LocalBuilder implements ArtifactBuilder {
  private readonly built = new Map<string, Promise<Artifact>>();
  constructor(private readonly opts: BundleOptions) {}

  build(service: string): Promise<Artifact> {
    let p = this.built.get(service);
    if (!p) {
      p = bundleService(service, this.opts);
      this.built.set(service, p);
    }
    return p;
  }
}
