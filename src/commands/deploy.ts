import { Flags } from "@oclif/core";
import { BaseCommand } from "../base-command.js";
import { durationFlag, imageFlags, registryFlags, servicesArgs, targetFlags } from "../flags.js";
import { checkConfigServices } from "../lib/config/service-names.js";
import { deploy, deployExitCode, type DeployResult } from "../lib/deploy/deploy.js";
import { openDeployTarget, planForTarget } from "../lib/deploy/deploy-target.js";
import type { DeployPlan } from "../lib/deploy/plan.js";
import { planLines } from "../lib/deploy/plan-text.js";
import { canPrompt, confirm } from "../lib/output/confirm.js";
import { EXIT, GsError, UsageError } from "../lib/output/errors.js";
import { renderTable } from "../lib/output/format.js";
import { platformContext, type PlatformContext } from "../lib/platform/open-platform.js";
import { catchInterrupts } from "../lib/process/interrupt.js";
import type { PushedImage } from "../lib/registry/push.js";
import { deployReporter } from "../lib/ui/deploy-live.js";
import { liveOutput } from "../lib/ui/live-output.js";

/** `--json` of a deploy: the result per service, and (ecs) each image with its digest. */
export type DeployJson = DeployResult & { platform: "local" | "ecs"; images?: PushedImage[] };
/** `--json` of `--dry-run` */
export type DeployPlanJson = DeployPlan;

export default class Deploy extends BaseCommand {
  static override summary =
    "Roll out the services whose build changed: new instances first, old ones drained once the new ones answer.";
  static override description =
    "Builds every service (or SERVICES), skips those whose content hash equals the running version, and rolls the others out in parallel. " +
    "On ecs targets images are pushed to the target's registry and each service gets a new task-definition revision pinned by digest. " +
    "A rollout succeeds only when the platform completed it and the new version answers over NATS; otherwise it is rolled back. " +
    "Exit 3 when a service was rolled back, 4 when one timed out. " +
    "The first Ctrl-C (or SIGTERM) begins no further rollout: those under way finish, the others are reported not_started (exit 1); a second one exits at once.";
  static override examples = [
    `<%= config.bin %> deploy`,
    `<%= config.bin %> deploy --target prod --dry-run`,
    `<%= config.bin %> deploy --target prod --yes --json`,
    `<%= config.bin %> deploy auth settings --concurrency 8 --timeout 5m`,
  ];
  static override strict = false;
  static override args = servicesArgs;
  static override flags = {
    ...targetFlags,
    concurrency: Flags.integer({ description: "Services rolled out at once.", default: 6, min: 1, max: 64 }),
    timeout: durationFlag({
      description: "How long new instances of one service may take to become healthy (default: 1m local, 10m ecs).",
    }),
    "dry-run": Flags.boolean({ description: "Show what would change and the exact API calls, making none." }),
    yes: Flags.boolean({
      char: "y",
      description: "Deploy to a `confirm: true` target without asking (required without a terminal).",
    }),
    rollback: Flags.boolean({
      description: "Roll a failed service back to its previous revision (ecs; --no-rollback leaves it as it failed).",
      default: true,
      allowNo: true,
    }),
    // images are built (and repositories created) for ecs targets only
    ...imageFlags,
    ...registryFlags,
    "poll-interval": durationFlag({
      description: "How often to ask the platform (default: 3s ecs, 250ms local).",
      hidden: true,
    }),
  };

  async run(): Promise<DeployJson | DeployPlanJson> {
    const { argv, flags } = await this.parse(Deploy);
    const services = (argv as string[]).filter(Boolean);
    const ctx = platformContext({ cwd: process.cwd(), config: flags.config, target: flags.target });
    checkConfigServices(services, ctx.cfg);
    const common = {
      cwd: process.cwd(),
      services,
      engine: flags.engine,
      baseImage: flags["base-image"],
      createRepos: flags["create-repos"],
    };
    if (flags["dry-run"]) {
      const plan = await planForTarget(ctx, common);
      this.out(planLines(plan).join("\n"));
      if (plan.summary.failed) this.setExit(EXIT.failed);
      return plan;
    }
    if (ctx.target.confirm && !flags.yes) await this.confirmTarget(ctx);

    // the first Ctrl-C or SIGTERM begins no further rollout (those under way finish, then the report); a second exits at once
    const interrupt = catchInterrupts();
    let result: DeployResult;
    let t: Awaited<ReturnType<typeof openDeployTarget>>;
    try {
      t = await openDeployTarget(ctx, {
        ...common,
        rollback: flags.rollback,
        dryRun: false,
        onImage: (p) => reporter.image(p),
      });
      // lines in CI, without a terminal and under --json; the live view on a terminal (nothing else prints while it is up)
      const reporter = deployReporter(liveOutput({ json: this.jsonEnabled() }), {
        target: ctx.targetName,
        platform: ctx.target.platform,
        services: services.length ? services : Object.keys(ctx.cfg.services),
        concurrency: flags.concurrency,
        github: process.env.GITHUB_ACTIONS === "true",
        write: (l) => this.note(l),
      });
      try {
        result = await deploy({
          platform: t.platform,
          builder: t.builder,
          verifier: t.verifier,
          services: t.services,
          concurrency: flags.concurrency,
          timeoutMs: flags.timeout ?? (ctx.target.platform === "ecs" ? 600_000 : 60_000),
          pollMs: flags["poll-interval"] ?? t.pollMs,
          rollback: flags.rollback,
          onProgress: (p) => reporter.progress(p),
          signal: interrupt.signal,
        });
        await reporter.summary(result);
      } finally {
        // on an error too, the live view comes down (its last frame stays) before anything else prints
        await reporter.close().finally(() => t.close());
      }
    } finally {
      interrupt.release();
    }
    if (interrupt.received) {
      const skipped = result.services.filter((s) => s.action === "not_started").length;
      const key = interrupt.received === "SIGINT" ? "Ctrl-C" : interrupt.received;
      this.note(
        this.color("yellow", `stopped early (${key}): the rollouts under way finished; ${skipped} not started`),
      );
    }
    this.setExit(deployExitCode(result));
    this.out(
      renderTable(
        ["SERVICE", "ACTION", "FROM", "TO", "SECONDS"],
        result.services.map((s) => [s.name, s.action, s.from ?? "-", s.to ?? "-", s.seconds]),
      ),
    );
    const images = t.images();
    return { ...result, platform: ctx.target.platform, ...(images.length ? { images } : {}) };
  }

  /** `confirm: true` targets: a y/N question on a terminal; without one, --yes is required. */
  private async confirmTarget(ctx: PlatformContext): Promise<void> {
    const where = ctx.target.platform === "ecs" ? `${ctx.target.cluster} in ${ctx.target.region}` : "the local fleet";
    if (!canPrompt()) {
      throw new UsageError(
        `target "${ctx.targetName}" asks for confirmation (confirm: true in gs.yaml) and there is no terminal to ask on`,
        "pass --yes to deploy",
        "confirmation_required",
      );
    }
    if (!(await confirm(`Deploy to ${ctx.targetName} (${where})?`)))
      throw new GsError("deploy cancelled: nothing was changed", { code: "cancelled" });
  }
}
