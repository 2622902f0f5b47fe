// Service images: the esbuild bundle, the proto contracts and the repo's one Dockerfile, built by an
// ImageEngine. The tag is a content hash over everything that goes into the image, so an unchanged
// service is never rebuilt, re-pushed or redeployed.
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { bundleService, type BundleOptions } from "./bundle.js";
import type { ImageEngine } from "./image-engine.js";
import { pool } from "./limit.js";
import { OperationError } from "../output/errors.js";

export const DEFAULT_BASE_IMAGE = "node:20-slim";
/** where built images live in the engine's local storage before they are pushed */
export const LOCAL_REPOSITORY = "localhost/gs";
const TAG_LENGTH = 12;

export interface ImageOptions {
  /** the project: `<root>/Dockerfile` unless `dockerfile` says otherwise */
  root: string;
  bundle: BundleOptions;
  baseImage: string;
  dockerfile?: string;
  /** mixed into every tag (GS_BUILD_SALT) */
  salt?: string;
}

/** What an image will be, known before (and without) building it. */
export interface ImagePlan {
  service: string;
  /** content hash, also the image tag */
  tag: string;
  /** what the service reports over NATS: `<fleet version>+<tag>` */
  version: string;
  /** the bundle file */
  bundle: string;
  /** `localhost/gs/<service>:<tag>` */
  localRef: string;
  baseImage: string;
  /** short digests of each hash input (see imageInputDigests): what a plan compares to say why a tag changed */
  inputs?: Record<string, string>;
}

export interface BuiltImage extends ImagePlan {
  /** false: the engine already had this tag, nothing was built */
  built: boolean;
  seconds: number;
}

function dockerfileOf(opts: ImageOptions): string {
  return opts.dockerfile ?? path.join(opts.root, "Dockerfile");
}

function protoFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = path.join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith(".proto")) out.push(full);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out.sort();
}

/**
 * The fleet's runtime dependencies as `name@version`, from services/package.json and the lockfile.
 * The bundle already contains their code; naming them makes a dependency bump visible in the tag
 * even where tree-shaking leaves the bundle byte-identical.
 */
export function runtimeDependencies(root: string, servicesDir: string): string[] {
  const read = (file: string): Record<string, unknown> => {
    try {
      return JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    } catch {
      return {};
    }
  };
  const deps = Object.keys(
    (read(path.join(servicesDir, "package.json")).dependencies as Record<string, string> | undefined) ?? {},
  );
  const lock =
    (read(path.join(root, "package-lock.json")).packages as Record<string, { version?: string }> | undefined) ?? {};
  return deps
    .map((d) => `${d}@${lock[`node_modules/${d}`]?.version ?? lock[`services/node_modules/${d}`]?.version ?? "?"}`)
    .sort();
}

export interface ImageHashInputs {
  service: string;
  bundle: Uint8Array;
  dockerfile: Uint8Array;
  baseImage: string;
  runtimeDeps: string[];
  /** [path relative to proto/, contents] */
  protos: [string, Uint8Array][];
  salt?: string;
}

/** 12 hex over everything that ends up in the image. */
export function imageHash(i: ImageHashInputs): string {
  const h = createHash("sha256").update("gs-image/1\0").update(i.service).update("\0");
  const part = (label: string, data: string | Uint8Array) => h.update(`${label}\0${data.length}\0`).update(data);
  part("bundle", i.bundle);
  part("dockerfile", i.dockerfile);
  part("base", i.baseImage);
  part("deps", i.runtimeDeps.join("\n"));
  for (const [name, data] of i.protos) part(`proto:${name}`, data);
  if (i.salt) part("salt", i.salt);
  return h.digest("hex").slice(0, TAG_LENGTH);
}

const short = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex").slice(0, 8);

/** 8 hex per input of the tag, so two tags can be compared input by input (`bundle`, `dockerfile`, `base`, `deps`, `proto`, `salt`). */
function imageInputDigests(i: ImageHashInputs): Record<string, string> {
  const proto = createHash("sha256");
  for (const [name, data] of i.protos) proto.update(`${name}\0${data.length}\0`).update(data);
  return {
    bundle: short(i.bundle),
    dockerfile: short(i.dockerfile),
    base: short(i.baseImage),
    deps: short(i.runtimeDeps.join("\n")),
    proto: proto.digest("hex").slice(0, 8),
    ...(i.salt ? { salt: short(i.salt) } : {}),
  };
}

