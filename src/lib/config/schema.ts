// gs.yaml: the zod schema and the resolved types the rest of gs works with.
// Objects are strict so a misspelt key is an error instead of a silently ignored setting.
import { z } from "zod";

/** Task sizes Fargate accepts, in CPU units. */
export const FARGATE_CPU = [256, 512, 1024, 2048, 4096] as const;
export type FargateCpu = (typeof FARGATE_CPU)[number];

/** Settings every service gets unless it overrides them (`services.defaults` in gs.yaml). */
export const BUILTIN_SERVICE_DEFAULTS: Readonly<Omit<ServiceSettings, "name">> = Object.freeze({
  desired: 2,
  cpu: 256,
  memory: 512,
  env: {},
});

/** Where secrets for NATS come from: always a reference, never the secret itself. */
export type NatsCredentialsRef = { secretArn: string } | { file: string } | { context: string };

/** The local platform's state backend: JetStream KV, or a Redis Cluster it starts itself (docs/topology.md). */
export interface LocalStateSettings {
  backend: "jetstream" | "redis";
  /** Redis Cluster primaries (each with one replica) */
  shards: number;
}

export interface LocalTarget {
  platform: "local";
  /** nats-server nodes the local platform starts: 1, or 3 or 5 for a JetStream cluster (streams R3) */
  nats: { cluster: 1 | 3 | 5 };
  /** where every service keeps its state (default: JetStream KV) */
  state?: LocalStateSettings;
  /** deploys ask for confirmation (or need --yes) */
  confirm: boolean;
}

export interface EcsTarget {
  platform: "ecs";
  region: string;
  /** ECS cluster name */
  cluster: string;
  /** image registry host, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com */
  registry: string;
  /** ECS service name of each fleet service; `{service}` is replaced by the fleet name */
  serviceNameFormat: string;
  /** AWS shared-config profile; the default credential chain when absent */
  profile?: string;
  confirm: boolean;
  /** `monitoring`: each server's HTTP monitoring endpoint (`gs status` reads the NATS layer there when the credentials are not a system-account user) */
  nats: { url: string; credentials?: NatsCredentialsRef; monitoring?: string[] };
}

export type Target = LocalTarget | EcsTarget;

/** One fleet service with `services.defaults` applied. */
export interface ServiceSettings {
  name: string;
  /** desired task / process count */
  desired: number;
  /** CPU units (Fargate sizes) */
  cpu: FargateCpu;
  /** MiB */
  memory: number;
  env: Record<string, string>;
  /** an HTTP service (the gateway): the loopback port the local platform opens for all its instances; 0 = a free one */
  port?: number;
  /** `gs deploy --canary` defaults for this service (`services.defaults.canary` merged under the service's own) */
  canary?: CanaryDefaults;
}

/** A service's `canary:` in gs.yaml: the defaults of `gs deploy --canary`'s flags, as written. */
export interface CanaryDefaults {
  /** what a bare `--canary` starts: instances (e.g. 1), or a percent of the desired count (e.g. `25%`) */
  size?: number | string;
  /** the analysis window, e.g. `2m` */
  analysis?: string;
  /** e.g. `1%` */
  maxErrorRate?: string;
  maxP99Ratio?: number;
  minRequests?: number;
  promoteOnNoTraffic?: boolean;
}

/** `status:` in gs.yaml: what `gs status --check` tolerates. */
export interface StatusSettings {
  /** a JetStream consumer with more messages pending than this is unhealthy */
  maxConsumerPending: number;
}

export const DEFAULT_STATUS_SETTINGS: Readonly<StatusSettings> = Object.freeze({ maxConsumerPending: 1000 });

export interface GsConfig {
  project: string;
  defaultTarget?: string;
  /** always holds `local`: it exists implicitly when gs.yaml does not declare it */
  targets: Record<string, Target>;
  /** by service name, defaults applied */
  services: Record<string, ServiceSettings>;
  status: StatusSettings;
  /** the file this config came from; absent for the built-in default config */
  file?: string;
}

// ---- building blocks -------------------------------------------------------------------------

const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const kebabName = (what: string, example: string) =>
  z.string().regex(KEBAB, {
    error: `expected a kebab-case ${what} name (lowercase letters, digits and dashes, e.g. ${example})`,
  });

const nonEmpty = (what: string) =>
  z
    .string()
    .trim()
    .min(1, { error: `expected ${what}, got an empty string` });

const NATS_URL_ITEM = /^(nats|tls):\/\/[^\s,/]+(\/[^\s,]*)?$/;
const natsUrl = z.string().refine((s) => s.split(",").every((u) => NATS_URL_ITEM.test(u.trim())), {
  error: "expected a NATS URL like nats://nats.internal:4222 (several separated by commas)",
});

