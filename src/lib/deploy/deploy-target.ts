// The adapters one deploy needs for its target, made in one place: the platform (local or ecs), the
// artifact builder (local bundles, or images pushed to the target's registry) and the NATS verifier.
import path from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import { LocalBuilder } from "../build/bundle.js";
import { selectEngine, type EngineName, type ImageEngine } from "../build/image-engine.js";
import { imageProject } from "../build/image-project.js";
import { UsageError } from "../output/errors.js";
import { openPlatform, type PlatformContext } from "../platform/open-platform.js";
import type { ArtifactBuilder, Platform } from "../platform/platform.js";
import type { PushedImage, PushProgress } from "../registry/push.js";
import type { Verifier } from "./deploy.js";
import { natsVerifierOf } from "./nats-verifier.js";
import { planDeploy, type DeployPlan } from "./plan.js";

export interface DeployTargetOptions {
  cwd: string;
  /** asked for on the command line (validated against gs.yaml); empty: all */
  services: string[];
  /** ecs: roll failed deployments back (default true) */
  rollback: boolean;
  engine?: EngineName;
  baseImage?: string;
  createRepos: boolean;
  /** a dry run: no NATS connection, no engine */
  dryRun: boolean;
  onImage?: (p: PushProgress) => void;
  env?: NodeJS.ProcessEnv;
}

export interface DeployTarget {
  platform: Platform;
  builder: ArtifactBuilder;
  verifier?: Verifier;
  /** the services to deploy (empty: all the platform runs) */
  services: string[];
  /** how often the orchestrator asks the platform: ECS has rate limits, the local supervisor has none */
  pollMs: number;
  /** the project's proto/ (what the new builds serve; the contract gate checks it) */
  protoDir: string;
  /** the fleet's NATS (ecs: connected on first call): where `--canary` reads $SRV.STATS */
  nats(): Promise<NatsConnection>;
  /** ecs: the images of this run, with their digests */
  images(): PushedImage[];
  close(): Promise<void>;
}

export async function openDeployTarget(ctx: PlatformContext, opts: DeployTargetOptions): Promise<DeployTarget> {
  if (ctx.target.platform === "local") {
    if (!opts.rollback)
      throw new UsageError(
        "--no-rollback applies to ecs targets",
        "the local platform always keeps the old instances serving until the new ones answer",
      );
    // a deploy outlives a NATS node that dies under it: its connection moves to another node
    const opened = await openPlatform(ctx, { reconnect: !opts.dryRun });
    const builder = new LocalBuilder({
      servicesDir: path.join(ctx.root, "services"),
      protoDir: path.join(ctx.root, "proto"),
      outDir: ctx.paths.builds,
      salt: (opts.env ?? process.env).GS_BUILD_SALT,
    });
    return {
      platform: opened.platform,
      builder,
      verifier: opts.dryRun ? undefined : natsVerifierOf(opened),
      services: opts.services,
      pollMs: 250,
      protoDir: path.join(ctx.root, "proto"),
      nats: opened.nats,
      images: () => [],
      close: opened.close,
    };
  }
  const target = ctx.target;
  const project = imageProject({
    cwd: opts.cwd,
    cfg: ctx.cfg,
    services: opts.services,
    baseImage: opts.baseImage,
    env: opts.env,
  });
  const [{ openRegistry }, { RegistryArtifactBuilder }] = await Promise.all([
    import("../registry/open-registry.js"),
    import("../registry/push.js"),
  ]);
  const opened = await openPlatform(ctx, { rollback: opts.rollback });
  // probed only when an image must be built: a deploy with nothing changed never waits on `docker info`
  let engine: Promise<ImageEngine> | undefined;
  const builder = new RegistryArtifactBuilder({
    ...project.image,
    registry: target.registry,
    target: await openRegistry(target.registry, {
      region: target.region,
      profile: target.profile,
      target: ctx.targetName,
    }),
    engine: () => (engine ??= selectEngine(opts.engine)),
    createRepos: opts.createRepos,
    onProgress: opts.onImage,
  });
  return {
    platform: opened.platform,
    builder,
    verifier: opts.dryRun ? undefined : natsVerifierOf(opened),
    services: project.services,
    pollMs: 3000,
    protoDir: path.join(ctx.root, "proto"),
    nats: opened.nats,
    // by service, as the --json document lists services: pushes finish in any order
    images: () =>
      [...builder.images.values()].sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0)),
    close: opened.close,
  };
}

/** The dry run of `gs deploy` (and `gs diff`) against a target: reads only, nothing built or pushed. */
export async function planForTarget(
  ctx: PlatformContext,
  opts: Omit<DeployTargetOptions, "dryRun" | "rollback" | "onImage">,
): Promise<DeployPlan> {
  const t = await openDeployTarget(ctx, { ...opts, rollback: true, dryRun: true });
  try {
    return await planDeploy({ platform: t.platform, builder: t.builder, services: t.services });
  } finally {
    await t.close();
  }
}