/** Bundle the service and work out its image tag; builds nothing. */
export async function planImage(service: string, opts: ImageOptions): Promise<ImagePlan> {
  const dockerfile = dockerfileOf(opts);
  if (!existsSync(dockerfile)) {
    throw new OperationError(`${path.relative(process.cwd(), dockerfile) || dockerfile} not found`, {
      hint: "run gs from the project (the folder of gs.yaml), which holds the Dockerfile",
    });
  }
  const artifact = await bundleService(service, opts.bundle);
  const inputs: ImageHashInputs = {
    service,
    bundle: readFileSync(artifact.ref),
    dockerfile: readFileSync(dockerfile),
    baseImage: opts.baseImage,
    runtimeDeps: runtimeDependencies(opts.root, opts.bundle.servicesDir),
    protos: protoFiles(opts.bundle.protoDir).map((f) => [path.relative(opts.bundle.protoDir, f), readFileSync(f)]),
    salt: opts.salt,
  };
  const tag = imageHash(inputs);
  const fleetVersion = artifact.version.split("+")[0]!;
  return {
    service,
    tag,
    version: `${fleetVersion}+${tag}`,
    bundle: artifact.ref,
    localRef: `${LOCAL_REPOSITORY}/${service}:${tag}`,
    baseImage: opts.baseImage,
    inputs: imageInputDigests(inputs),
  };
}

/** Build the planned image unless the engine already holds its tag. */
export async function buildImage(plan: ImagePlan, engine: ImageEngine, opts: ImageOptions): Promise<BuiltImage> {
  const t0 = Date.now();
  if (await engine.exists(plan.localRef)) return { ...plan, built: false, seconds: 0 };
  // a small staged context: the engine gets three things, not the whole repository
  const context = mkdtempSync(path.join(os.tmpdir(), `gs-ctx-${plan.service}-`));
  try {
    cpSync(plan.bundle, path.join(context, "service.mjs"));
    // exactly the .proto files the tag was hashed over (symlinks followed)
    for (const file of protoFiles(opts.bundle.protoDir)) {
      const to = path.join(context, "proto", path.relative(opts.bundle.protoDir, file));
      mkdirSync(path.dirname(to), { recursive: true });
      cpSync(file, to, { dereference: true });
    }
    cpSync(dockerfileOf(opts), path.join(context, "Dockerfile"));
    await engine.build({
      context,
      dockerfile: path.join(context, "Dockerfile"),
      tag: plan.localRef,
      buildArgs: { BASE_IMAGE: plan.baseImage, SERVICE: plan.service, VERSION: plan.version },
    });
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
  return { ...plan, built: true, seconds: Math.round((Date.now() - t0) / 100) / 10 };
}

export type ImageResult =
  { service: string; ok: true; image: BuiltImage } | { service: string; ok: false; error: Error };

export type ImageProgress = {
  service: string;
  stage: "bundling" | "building" | "built" | "cached" | "failed";
  detail?: string;
};

/** Plan and build every service, `concurrency` at a time (default: the machine's cores). One failure does not stop the others. */
export async function buildImages(
  services: string[],
  engine: ImageEngine,
  opts: ImageOptions & { concurrency?: number; onProgress?: (p: ImageProgress) => void },
): Promise<ImageResult[]> {
  const progress = opts.onProgress ?? (() => undefined);
  const results = new Map<string, ImageResult>();
  await pool(services, opts.concurrency ?? os.availableParallelism(), async (service) => {
    try {
      progress({ service, stage: "bundling" });
      const plan = await planImage(service, opts);
      progress({ service, stage: "building", detail: plan.localRef });
      const image = await buildImage(plan, engine, opts);
      progress({ service, stage: image.built ? "built" : "cached", detail: plan.localRef });
      results.set(service, { service, ok: true, image });
    } catch (err) {
      progress({ service, stage: "failed", detail: (err as Error).message });
      results.set(service, { service, ok: false, error: err as Error });
    }
  });
  return services.map((s) => results.get(s)!);
}
