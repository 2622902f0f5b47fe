import { Args } from "@oclif/core";
import { BaseCommand } from "../../base-command.js";
import { natsFlags, serviceArgs, stateStoreFlags, targetFlags } from "../../flags.js";
import { historyLines, historyNote } from "../../lib/state/kv-lines.js";
import { keyHistory, type KvHistoryResult } from "../../lib/state/state-query.js";
import { readServiceState } from "../../state-session.js";

export type KvHistoryJson = KvHistoryResult;

export default class KvHistory extends BaseCommand {
  static override summary = "Print the revisions of a key that its state store kept, oldest first, read-only.";
  static override description =
    "JetStream KV keeps the last revisions of each key (the fleet's buckets: 5), deletes included: one line each with revision, time, operation (PUT, DEL, PURGE) and value. Redis keeps no history: gs then prints the current revision alone, says so on stderr, and sets historyKept: false in --json.";
  static override examples = [
    `<%= config.bin %> kv history payment wallet.player-1`,
    `<%= config.bin %> kv history settings player.p1 --json`,
  ];
  static override args = {
    ...serviceArgs,
    key: Args.string({ description: "The key, as `gs kv ls` lists it.", required: true }),
  };
  static override flags = { ...natsFlags, ...targetFlags, ...stateStoreFlags };

  async run(): Promise<KvHistoryJson> {
    const { args, flags } = await this.parse(KvHistory);
    const result = await readServiceState(args.service, flags, (reader) => keyHistory(reader, args.key));
    if (!this.jsonEnabled()) {
      for (const line of historyLines(result)) this.out(line);
      this.note(this.color(result.historyKept ? "dim" : "yellow", historyNote(result)));
    }
    return result;
  }
}