const awsRegion = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, { error: "expected an AWS region like us-east-1" });

const registryHost = z.string().regex(/^[A-Za-z0-9.-]+(:\d+)?(\/[a-z0-9._/-]+)?$/, {
  error: "expected a registry host like 123456789012.dkr.ecr.us-east-1.amazonaws.com (no https://, no trailing slash)",
});

const serviceNameFormat = z
  .string()
  .refine((s) => s.includes("{service}"), { error: 'expected a format containing "{service}", e.g. "{service}-nats"' });

// Written as one object so a wrong key reads "unknown key", then narrowed to exactly one source.
const natsCredentials = z
  .strictObject({
    secretArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/, {
        error: "expected a Secrets Manager ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)",
      })
      .optional(),
    file: nonEmpty("a path to a .creds file").optional(),
    context: nonEmpty("a natscli context name").optional(),
  })
  .superRefine((c, ctx) => {
    const set = Object.values(c).filter((v) => v !== undefined).length;
    if (set !== 1) ctx.addIssue({ code: "custom", message: "expected exactly one of secretArn, file or context" });
  })
  .transform((c): NatsCredentialsRef => {
    if (c.secretArn !== undefined) return { secretArn: c.secretArn };
    if (c.file !== undefined) return { file: c.file };
    return { context: c.context! };
  });

const monitoringUrl = z.url({
  protocol: /^https?$/,
  error: "expected a monitoring endpoint URL like http://nats-1.internal:8222",
});

const localTarget = z.strictObject({
  platform: z.literal("local"),
  nats: z.strictObject({ cluster: z.literal([1, 3, 5]).default(1) }).default({ cluster: 1 }),
  state: z
    .strictObject({
      backend: z.enum(["jetstream", "redis"]).default("jetstream"),
      shards: z
        .int({ error: "expected a whole number of Redis primaries" })
        .min(3, { error: "a Redis Cluster needs 3 to 9 primaries" })
        .max(9, { error: "a Redis Cluster needs 3 to 9 primaries" })
        .default(3),
    })
    .optional(),
  confirm: z.boolean().default(false),
});

const ecsTarget = z.strictObject({
  platform: z.literal("ecs"),
  region: awsRegion,
  cluster: nonEmpty("an ECS cluster name"),
  registry: registryHost,
  serviceNameFormat: serviceNameFormat.default("{service}"),
  profile: nonEmpty("an AWS profile name").optional(),
  // a remote fleet is somebody's production until proven otherwise
  confirm: z.boolean().default(true),
  nats: z.strictObject({
    url: natsUrl,
    credentials: natsCredentials.optional(),
    monitoring: z.array(monitoringUrl).optional(),
  }),
});

const target = z.discriminatedUnion("platform", [localTarget, ecsTarget]);

const serviceFields = z.strictObject({
  desired: z
    .int({ error: "expected a whole number" })
    .min(0, { error: "expected a count from 0 to 100" })
    .max(100, { error: "expected a count from 0 to 100" })
    .optional(),
  cpu: z.literal(FARGATE_CPU).optional(),
  memory: z
    .int({ error: "expected a whole number of MiB" })
    .min(128, { error: "expected at least 128 MiB" })
    .optional(),
  env: z
    .record(
      z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: "expected an environment variable name (letters, digits, _)" }),
      z.string(),
    )
    .optional(),
  port: z
    .int({ error: "expected a TCP port number" })
    .min(0, { error: "expected a TCP port from 0 (a free one) to 65535" })
    .max(65535, { error: "expected a TCP port from 0 (a free one) to 65535" })
    .optional(),
  canary: z
    .strictObject({
      size: z
        .union(
          [
            z.int({ error: "expected a number of instances like 1, or a percent like 25%" }).min(1, {
              error: "expected at least 1 instance",
            }),
            z
              .string()
              .regex(/^\d+(\.\d+)?%$/, { error: "expected a number of instances like 1, or a percent like 25%" }),
          ],
          { error: "expected a number of instances like 1, or a percent like 25%" },
        )
        .optional(),
      analysis: z
        .string({ error: "expected a duration like 30s or 2m" })
        .regex(/^\d+(\.\d+)?(ms|s|m|h)$/, { error: "expected a duration like 30s or 2m" })
        .optional(),
      maxErrorRate: z
        .string({ error: "expected a percent like 1% or 0.5%" })
        .regex(/^(100|\d{1,2}(\.\d+)?)%$/, { error: "expected a percent like 1% or 0.5%" })
        .optional(),
      maxP99Ratio: z
        .number({ error: "expected a number" })
        .min(1, { error: "expected a ratio of at least 1" })
        .optional(),
      minRequests: z
        .int({ error: "expected a whole number of requests" })
        .min(1, { error: "expected at least 1 request" })
        .optional(),
      promoteOnNoTraffic: z.boolean().optional(),
    })
    .optional(),
});

