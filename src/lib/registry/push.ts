// Push service images: skip tags the registry already holds, build what the engine lacks, push, and
// record each image's digest. Also the ArtifactBuilder the ecs platform deploys from.
import os from "node:os";
import type { Artifact, ArtifactBuilder, ArtifactPlan, PlannedCall } from "../platform/platform.js";
import { buildImage, planImage, type ImageOptions, type ImagePlan } from "../build/image.js";
import { limiter, pool } from "../build/limit.js";
import type { ImageEngine } from "../build/image-engine.js";
import {
  ECR_REPOSITORY_SETTINGS,
  pinnedUri,
  repositoryOf,
  RepositoryMissingError,
  type ImageRegistry,
} from "./registry.js";

export interface PushOptions extends ImageOptions {
  /** gs.yaml's `registry` (host[/prefix]) */
  registry: string;
  target: ImageRegistry;
  /** or a factory, called only when something must be built or pushed (`gs deploy` with nothing changed never probes for docker/buildah) */
  engine: ImageEngine | (() => Promise<ImageEngine>);
  createRepos: boolean;
  concurrency?: number;
  onProgress?: (p: PushProgress) => void;
}

export type PushProgress = {
  service: string;
  stage: "checking" | "building" | "pushing" | "pushed" | "present" | "failed";
  detail?: string;
};

export interface PushedImage {
  service: string;
  tag: string;
  version: string;
  repository: string;
  digest: string;
  /** the digest-pinned reference a task definition uses */
  uri: string;
  /** false: the registry already had this tag */
  pushed: boolean;
  /** the image was built for this push */
  built: boolean;
  /** the repository was created for this push */
  createdRepository: boolean;
}

export type PushResult =
  { service: string; ok: true; image: PushedImage } | { service: string; ok: false; error: Error };

/** The digest of `repository:tag` in the registry (undefined: not there); a missing repository is an error unless --create-repos would create it. */
async function lookUp(
  opts: PushOptions,
  repository: string,
  tag: string,
): Promise<{ digest?: string; missingRepository: boolean }> {
  try {
    return { digest: await opts.target.find(repository, tag), missingRepository: false };
  } catch (err) {
    if (!(err instanceof RepositoryMissingError) || !opts.createRepos) throw err;
    return { missingRepository: true };
  }
}

/** Push one planned image unless the registry already holds its tag. */
export async function pushPlanned(plan: ImagePlan, opts: PushOptions): Promise<PushedImage> {
  const progress = opts.onProgress ?? (() => undefined);
  const { host, repository } = repositoryOf(opts.registry, plan.service);
  const base = { service: plan.service, tag: plan.tag, version: plan.version, repository };
  progress({ service: plan.service, stage: "checking", detail: `${host}/${repository}:${plan.tag}` });
  const { digest: existing, missingRepository } = await lookUp(opts, repository, plan.tag);
  if (missingRepository) await opts.target.createRepository(repository);
  if (existing) {
    progress({ service: plan.service, stage: "present", detail: existing });
    return {
      ...base,
      digest: existing,
      uri: pinnedUri(host, repository, existing),
      pushed: false,
      built: false,
      createdRepository: missingRepository,
    };
  }
  const engine = typeof opts.engine === "function" ? await opts.engine() : opts.engine;
  progress({ service: plan.service, stage: "building", detail: plan.localRef });
  const image = await buildImage(plan, engine, opts);
  progress({ service: plan.service, stage: "pushing", detail: `${host}/${repository}:${plan.tag}` });
  const { digest } = await engine.push(plan.localRef, {
    remote: `${host}/${repository}:${plan.tag}`,
    auth: await opts.target.auth(),
    tlsVerify: opts.target.tlsVerify,
  });
  progress({ service: plan.service, stage: "pushed", detail: digest });
  return {
    ...base,
    digest,
    uri: pinnedUri(host, repository, digest),
    pushed: true,
    built: image.built,
    createdRepository: missingRepository,
  };
}

/** Plan, build when needed, and push every service, `concurrency` at a time; one failure does not stop the others. */
export async function pushImages(services: string[], opts: PushOptions): Promise<PushResult[]> {
  const results = new Map<string, PushResult>();
  await pool(services, opts.concurrency ?? os.availableParallelism(), async (service) => {
    try {
      const plan = await planImage(service, opts);
      results.set(service, { service, ok: true, image: await pushPlanned(plan, opts) });
    } catch (err) {
      opts.onProgress?.({ service, stage: "failed", detail: (err as Error).message });
      results.set(service, { service, ok: false, error: err as Error });
    }
  });
  return services.map((s) => results.get(s)!);
}

/**
 * Artifacts for the ecs platform: the image pinned by digest. An image whose tag the registry already
 * holds is neither built nor pushed, so `gs deploy` with nothing changed makes only reads.
 */
export class RegistryArtifactBuilder implements ArtifactBuilder {
  private readonly done = new Map<string, Promise<Artifact>>();
  readonly images = new Map<string, PushedImage>();
  private readonly gate: <T>(fn: () => Promise<T>) => Promise<T>;
  constructor(private readonly opts: PushOptions) {
    // the orchestrator asks for every service at once; builds still run one per core
    this.gate = limiter(opts.concurrency ?? os.availableParallelism());
  }

  build(service: string): Promise<Artifact> {
    let p = this.done.get(service);
    if (!p) {
      p = this.gate(() =>
        planImage(service, this.opts).then(async (plan) => [plan, await pushPlanned(plan, this.opts)] as const),
      ).then(([plan, img]) => {
        this.images.set(service, img);
        return { version: img.version, hash: img.tag, ref: img.uri, ...(plan.inputs ? { inputs: plan.inputs } : {}) };
      });
      this.done.set(service, p);
    }
    return p;
  }

  /** Dry run: the image's tag and whether the registry holds it (DescribeImages); nothing is built, created or pushed. */
  async plan(service: string): Promise<ArtifactPlan> {
    const plan = await this.gate(() => planImage(service, this.opts));
    const { host, repository } = repositoryOf(this.opts.registry, service);
    const { digest, missingRepository } = await lookUp(this.opts, repository, plan.tag);
    const artifact: Artifact = {
      version: plan.version,
      hash: plan.tag,
      ref: digest ? pinnedUri(host, repository, digest) : `${host}/${repository}:${plan.tag}`,
      ...(plan.inputs ? { inputs: plan.inputs } : {}),
    };
    const image = { repository, tag: plan.tag, digest: digest ?? null, createRepository: missingRepository };
    if (digest) return { artifact, present: true, image, calls: [] };
    const calls: PlannedCall[] = [];
    if (missingRepository) {
      calls.push({ api: "ecr:CreateRepository", input: { repositoryName: repository, ...ECR_REPOSITORY_SETTINGS } });
    }
    calls.push({
      api: "registry:push",
      input: {
        source: plan.localRef,
        destination: `${host}/${repository}:${plan.tag}`,
        auth: this.opts.target.kind === "ecr" ? "ecr:GetAuthorizationToken" : "none",
      },
    });
    return { artifact, present: false, image, calls };
  }
}
