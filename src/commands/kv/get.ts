import { Args } from "@oclif/core";
import { BaseCommand } from "../../base-command.js";
import { natsFlags, serviceArgs, stateStoreFlags, targetFlags } from "../../flags.js";
import { getNote, getText } from "../../lib/state/kv-lines.js";
import { getKey, type KvGetResult } from "../../lib/state/state-query.js";
import { readServiceState } from "../../state-session.js";

export type KvGetJson = KvGetResult;

export default class KvGet extends BaseCommand {
  static override summary = "Print the current value of a key in a service's state store, as JSON, read-only.";
  static override description =
    'Services store their state as JSON (services/sdk/state.ts); gs prints it indented, with fields that hold secrets (passwords and their hashes, salts, tokens, secrets) replaced by "[redacted]". The revision, its time (JetStream KV) and the store go to stderr. An unknown or deleted key exits 2.';
  static override examples = [
    `<%= config.bin %> kv get payment wallet.player-1`,
    `<%= config.bin %> kv get auth user.alice --json`,
  ];
  static override args = {
    ...serviceArgs,
    key: Args.string({ description: "The key, as `gs kv ls` lists it.", required: true }),
  };
  static override flags = { ...natsFlags, ...targetFlags, ...stateStoreFlags };

  async run(): Promise<KvGetJson> {
    const { args, flags } = await this.parse(KvGet);
    const result = await readServiceState(args.service, flags, (reader) => getKey(reader, args.key));
    if (!this.jsonEnabled()) {
      this.out(getText(result));
      this.note(this.color("dim", getNote(result)));
    }
    return result;
  }
}
