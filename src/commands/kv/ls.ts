import { Flags } from "@oclif/core";
import { BaseCommand } from "../../base-command.js";
import { natsFlags, serviceArgs, stateStoreFlags, targetFlags } from "../../flags.js";
import { lsNote } from "../../lib/state/kv-lines.js";
import { listKeys, type KvLsResult } from "../../lib/state/state-query.js";
import { readServiceState } from "../../state-session.js";

export type KvLsJson = KvLsResult;

export default class KvLs extends BaseCommand {
  static override summary = "List the keys of a service's state store (JetStream KV or Redis), read-only.";
  static override description =
    "Reads the store the service itself uses: its JetStream KV bucket gs_<service>, or its Redis keys when gs.yaml sets GS_STATE_BACKEND=redis (or redis-cluster) and GS_REDIS_URL in the service's env, or --backend and --redis-url say so. Keys are printed one per line, sorted.";
  static override examples = [
    `<%= config.bin %> kv ls payment`,
    `<%= config.bin %> kv ls payment --prefix wallet`,
    `<%= config.bin %> kv ls auth --backend redis --redis-url redis://127.0.0.1:6379 --json`,
  ];
  static override args = serviceArgs;
  static override flags = {
    ...natsFlags,
    ...targetFlags,
    ...stateStoreFlags,
    prefix: Flags.string({ description: "Only keys under this prefix (whole dot-separated tokens), e.g. wallet." }),
  };

  async run(): Promise<KvLsJson> {
    const { args, flags } = await this.parse(KvLs);
    const result = await readServiceState(args.service, flags, (reader) => listKeys(reader, flags.prefix));
    if (!this.jsonEnabled()) {
      for (const key of result.keys) this.out(key);
      this.note(this.color("dim", lsNote(result)));
    }
    return result;
  }
}
