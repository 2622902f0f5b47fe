import { Args, Flags } from "@oclif/core";
import { BaseCommand } from "../base-command.js";
import { durationFlag, serviceArgs, targetFlags } from "../flags.js";
import { checkConfigServices } from "../lib/config/service-names.js";
import { natsVerifierOf } from "../lib/deploy/nats-verifier.js";
import { UsageError } from "../lib/output/errors.js";
import { openPlatform, platformContext } from "../lib/platform/open-platform.js";
import { catchInterrupts } from "../lib/process/interrupt.js";
import { scaleService, type ScaleResult } from "../lib/release/scale.js";

/** `--json` of `gs scale`: the service's counts once settled (or as the platform took them, with --no-wait). */
export type ScaleJson = ScaleResult;

export default class Scale extends BaseCommand {
  static override summary = "Change a service's desired count, on any target, and wait until that many answer.";
  static override description =
    "Sets the desired count (ecs: UpdateService desiredCount; local: the supervisor), then follows the service until the platform " +
    "runs exactly COUNT instances and COUNT instances of its version answer over NATS. " +
    "Exit 4 when that takes longer than --timeout (the count stays set); --no-wait returns once the platform took the count.";
  static override examples = [
    `<%= config.bin %> scale auth 3`,
    `<%= config.bin %> scale weather-manager 0`,
    `<%= config.bin %> scale payment 4 --target prod --timeout 5m --json`,
    `<%= config.bin %> scale payment 2 --target prod --no-wait`,
  ];
  static override args = {
    ...serviceArgs,
    count: Args.string({ description: "Desired count, 0 to 100.", required: true }),
  };
  static override flags = {
    ...targetFlags,
    wait: Flags.boolean({
      description: "Wait until COUNT instances run and answer over NATS (--no-wait: return at once).",
      default: true,
      allowNo: true,
    }),
    timeout: durationFlag({ description: "How long to wait (default: 1m local, 10m ecs)." }),
    "poll-interval": durationFlag({
      description: "How often to ask the platform (default: 3s ecs, 250ms local).",
      hidden: true,
    }),
  };

  async run(): Promise<ScaleJson> {
    const { args, flags } = await this.parse(Scale);
    const count = Number(args.count);
    if (!/^\d+$/.test(args.count) || count > 100)
      throw new UsageError(`bad count "${args.count}"`, "pass a whole number from 0 to 100");
    const ctx = platformContext({ cwd: process.cwd(), config: flags.config, target: flags.target });
    checkConfigServices([args.service], ctx.cfg);
    const ecs = ctx.target.platform === "ecs";
    const opened = await openPlatform(ctx);
    const interrupt = catchInterrupts();
    try {
      const s = await scaleService({
        platform: opened.platform,
        verifier: natsVerifierOf(opened),
        service: args.service,
        desired: count,
        wait: flags.wait,
        timeoutMs: flags.timeout ?? (ecs ? 600_000 : 60_000),
        pollMs: flags["poll-interval"] ?? (ecs ? 3000 : 250),
        onProgress: (p) =>
          this.note(
            `${p.service}: ${p.running}/${p.desired} running, ${p.pending} pending` +
              (p.answering !== undefined ? `, ${p.answering} answer over NATS` : ""),
          ),
        signal: interrupt.signal,
      });
      const nats = s.answering !== undefined ? `, ${s.answering} answer over NATS` : "";
      this.note(`${s.name}: desired ${s.desired} (running ${s.running}, pending ${s.pending}${nats})`);
      return s;
    } finally {
      interrupt.release();
      await opened.close();
    }
  }
}
