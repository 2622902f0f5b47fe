// Flags shared by several commands. Durations accept 500ms / 5s / 1m.
import { Args, Flags, type Interfaces } from "@oclif/core";
import { ENGINE_NAMES } from "./lib/build/engine-names.js";
import {
  CANARY_FROM_CONFIG,
  parseCanaryAsk,
  parsePercent,
  parseRatio,
  type CanaryAsk,
} from "./lib/canary/canary-options.js";
import { parsePointInTime } from "./lib/events/point-in-time.js";
import { parseListenAddress, type ListenAddress } from "./lib/metrics/listen-address.js";
import { UsageError } from "./lib/output/errors.js";
import { parseDuration } from "./lib/output/format.js";
import { SCHEMA_MODES, type SchemaMode } from "./lib/proto/schema-mode.js";
import { STATE_BACKENDS } from "./lib/state/state-backends.js";

/** A duration flag, in ms: positive, or with `allowZero` also 0; `examples` end its error message. */
function durationFlagOf(allowZero: boolean, examples: string) {
  // oclif's overloads only type the options per shape (required, default, multiple); this passes them on as given
  const define = durationFlagParsing(allowZero, examples);
  const pass = define as unknown as (opts: Partial<Interfaces.OptionFlag<number>>) => unknown;
  // help and docs show a default as users write it ([default: 5s]), not as the ms it parses to (5000)
  const withHelp = (opts: Partial<Interfaces.OptionFlag<number>> = {}) => {
    const ms = opts.default;
    return pass(typeof ms === "number" ? { defaultHelp: async () => durationText(ms), ...opts } : opts);
  };
  return withHelp as unknown as typeof define;
}

/** `ms` as a user writes it, in the largest unit that keeps it whole: 0, 250ms, 5s, 2m, 1h. */
export function durationText(ms: number): string {
  if (ms === 0) return "0";
  const unit = (["h", "m", "s"] as const).find((u) => ms % DURATION_UNITS[u] === 0);
  return unit ? `${ms / DURATION_UNITS[unit]}${unit}` : `${ms}ms`;
}

const DURATION_UNITS = { h: 3_600_000, m: 60_000, s: 1000 } as const;