// In YAML `auth:` with nothing after it is null: read it as "no overrides".
const orEmpty = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === null ? {} : v), schema);

const services = z.record(kebabName("service", "state-manager"), orEmpty(serviceFields)).superRefine((entries, ctx) => {
  // Fargate only runs certain cpu/memory pairs; catch a bad pair here, not at deploy time.
  const defaults = entries.defaults ?? {};
  for (const [name, s] of Object.entries(entries)) {
    if (name === "defaults" && Object.keys(entries).length > 1) continue; // checked through each service
    const cpu = s.cpu ?? defaults.cpu ?? BUILTIN_SERVICE_DEFAULTS.cpu;
    const memory = s.memory ?? defaults.memory ?? BUILTIN_SERVICE_DEFAULTS.memory;
    const allowed = fargateMemory(cpu) as number[] | undefined;
    if (allowed && !allowed.includes(memory)) {
      const at = s.memory !== undefined ? "memory" : s.cpu !== undefined ? "cpu" : undefined;
      ctx.addIssue({
        code: "custom",
        path: at ? [name, at] : ["defaults", defaults.memory !== undefined ? "memory" : "cpu"],
        message: `Fargate does not run ${cpu} CPU units with ${memory} MiB; with ${cpu} it allows ${describeMemory(cpu)}`,
      });
    }
  }
});

export const configSchema = z
  .strictObject({
    project: kebabName("project", "game-backend"),
    defaultTarget: z.string().optional(),
    targets: orEmpty(z.record(kebabName("target", "staging"), target)).default({}),
    services: orEmpty(services).default({}),
    status: orEmpty(
      z.strictObject({
        maxConsumerPending: z
          .int({ error: "expected a whole number of messages" })
          .min(0, { error: "expected a whole number of messages" })
          .optional(),
      }),
    ).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.defaultTarget !== undefined && c.defaultTarget !== "local" && !(c.defaultTarget in c.targets)) {
      const known = ["local", ...Object.keys(c.targets).filter((t) => t !== "local")].join(", ");
      ctx.addIssue({
        code: "custom",
        path: ["defaultTarget"],
        message: `no target named "${c.defaultTarget}" (known: ${known})`,
      });
    }
  });

export type RawConfig = z.output<typeof configSchema>;

/** Memory sizes (MiB) Fargate accepts for a CPU size. */
export function fargateMemory(cpu: FargateCpu): number[] {
  const range = (from: number, to: number, step = 1024) =>
    Array.from({ length: (to - from) / step + 1 }, (_, i) => from + i * step);
  switch (cpu) {
    case 256:
      return [512, 1024, 2048];
    case 512:
      return range(1024, 4096);
    case 1024:
      return range(2048, 8192);
    case 2048:
      return range(4096, 16384);
    case 4096:
      return range(8192, 30720);
  }
}

function describeMemory(cpu: FargateCpu): string {
  const m = fargateMemory(cpu);
  return m.length <= 4
    ? `${m.slice(0, -1).join(", ")} or ${m.at(-1)} MiB`
    : `${m[0]} to ${m.at(-1)} MiB in steps of 1024`;
}

/** Turn the validated file into a GsConfig: implicit local target, defaults merged into each service. */
export function resolveConfig(raw: RawConfig, file?: string): GsConfig {
  const targets: Record<string, Target> = { local: { platform: "local", nats: { cluster: 1 }, confirm: false } };
  Object.assign(targets, raw.targets);
  const { defaults = {}, ...named } = raw.services;
  const base = { ...BUILTIN_SERVICE_DEFAULTS, ...stripUndefined(defaults) };
  const servicesByName: Record<string, ServiceSettings> = {};
  for (const name of Object.keys(named).sort()) {
    const s = named[name]!;
    const canary = base.canary || s.canary ? { ...base.canary, ...stripUndefined(s.canary ?? {}) } : undefined;
    servicesByName[name] = {
      name,
      desired: s.desired ?? base.desired,
      cpu: s.cpu ?? base.cpu,
      memory: s.memory ?? base.memory,
      env: { ...base.env, ...s.env },
      ...(s.port !== undefined ? { port: s.port } : {}),
      ...(canary ? { canary } : {}),
    };
  }
  const cfg: GsConfig = {
    project: raw.project,
    targets,
    services: servicesByName,
    status: { ...DEFAULT_STATUS_SETTINGS, ...stripUndefined(raw.status ?? {}) },
  };
  if (raw.defaultTarget !== undefined) cfg.defaultTarget = raw.defaultTarget;
  if (file !== undefined) cfg.file = file;
  return cfg;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
