import { Flags } from "@oclif/core";
import { BaseCommand } from "../base-command.js";
import { serviceArgs, targetFlags } from "../flags.js";
import { checkConfigServices } from "../lib/config/service-names.js";
import { formatDuration, renderTable } from "../lib/output/format.js";
import { openPlatform, platformContext } from "../lib/platform/open-platform.js";
import { checkLimit, OUTCOME_TEXT, serviceHistory, type HistoryEntry } from "../lib/release/history.js";

/** `--json` of `gs history`: the versions, newest first. */
export interface HistoryJson {
  service: string;
  target: string;
  platform: "local" | "ecs";
  versions: HistoryEntry[];
}

export default class History extends BaseCommand {
  static override summary = "The versions a service ran, newest first: when, how long, how it ended, who deployed it.";
  static override description =
    "Only what the platform records: on ecs the service's task-definition revisions and the tags gs puts on them " +
    "(gs:version, gs:deployed-by, gs:outcome); locally .gs/history, one line per rollout. " +
    "Outcomes: deployed, rolled back, failed, canary aborted. `gs rollback` goes back to one of these versions.";
  static override examples = [
    `<%= config.bin %> history auth`,
    `<%= config.bin %> history payment --target prod -n 5`,
    `<%= config.bin %> history payment --target prod --json`,
  ];
  static override args = serviceArgs;
  static override flags = {
    ...targetFlags,
    number: Flags.integer({ char: "n", description: "How many versions to show (1 to 100).", default: 20 }),
  };

  async run(): Promise<HistoryJson> {
    const { args, flags } = await this.parse(History);
    const limit = checkLimit(flags.number);
    const ctx = platformContext({ cwd: process.cwd(), config: flags.config, target: flags.target });
    checkConfigServices([args.service], ctx.cfg);
    // a stopped local fleet still has its history file
    const opened = await openPlatform(ctx, { requireRunning: false });
    try {
      const versions = await serviceHistory(opened.platform, args.service, limit);
      const ecs = ctx.target.platform === "ecs";
      this.out(
        versions.length
          ? renderTable(
              ["VERSION", ...(ecs ? ["REVISION"] : []), "STARTED", "RAN", "OUTCOME", "DEPLOYED BY"],
              versions.map((v) => [
                v.current ? `${v.version} *` : v.version,
                ...(ecs ? [v.revision ?? "-"] : []),
                v.startedAt.replace(/\.\d+Z$/, "Z"),
                v.ranSeconds !== undefined ? formatDuration(v.ranSeconds * 1000) : "-",
                (v.outcome ? OUTCOME_TEXT[v.outcome] : "-") + (v.available ? "" : " (build gone)"),
                v.deployedBy ?? "-",
              ]),
            ) + "\n* runs now"
          : `no recorded versions of ${args.service} on ${ctx.targetName}`,
      );
      return { service: args.service, target: ctx.targetName, platform: ctx.target.platform, versions };
    } finally {
      await opened.close();
    }
  }
}
