import { Args, Flags } from "@oclif/core";
import { BaseCommand } from "../base-command.js";
import { durationFlag, targetFlags } from "../flags.js";
import { checkConfigServices } from "../lib/config/service-names.js";
import { deployExitCode, type DeployResult } from "../lib/deploy/deploy.js";
import { natsVerifierOf } from "../lib/deploy/nats-verifier.js";
import { canPrompt, confirm } from "../lib/output/confirm.js";
import { GsError, UsageError } from "../lib/output/errors.js";
import { renderTable } from "../lib/output/format.js";
import { openPlatform, platformContext } from "../lib/platform/open-platform.js";
import { catchInterrupts } from "../lib/process/interrupt.js";
import { planRollback, rollback } from "../lib/release/rollback.js";
import { deployReporter } from "../lib/ui/deploy-live.js";
import { liveOutput } from "../lib/ui/live-output.js";

/** `--json` of `gs rollback`: deploy's result document (each service's action, from, to). */
export type RollbackJson = DeployResult & { platform: "local" | "ecs" };

export default class Rollback extends BaseCommand {
  static override summary =
    "Put services back on an earlier version: the previous good one, or --to a version from `gs history`.";
  static override description =
    "Without --to, each service goes back to the newest version before the current one that deployed well. " +
    "On ecs the service is updated to that version's own task-definition revision (no new revision is registered); " +
    "locally that version's build is rolled out again. Verified over NATS like a deploy; the version left behind is recorded as rolled back. " +
    "Exit 3 when the old version failed too and the service was put back, 4 on a timeout; an unknown version lists the known ones (exit 2) and changes nothing.";
  static override examples = [
    `<%= config.bin %> rollback auth`,
    `<%= config.bin %> rollback auth payment --target prod --yes`,
    `<%= config.bin %> rollback payment --to 0.1.0+3fa2b1c9d0e1 --target prod --yes --json`,
    `<%= config.bin %> rollback payment --to payment-nats:41 --target prod --yes`,
  ];
  static override strict = false;
  static override args = {
    services: Args.string({ description: "Services to roll back, as in gs.yaml (one or more).", required: true }),
  };
  static override flags = {
    ...targetFlags,
    to: Flags.string({
      description: "The version (or ecs revision, e.g. auth-nats:41) to go back to; see `gs history`.",
    }),
    timeout: durationFlag({
      description: "How long the old version's instances may take to become healthy (default: 1m local, 10m ecs).",
    }),
    yes: Flags.boolean({ char: "y", description: "Roll back on a `confirm: true` target without asking." }),
    "poll-interval": durationFlag({
      description: "How often to ask the platform (default: 3s ecs, 250ms local).",
      hidden: true,
    }),
  };

  async run(): Promise<RollbackJson> {
    const { argv, flags } = await this.parse(Rollback);
    const services = (argv as string[]).filter(Boolean);
    const ctx = platformContext({ cwd: process.cwd(), config: flags.config, target: flags.target });
    checkConfigServices(services, ctx.cfg);
    const ecs = ctx.target.platform === "ecs";
    const opened = await openPlatform(ctx);
    const interrupt = catchInterrupts();
    let result: DeployResult;
    try {
      // every target is decided before anything changes: an unknown version refuses the whole rollback
      const targets = await planRollback(opened.platform, services, flags.to);
      if (ctx.target.confirm && !flags.yes) await this.confirmTarget(ctx.targetName, targets.length);
      const reporter = deployReporter(liveOutput({ json: this.jsonEnabled() }), {
        target: ctx.targetName,
        platform: ctx.target.platform,
        services,
        concurrency: services.length,
        github: process.env.GITHUB_ACTIONS === "true",
        write: (l) => this.note(l),
      });
      try {
        result = await rollback(
          {
            platform: opened.platform,
            verifier: natsVerifierOf(opened),
            services,
            concurrency: services.length,
            timeoutMs: flags.timeout ?? (ecs ? 600_000 : 60_000),
            pollMs: flags["poll-interval"] ?? (ecs ? 3000 : 250),
            onProgress: (p) => reporter.progress(p),
            signal: interrupt.signal,
          },
          targets,
        );
        await reporter.summary(result);
      } finally {
        await reporter.close();
      }
    } finally {
      interrupt.release();
      await opened.close();
    }
    this.setExit(deployExitCode(result));
    this.out(
      renderTable(
        ["SERVICE", "ACTION", "FROM", "TO", "SECONDS"],
        result.services.map((s) => [s.name, s.action, s.from ?? "-", s.to ?? "-", s.seconds]),
      ),
    );
    return { ...result, platform: ctx.target.platform };
  }

  private async confirmTarget(target: string, n: number): Promise<void> {
    if (!canPrompt())
      throw new UsageError(
        `target "${target}" asks for confirmation (confirm: true in gs.yaml) and there is no terminal to ask on`,
        "pass --yes to roll back",
        "confirmation_required",
      );
    if (!(await confirm(`Roll back ${n} service${n === 1 ? "" : "s"} on ${target}?`)))
      throw new GsError("rollback cancelled: nothing was changed", { code: "cancelled" });
  }
}
