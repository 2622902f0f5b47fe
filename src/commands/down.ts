import { Flags } from "@oclif/core";
import { BaseCommand } from "../base-command.js";
import { targetFlags } from "../flags.js";
import { localContext } from "../lib/platform/local/local-context.js";
import { downLocalFleet, type DownResult } from "../lib/platform/local/local-fleet.js";

export type DownJson = DownResult;

export default class Down extends BaseCommand {
  static override summary = "Stop the local fleet: every instance drains, then nats-server stops.";
  static override examples = [`<%= config.bin %> down`, `<%= config.bin %> down --purge`];
  static override flags = {
    ...targetFlags,
    purge: Flags.boolean({ description: "Also delete .gs/ (JetStream data, logs, builds)." }),
  };

  async run(): Promise<DownJson> {
    const { flags } = await this.parse(Down);
    const ctx = localContext({ cwd: process.cwd(), config: flags.config, target: flags.target, command: "down" });
    const r = await downLocalFleet(ctx, { purge: flags.purge });
    const purged = r.purged ? `; deleted ${ctx.paths.home}` : "";
    if (r.wasRunning) this.note(`the local fleet is stopped${purged}`);
    else
      this.note(
        `the local fleet was not running${r.leftovers ? ` (stopped ${r.leftovers} leftover processes)` : ""}${purged}`,
      );
    return r;
  }
}
