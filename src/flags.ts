// Flags shared by several commands. Durations accept 500ms / 5s / 1m.
import { Args, Flags } from "@oclif/core";
import { UsageError } from "./lib/output/errors.js";
import { parseDuration } from "./lib/output/format.js";

/** A duration flag, in ms: positive, or with `allowZero` also 0; `examples` end its error message. */
function durationFlagOf(allowZero: boolean, examples: string) {
  return Flags.custom<number>({
    parse: async (input) => {
      const ms = parseDuration(input);
      if (ms === undefined || (ms <= 0 && !allowZero))
        throw new UsageError(`bad duration "${input}": use e.g. ${examples}`);
      return ms;
    },
  });
}

export const durationFlag = durationFlagOf(false, "500ms, 5s, 1m");
/** A duration that may be 0 (e.g. an optional warm-up). */
export const durationOrZeroFlag = durationFlagOf(true, "0, 500ms, 2s");

export const natsFlags = {
  server: Flags.string({
    char: "s",
    description: "NATS server URL(s), comma-separated (default: NATS_URL, the local fleet, or nats://127.0.0.1:4222).",
    helpGroup: "NATS",
  }),
  context: Flags.string({
    description: "natscli context to use (~/.config/nats/context/NAME.json).",
    helpGroup: "NATS",
  }),
  creds: Flags.string({ description: "NATS .creds file.", helpGroup: "NATS" }),
  user: Flags.string({ description: "NATS user.", helpGroup: "NATS" }),
  password: Flags.string({ description: "NATS password.", helpGroup: "NATS" }),
  "tls-ca": Flags.string({ description: "CA certificate to verify the server.", helpGroup: "NATS" }),
  "tls-cert": Flags.string({ description: "Client certificate.", helpGroup: "NATS" }),
  "tls-key": Flags.string({ description: "Client certificate key.", helpGroup: "NATS" }),
  timeout: durationFlag({ description: "Connect and request timeout.", default: 5000, helpGroup: "NATS" }),
};

export const targetFlags = {
  target: Flags.string({
    char: "t",
    description: "Target from gs.yaml (default: GS_TARGET, defaultTarget, or local).",
    env: "GS_TARGET",
  }),
  config: Flags.string({
    description: "Path of gs.yaml (default: nearest gs.yaml above the working directory).",
    env: "GS_CONFIG",
  }),
};

export const protoFlags = {
  proto: Flags.string({ description: "Extra directory of .proto files (repeatable).", multiple: true }),
};

/** SUBJECT and DATA, as `gs request` and `gs bench` take them. */
export const requestArgs = {
  subject: Args.string({ description: "Subject of the rpc, e.g. auth.login (see `gs subjects`).", required: true }),
  data: Args.string({ description: "Request as JSON (default {}).", ignoreStdin: true }),
};
