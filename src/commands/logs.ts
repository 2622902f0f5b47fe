import { Flags } from "@oclif/core";
import { BaseCommand } from "../base-command.js";
import { durationFlag, serviceArgs, targetFlags } from "../flags.js";
import { checkConfigServices } from "../lib/config/service-names.js";
import { UsageError } from "../lib/output/errors.js";
import { instanceLogFiles } from "../lib/platform/local/log-files.js";
import { catchInterrupts } from "../lib/process/interrupt.js";
import { openPlatform, platformContext } from "../lib/platform/open-platform.js";
import type { LogLine } from "../lib/platform/platform.js";

export interface LogsJson {
  service: string;
  lines: LogLine[];
}

export default class Logs extends BaseCommand {
  static override summary =
    "Print a service's instance logs, newest last, each line prefixed with its instance (ecs: from CloudWatch Logs).";
  static override examples = [
    `<%= config.bin %> logs auth`,
    `<%= config.bin %> logs auth --since 10m`,
    `<%= config.bin %> logs payment -f --instance payment-3fa2b1`,
  ];
  static override args = serviceArgs;
  static override flags = {
    ...targetFlags,
    follow: Flags.boolean({ char: "f", description: "Keep printing new lines until Ctrl-C." }),
    since: durationFlag({ description: "Only lines from this long ago, e.g. 10m." }),
    instance: Flags.string({ char: "i", description: "Only this instance (its id, a prefix of it, or its NATS id)." }),
  };

  async run(): Promise<LogsJson> {
    const { args, flags } = await this.parse(Logs);
    if (flags.follow && this.jsonEnabled())
      throw new UsageError("--follow cannot be combined with --json", "drop one of them");
    const ctx = platformContext({ cwd: process.cwd(), config: flags.config, target: flags.target });
    checkConfigServices([args.service], ctx.cfg);
    const { platform, nc, close } = await openPlatform(ctx, { requireRunning: false });
    // Ctrl-C ends --follow (and a long read) gracefully; a second one exits at once
    const interrupt = catchInterrupts();
    const lines: LogLine[] = [];
    try {
      // a service of gs.yaml the fleet does not run, or never ran, is a usage error too
      if (nc) await platform.describeServices([args.service]);
      else if (platform.kind === "local" && instanceLogFiles(ctx.paths.logs, args.service).length === 0) {
        throw new UsageError(`no logs of ${args.service} in ${ctx.paths.logs}`, "start the fleet with `gs up`");
      }
      const since = flags.since === undefined ? undefined : Date.now() - flags.since;
      for await (const line of platform.logs(args.service, {
        since,
        instance: flags.instance,
        follow: flags.follow,
        signal: interrupt.signal,
      })) {
        if (this.jsonEnabled()) lines.push(line);
        else this.out(`${line.instance} | ${line.text}`);
      }
    } finally {
      interrupt.release();
      await close();
    }
    return { service: args.service, lines };
  }
}
