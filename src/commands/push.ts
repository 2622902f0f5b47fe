import { BaseCommand } from "../base-command.js";
import { imageFlags, registryFlags, servicesArgs, targetFlags } from "../flags.js";
import { selectEngine } from "../lib/build/image-engine.js";
import { imageProject } from "../lib/build/image-project.js";
import { resolveTarget } from "../lib/config/load.js";
import { EXIT, UsageError } from "../lib/output/errors.js";
import { openRegistry } from "../lib/registry/open-registry.js";
import { pushImages } from "../lib/registry/push.js";

export interface PushJson {
  target: string;
  registry: string;
  images: {
    service: string;
    ok: boolean;
    repository?: string;
    tag?: string;
    version?: string;
    digest?: string;
    /** digest-pinned: what a task definition runs */
    uri?: string;
    /** false: the registry already had this tag */
    pushed?: boolean;
    built?: boolean;
    createdRepository?: boolean;
    error?: string;
  }[];
}

export default class Push extends BaseCommand {
  static override summary = "Push service images to the target's registry (ECR), skipping tags already there.";
  static override description =
    "Builds what is missing, logs in to ECR (the token is never printed), skips images whose tag the repository already holds, pushes the rest and records each digest.";
  static override examples = [
    "<%= config.bin %> push --target prod",
    "<%= config.bin %> push auth --target prod --create-repos",
    "<%= config.bin %> push --target prod --json",
  ];
  static override strict = false;
  static override args = servicesArgs;
  static override flags = { ...targetFlags, ...imageFlags, ...registryFlags };

  async run(): Promise<PushJson> {
    const { argv, flags } = await this.parse(Push);
    const project = imageProject({
      cwd: process.cwd(),
      config: flags.config,
      services: argv as string[],
      baseImage: flags["base-image"],
    });
    const { name, target } = resolveTarget(project.cfg, flags.target);
    if (target.platform !== "ecs")
      throw new UsageError(
        `target "${name}" has no registry (it runs on ${target.platform})`,
        "pick an ecs target with --target",
      );
    const registry = await openRegistry(target.registry, {
      region: target.region,
      profile: target.profile,
      target: name,
    });
    const engine = await selectEngine(flags.engine);
    const json = this.jsonEnabled();
    const results = await pushImages(project.services, {
      ...project.image,
      registry: target.registry,
      target: registry,
      engine,
      createRepos: flags["create-repos"],
      onProgress: (p) => {
        if (!json && p.stage !== "checking" && p.stage !== "failed")
          this.note(`${p.service}: ${p.stage}${p.detail ? ` ${p.detail}` : ""}`);
      },
    });
    for (const r of results)
      if (!r.ok)
        this.note(
          `${this.color("red", "error:")} ${r.service}: ${r.error.message}${"hint" in r.error && r.error.hint ? ` — ${String(r.error.hint)}` : ""}`,
        );
    const pushed = results.filter((r) => r.ok && r.image.pushed).length;
    const present = results.filter((r) => r.ok && !r.image.pushed).length;
    this.out(`${pushed} pushed, ${present} already in ${target.registry}, ${results.length - pushed - present} failed`);
    if (pushed + present < results.length) this.setExit(EXIT.failed);
    return {
      target: name,
      registry: target.registry,
      images: results.map((r) =>
        r.ok ? { ok: true, ...r.image } : { service: r.service, ok: false, error: r.error.message },
      ),
    };
  }
}