function durationFlagParsing(allowZero: boolean, examples: string) {
  return Flags.custom<number>({
    parse: async (input) => {
      const ms = parseDuration(input);
      if (ms === undefined || (ms <= 0 && !allowZero))
        throw new UsageError(`bad duration "${input}": use e.g. ${examples}`, undefined, "bad_duration");
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

/** `--config` alone, for commands that read gs.yaml but no target (`gs build`). */
export const configFlags = {
  config: Flags.string({
    description: "Path of gs.yaml (default: nearest gs.yaml above the working directory).",
    env: "GS_CONFIG",
  }),
};

export const targetFlags = {
  target: Flags.string({
    char: "t",
    description: "Target from gs.yaml (default: GS_TARGET, defaultTarget, or local).",
    env: "GS_TARGET",
  }),
  ...configFlags,
};

export const protoFlags = {
  proto: Flags.string({ description: "Extra directory of .proto files (repeatable).", multiple: true }),
};

/** Where message types come from (src/lib/proto/schema-source.ts): `gs request`, `publish`, `subscribe`, `bench`, `subjects`, `describe`, `trace`, `events`. */
export const schemaFlags = {
  ...protoFlags,
  schema: Flags.option({
    options: SCHEMA_MODES,
    default: "auto" as SchemaMode,
    description:
      "Where message types come from: local (proto/ and --proto), fleet (the descriptors the running services serve, cached by digest), auto (local when there is a proto/ folder or --proto, else fleet).",
  })(),
};

/** How service images are built: `gs build`, `gs push` and (ecs targets) `gs deploy`. */
export const imageFlags = {
  engine: Flags.option({
    options: ENGINE_NAMES,
    description: "Image builder (default: docker when its engine answers, else buildah).",
  })(),
  "base-image": Flags.string({
    description: "Base image with node on PATH; image tags hash it too (default: GS_BASE_IMAGE or node:20-slim).",
  }),
};

/** The target's image registry (ECR): `gs push`, `gs deploy`, and `gs diff`, which plans as they would. */
export const registryFlags = {
  "create-repos": Flags.boolean({
    description: "Create missing ECR repositories (scan on push, immutable tags); `gs diff` plans as if it did.",
  }),
};

/** What is sent to a subject, as `gs request`, `gs publish` and `gs bench` take it. */
export const payloadFlags = {
  "data-file": Flags.string({ char: "f", description: "Read DATA from a file (`-` for stdin).", helpGroup: "PAYLOAD" }),
  raw: Flags.boolean({
    description:
      "No protobuf: send DATA as bytes; `gs request` writes the replies' exact bytes (a hex dump on a terminal).",
    helpGroup: "PAYLOAD",
  }),
  header: Flags.string({
    char: "H",
    description: "Header KEY=VALUE (repeatable).",
    multiple: true,
    helpGroup: "PAYLOAD",
  }),
};

/** `gs request` and `gs publish` send DATA `--count` times (`gs subscribe --count` is another flag: stop after N). */
export const repeatFlags = {
  count: Flags.integer({ description: "Send DATA N times, one after another.", default: 1, min: 1 }),
};

/** SUBJECT and DATA, as `gs request`, `gs publish` and `gs bench` take them. */
export const messageArgs = {
  subject: Args.string({
    description: "Subject, e.g. auth.login or events.auth.player-registered (see `gs subjects`).",
    required: true,
  }),
  data: Args.string({
    description: "The message as JSON for the subject's proto type (default {}).",
    ignoreStdin: true,
  }),
};

/** One service of gs.yaml (`gs logs`, `gs scale`); unknown names are refused with suggestions. */
export const serviceArgs = {
  service: Args.string({ description: "Service name, as in gs.yaml.", required: true }),
};

/** Services of gs.yaml, space-separated, for commands with `strict = false`. */
export const servicesArgs = {
  services: Args.string({ description: "Services to work on, as in gs.yaml (default: all)." }),
};

/** Where `gs kv` finds a service's state when gs.yaml's `services.<name>.env` does not say: the variables the services read. */
export const stateStoreFlags = {
  backend: Flags.option({
    options: STATE_BACKENDS,
    description: "State backend of the service (default: GS_STATE_BACKEND in gs.yaml's env for it, else jetstream).",
    env: "GS_STATE_BACKEND",
    helpGroup: "STATE",
  })(),
  "redis-url": Flags.string({
    description: "Redis URL(s) of a redis or redis-cluster backend (default: GS_REDIS_URL in gs.yaml's env for it).",
    env: "GS_REDIS_URL",
    helpGroup: "STATE",
  }),
};

/** A moment (ms since the epoch): a duration ago (10m, 2h, 1d) or an ISO 8601 date-time. */
export const pointInTimeFlag = Flags.custom<number>({
  parse: async (input) => parsePointInTime(input, Date.now()),
});

/** Which events `gs events tail` and `gs events replay` read. */
export const eventFlags = {
  subject: Flags.string({
    description: "Only events on this subject; * and > wildcards (e.g. 'events.payment.>').",
    default: "events.>",
  }),
  since: pointInTimeFlag({
    description: "From this time on: a duration ago (30s, 10m, 2h, 1d) or a date-time (2025-01-31T12:00:00Z).",
  }),
};

/** Where a server of gs listens: HOST:PORT, [IPv6]:PORT, or :PORT for every interface; port 0 picks a free one. */
export const listenFlag = Flags.custom<ListenAddress>({
  parse: async (input) => parseListenAddress(input),
});

/** `gs deploy --canary`: its size and the limits that judge it; unset, the service's `canary:` in gs.yaml, then the defaults. */
export const canaryFlags = {
  canary: Flags.custom<CanaryAsk>({ parse: async (input) => parseCanaryAsk(input) })({
    description:
      "Deploy through a canary: N instances (or P% of the desired count) of the new version beside the old ones, judged by their live NATS stats, then promoted or aborted. Without a value: the service's canary.size in gs.yaml, else 1.",
    helpGroup: "CANARY",
  }),
  analysis: durationFlag({
    description: "How long the canary is judged [default: the service's canary.analysis, else 2m].",
    dependsOn: ["canary"],
    helpGroup: "CANARY",
  }),
  "max-error-rate": Flags.custom<number>({ parse: async (input) => parsePercent(input) })({
    description: "Abort when the canary's error rate is above this [default: canary.maxErrorRate, else 1%].",
    dependsOn: ["canary"],
    helpGroup: "CANARY",
  }),
  "max-p99-ratio": Flags.custom<number>({ parse: async (input) => parseRatio(input) })({
    description: "Abort when canary p99 / baseline p99 is above this [default: canary.maxP99Ratio, else 1.5].",
    dependsOn: ["canary"],
    helpGroup: "CANARY",
  }),
  "min-requests": Flags.integer({
    description:
      "Requests the canary must serve to be judged; fewer by the end aborts [default: canary.minRequests, else 200].",
    min: 1,
    dependsOn: ["canary"],
    helpGroup: "CANARY",
  }),
  "promote-on-no-traffic": Flags.boolean({
    description: "Promote a canary that saw too little traffic to judge, instead of aborting.",
    allowNo: true,
    dependsOn: ["canary"],
    helpGroup: "CANARY",
  }),
  "sample-interval": durationFlag({
    description: "How often $SRV.STATS is read during the analysis (default 2s).",
    hidden: true,
    dependsOn: ["canary"],
  }),
};

/**
 * A flag whose value may be left out, as `--canary` may (oclif's option flags always take one): a bare
 * `flag` (the last word, or followed by another flag, or by a word that is not a value of it, such as a
 * service name) becomes `flag=<absent>`. Nothing after `--` is touched.
 */
export function withOptionalValue(argv: string[], flag: string, isValue: (word: string) => boolean, absent: string) {
  const end = argv.indexOf("--");
  return argv.map((word, i) => {
    if (word !== flag || (end >= 0 && i > end)) return word;
    const next = argv[i + 1];
    return next === undefined || next.startsWith("-") || !isValue(next) ? `${flag}=${absent}` : word;
  });
}

/** `gs deploy`'s argv with a bare `--canary` standing for each service's gs.yaml size (see withOptionalValue). */
export function canaryArgv(argv: string[]): string[] {
  return withOptionalValue(argv, "--canary", (w) => /^\d+(\.\d+)?%?$/.test(w), CANARY_FROM_CONFIG);
}
