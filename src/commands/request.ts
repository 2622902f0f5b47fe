import { accessSync, constants, writeFileSync } from "node:fs";
import path from "node:path";
import { Flags } from "@oclif/core";
import { BaseCommand } from "../base-command.js";
import { messageArgs, natsFlags, payloadFlags, repeatFlags, schemaFlags, targetFlags } from "../flags.js";
import { parseHeaders, parseJsonData, readData } from "../lib/messaging/data.js";
import { prepareRequest, request, type RequestResult } from "../lib/messaging/request.js";
import { UsageError } from "../lib/output/errors.js";
import { formatBytes, formatDuration } from "../lib/output/format.js";
import { hexDump } from "../lib/output/hex-dump.js";
import { schemaForSubject, schemaOptionsOf } from "../lib/proto/schema-source.js";
import { lazyNats } from "../nats-session.js";

export type RequestJson = RequestResult;

export default class Request extends BaseCommand {
  static override summary =
    "Send a request to a service and print the reply (JSON in, protobuf on the wire, JSON out).";
  static override description =
    "DATA is JSON for the rpc's request type, encoded with the .proto files in proto/, or with the descriptors the running fleet serves when there is no proto/ folder (--schema). The reply is decoded with the response type. " +
    "An error reply (Nats-Service-Error headers) prints its code and message and exits 1.\n\n" +
    "--raw sends DATA as bytes and writes each reply's exact bytes to stdout when it is not a terminal (an empty reply writes nothing), a hex dump when it is; --out FILE writes the reply's bytes to FILE.";
  static override examples = [
    `<%= config.bin %> request auth.register '{"username":"ada","password":"correct-horse-battery"}'`,
    `<%= config.bin %> request payment.get-balance '{"playerId":"p1"}' --json`,
    `echo '{"regionId":"r1"}' | <%= config.bin %> request world-state.query-region --data-file -`,
    `<%= config.bin %> request auth.login '{"username":"ada","password":"correct-horse-battery"}' --out reply.bin`,
    `<%= config.bin %> request auth.validate -f request.bin --raw | protoc -I proto --decode=auth.v1.ValidateResponse auth/v1/auth.proto`,
    `<%= config.bin %> request auth.login '{}' --server nats://10.0.0.5:4222 --schema fleet`,
  ];
  static override args = messageArgs;
  static override flags = {
    ...natsFlags,
    ...targetFlags,
    ...schemaFlags,
    ...payloadFlags,
    ...repeatFlags,
    replies: Flags.integer({
      description: "Gather up to N replies per request within the timeout.",
      default: 1,
      min: 1,
    }),
    out: Flags.string({
      char: "o",
      description: "Write the reply's exact bytes to FILE (one request, one reply).",
      helpGroup: "PAYLOAD",
    }),
  };

  async run(): Promise<RequestJson> {
    const { args, flags } = await this.parse(Request);
    if (flags.out) checkWritable(flags.out, flags.count, flags.replies);
    const bytes = readData({ arg: args.data, file: flags["data-file"] });
    const json = flags.raw
      ? undefined
      : parseJsonData(bytes, flags["data-file"] ? `--data-file ${flags["data-file"]}` : "DATA");
    const nats = lazyNats(flags);
    try {
      const { registry } = await schemaForSubject(schemaOptionsOf(flags), args.subject, nats.connect, {
        typesOptional: flags.raw,
      });
      const replies: Uint8Array[] = [];
      const opts = {
        subject: args.subject,
        json,
        raw: flags.raw ? new Uint8Array(bytes) : undefined,
        headers: parseHeaders(flags.header),
        count: flags.count,
        replies: flags.replies,
        timeout: flags.timeout,
        onReply: (data: Uint8Array) => replies.push(data),
      };
      const prepared = prepareRequest(registry, opts);
      const result = await request(await nats.connect(), registry, prepared, opts);
      if (flags.out) {
        writeFileSync(flags.out, replies[0] ?? new Uint8Array());
        this.note(this.color("dim", `wrote ${formatBytes(replies[0]?.length ?? 0)} to ${flags.out}`));
      } else if (flags.raw && !this.jsonEnabled()) {
        // the bytes themselves for a pipe or a file; a terminal would garble them, so it gets a hex dump
        if (process.stdout.isTTY) for (const r of replies) this.out(hexDump(r));
        else for (const r of replies) process.stdout.write(r);
      } else if (!this.jsonEnabled()) {
        const pretty = this.mode === "tty";
        for (const r of result.replies) {
          this.note(this.color("dim", `← ${result.subject} ${formatDuration(r.rtt_ms)} ${formatBytes(r.bytes)}`));
          const body =
            "text" in r.reply && Object.keys(r.reply).length === 1
              ? String(r.reply.text)
              : JSON.stringify(r.reply, null, pretty ? 2 : undefined);
          this.out(body);
        }
      }
      return result;
    } finally {
      await nats.close();
    }
  }
}

/** --out is checked before anything is sent: one reply, to a file gs can write. */
function checkWritable(file: string, count: number, replies: number): void {
  if (count > 1 || replies > 1)
    throw new UsageError("--out writes one reply's bytes: drop --count and --replies", "or use --raw to stream them");
  try {
    accessSync(path.dirname(path.resolve(file)), constants.W_OK);
  } catch {
    throw new UsageError(`cannot write --out ${file}: its folder does not exist or is not writable`, "check the path");
  }
}
