import { Flags } from "@oclif/core";
import { BaseCommand, type CommandFlags } from "../base-command.js";
import {
  canaryArgv,
  canaryFlags,
  durationFlag,
  imageFlags,
  registryFlags,
  servicesArgs,
  targetFlags,
} from "../flags.js";
import { canaryDeploy, canaryExitCode, type CanaryResult } from "../lib/canary/canary-deploy.js";
import { resolveCanaryCount, resolveCanarySettings } from "../lib/canary/canary-options.js";
import { canaryReporter } from "../lib/ui/canary-live.js";
import { checkConfigServices } from "../lib/config/service-names.js";
import { contractGate } from "../lib/contracts/deploy-gate.js";
import { deploy, deployExitCode, type DeployGate, type DeployResult } from "../lib/deploy/deploy.js";
import {
  openDeployTarget,
  planForTarget,
  type DeployTarget,
  type DeployTargetOptions,
} from "../lib/deploy/deploy-target.js";
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
/** `--json` of `--canary`: each service's canary (figures, verdict, reason) and its promotion */
export type CanaryDeployJson = CanaryResult & { platform: "local" | "ecs"; canary: true };

export default class Deploy extends BaseCommand {
  static override summary =
    "Roll out the services whose build changed: new instances first, old ones drained once the new ones answer.";
  static override description =
    "Builds every service (or SERVICES), skips those whose content hash equals the running version, and rolls the others out in parallel. " +
    "On ecs targets images are pushed to the target's registry and each service gets a new task-definition revision pinned by digest. " +
    "A rollout succeeds only when the platform completed it and the new version answers over NATS; otherwise it is rolled back. " +
    "Exit 3 when a service was rolled back, 4 when one timed out. " +
    "Before any rollout, each changed service's .proto files are checked against the descriptors its running instances serve (as `gs proto check` does): a breaking change refuses the deploy, nothing rolled out (exit 2), unless --allow-breaking. " +
    "The first Ctrl-C (or SIGTERM) begins no further rollout: those under way finish, the others are reported not_started (exit 1); a second one exits at once. " +
    "With --canary N (or P%), each changed service first runs N instances of the new version beside its own, in the same queue group, judged by their $SRV.STATS against the old ones over --analysis: " +
    "promoted by the rolling deploy, or aborted (exit 3) with the service unchanged; limits default to the service's `canary:` in gs.yaml (docs/canary.md).";
  static override examples = [
    `<%= config.bin %> deploy`,
    `<%= config.bin %> deploy --target prod --dry-run`,
    `<%= config.bin %> deploy --target prod --yes --json`,
    `<%= config.bin %> deploy auth settings --concurrency 8 --timeout 5m`,
    `<%= config.bin %> deploy payment --canary 1 --analysis 2m --max-error-rate 1% --max-p99-ratio 1.5`,
    `<%= config.bin %> deploy payment --canary 25% --target prod --yes --json`,
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
    ...canaryFlags,
    "allow-breaking": Flags.boolean({
      description:
        "Roll out even when a changed service's .proto files break compatibility with what runs (docs/contracts.md).",
    }),
  };

  async run(): Promise<DeployJson | DeployPlanJson | CanaryDeployJson> {
    const { argv, flags } = await this.parse(Deploy, canaryArgv(this.argv));
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
    if (flags.canary) return this.canary(ctx, common, flags);
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
      const output = liveOutput({ json: this.jsonEnabled() });
      const gate = this.contractGate(t, flags, output.renderer === "live");
      const reporter = deployReporter(output, {
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
          gate: gate.gate,
        });
        await reporter.summary(result);
      } finally {
        // on an error too, the live view comes down (its last frame stays) before anything else prints
        await reporter.close().finally(() => t.close());
        gate.flush();
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

  /** The breaking-change gate (docs/contracts.md); its lines print at once, or after the live view is down on a terminal (`flush`). */
  private contractGate(
    t: Pick<DeployTarget, "protoDir" | "nats">,
    flags: CommandFlags<typeof Deploy>,
    live: boolean,
  ): { gate: DeployGate; flush: () => void } {
    const held: string[] = [];
    const gate = contractGate({
      protoDir: t.protoDir,
      nats: t.nats,
      allowBreaking: flags["allow-breaking"],
      write: (l) => void (live ? held.push(l) : this.note(l)),
      cwd: process.cwd(),
      github: process.env.GITHUB_ACTIONS === "true",
    });
    return { gate, flush: () => held.splice(0).forEach((l) => this.note(l)) };
  }

  /** `--canary` (docs/canary.md): the limits are checked first, then lib/canary runs it; exit 3 when a canary aborted. */
  private async canary(
    ctx: PlatformContext,
    common: Omit<DeployTargetOptions, "rollback" | "dryRun" | "onImage">,
    flags: CommandFlags<typeof Deploy>,
  ): Promise<CanaryDeployJson> {
    const names = common.services.length ? common.services : Object.keys(ctx.cfg.services);
    const given = {
      analysisMs: flags.analysis,
      maxErrorRate: flags["max-error-rate"],
      maxP99Ratio: flags["max-p99-ratio"],
      minRequests: flags["min-requests"],
      promoteOnNoTraffic: flags["promote-on-no-traffic"],
    };
    const settings = new Map(
      names.map((s) => [s, resolveCanarySettings(given, ctx.cfg.services[s]?.canary, flags["sample-interval"])]),
    );
    if (ctx.target.confirm && !flags.yes) await this.confirmTarget(ctx);
    const interrupt = catchInterrupts();
    const t = await openDeployTarget(ctx, { ...common, rollback: flags.rollback, dryRun: false }).catch(
      (err: unknown) => (interrupt.release(), Promise.reject(err)),
    );
    const output = liveOutput({ json: this.jsonEnabled() });
    const gate = this.contractGate(t, flags, output.renderer === "live");
    const reporter = canaryReporter(output, {
      target: ctx.targetName,
      services: names,
      github: process.env.GITHUB_ACTIONS === "true",
      write: (l) => this.note(l),
    });
    let result: CanaryResult;
    try {
      result = await canaryDeploy({
        ...t,
        count: (s) => resolveCanaryCount(flags.canary!, ctx.cfg.services[s]?.canary),
        settings: (s) => settings.get(s)!,
        timeoutMs: flags.timeout ?? (ctx.target.platform === "ecs" ? 600_000 : 60_000),
        pollMs: flags["poll-interval"] ?? t.pollMs,
        concurrency: flags.concurrency,
        onProgress: (p) => reporter.progress(p),
        signal: interrupt.signal,
        gate: gate.gate,
      });
      await reporter.summary(result);
    } finally {
      await reporter.close().finally(() => (interrupt.release(), t.close()));
      gate.flush();
    }
    this.setExit(canaryExitCode(result));
    this.out(
      renderTable(
        ["SERVICE", "ACTION", "FROM", "TO", "CANARY", "SECONDS", "WHY"],
        result.services.map((s) => [
          s.name,
          s.action,
          s.from ?? "-",
          s.to ?? "-",
          s.canaries,
          s.seconds,
          s.reason ?? "",
        ]),
      ),
    );
    return { ...result, platform: ctx.target.platform, canary: true };
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
