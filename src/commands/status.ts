import { Flags } from "@oclif/core";
import { BaseCommand } from "../base-command.js";
import { targetFlags } from "../flags.js";
import { EXIT, GsError } from "../lib/output/errors.js";
import { renderTable } from "../lib/output/format.js";
import { localContext } from "../lib/platform/local/local-context.js";
import { openLocalPlatform } from "../lib/platform/local/local-platform.js";
import { gatherStatus, isUnhealthy, type StatusReport } from "../lib/status/status.js";

export type StatusJson = StatusReport;

export default class Status extends BaseCommand {
  static override summary = "Show each service's desired / running / pending instances and how many answer over NATS.";
  static override examples = [`<%= config.bin %> status`, `<%= config.bin %> status --json`, `<%= config.bin %> status --check   # exit 5 when unhealthy`];
  static override flags = {
    ...targetFlags,
    check: Flags.boolean({ description: "Exit 5 when a service is below its desired count or silent on NATS." }),
  };

  async run(): Promise<StatusJson> {
    const { flags } = await this.parse(Status);
    const ctx = localContext({ cwd: process.cwd(), config: flags.config, target: flags.target, command: "status" });
    let opened;
    try {
      opened = await openLocalPlatform(ctx.targetName, ctx.paths);
    } catch (err) {
      // with --check, a fleet that is not up is unhealthy
      if (flags.check && err instanceof GsError) throw new GsError(err.message, { ...err.opts, exit: EXIT.unhealthy });
      throw err;
    }
    let report: StatusReport;
    try {
      report = (await gatherStatus({ platform: opened.platform, nc: opened.nc! })).report;
    } finally {
      await opened.close();
    }
    this.out(
      renderTable(
        ["SERVICE", "DESIRED", "RUNNING", "PENDING", "RESPONDING", "RESTARTS", "VERSION", "STATE"],
        report.services.map((s) => [s.name, s.desired, s.running, s.pending, s.responding, s.restarts, s.version ?? "-", s.state]),
      ),
    );
    const t = report.totals;
    this.note(`${t.healthy}/${t.services} services healthy, ${t.running}/${t.desired} instances running (target ${report.target})`);
    if (flags.check && report.services.some(isUnhealthy)) this.setExit(EXIT.unhealthy);
    return report;
  }
}
