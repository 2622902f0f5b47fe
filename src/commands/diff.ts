import { BaseCommand } from "../base-command.js";
import { imageFlags, registryFlags, servicesArgs, targetFlags } from "../flags.js";
import { checkConfigServices } from "../lib/config/service-names.js";
import { planForTarget } from "../lib/deploy/deploy-target.js";
import type { DeployPlan } from "../lib/deploy/plan.js";
import { planLines } from "../lib/deploy/plan-text.js";
import { EXIT } from "../lib/output/errors.js";
import { platformContext } from "../lib/platform/open-platform.js";

/** the same document as `gs deploy --dry-run --json` */
export type DiffJson = DeployPlan;

export default class Diff extends BaseCommand {
  static override summary =
    "Show what `gs deploy` would change: services and why, images to push, task-definition diffs, the exact API calls.";
  static override description =
    "The same plan as `gs deploy --dry-run`. Makes only reads (ecs: DescribeServices, DescribeTaskDefinition, DescribeImages); builds nothing but the local bundles the image tags are hashed from.";
  static override examples = [
    `<%= config.bin %> diff --target prod`,
    `<%= config.bin %> diff auth payment --target prod --json`,
  ];
  static override strict = false;
  static override args = servicesArgs;
  // the plan of `gs deploy`: it builds no image (so no --engine) and creates no repository, it plans as if
  static override flags = { ...targetFlags, "base-image": imageFlags["base-image"], ...registryFlags };

  async run(): Promise<DiffJson> {
    const { argv, flags } = await this.parse(Diff);
    const services = (argv as string[]).filter(Boolean);
    const ctx = platformContext({ cwd: process.cwd(), config: flags.config, target: flags.target });
    checkConfigServices(services, ctx.cfg);
    const plan = await planForTarget(ctx, {
      cwd: process.cwd(),
      services,
      baseImage: flags["base-image"],
      createRepos: flags["create-repos"],
    });
    this.out(planLines(plan).join("\n"));
    if (plan.summary.failed) this.setExit(EXIT.failed);
    return plan;
  }
}
