import { Args } from "@oclif/core";
import { BaseCommand } from "../base-command.js";
import { targetFlags } from "../flags.js";
import { UsageError } from "../lib/output/errors.js";
import { localContext } from "../lib/platform/local/local-context.js";
import { openLocalPlatform } from "../lib/platform/local/local-platform.js";

export interface ScaleJson {
  name: string;
  desired: number;
  running: number;
  pending: number;
  state: string;
}

export default class Scale extends BaseCommand {
  static override summary = "Change a service's desired count on the running local fleet.";
  static override examples = [`<%= config.bin %> scale auth 3`, `<%= config.bin %> scale weather-manager 0`];
  static override args = {
    service: Args.string({ description: "Service name.", required: true }),
    count: Args.string({ description: "Desired count, 0 to 100.", required: true }),
  };
  static override flags = { ...targetFlags };

  async run(): Promise<ScaleJson> {
    const { args, flags } = await this.parse(Scale);
    const count = Number(args.count);
    if (!/^\d+$/.test(args.count) || count > 100)
      throw new UsageError(`bad count "${args.count}"`, "pass a whole number from 0 to 100");
    const ctx = localContext({ cwd: process.cwd(), config: flags.config, target: flags.target, command: "scale" });
    const { platform, close } = await openLocalPlatform(ctx.targetName, ctx.paths);
    try {
      const s = await platform.scale(args.service, count);
      this.note(`${s.name}: desired ${s.desired} (running ${s.running}, pending ${s.pending})`);
      return { name: s.name, desired: s.desired, running: s.running, pending: s.pending, state: s.state };
    } finally {
      await close();
    }
  }
}
