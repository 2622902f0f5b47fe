// Which store a service's state is in, named as the SDK names it (services/sdk/permissions.ts):
// JetStream KV bucket `gs_<service>`, or the Redis keys of namespace `<service>` (one server or a
// cluster). A service reads GS_STATE_BACKEND and GS_REDIS_URL from its environment; gs.yaml's
// `services.<name>.env` is that environment, so gs reads the same settings from there unless the
// user names the store (--backend, --redis-url, or the same variables in gs's own environment).
import { kvBucketOf, storeNamespaceOf } from "@gs/fleet/sdk/permissions";
import { UsageError } from "../output/errors.js";
import { STATE_BACKENDS, type StateBackend } from "./state-backends.js";

export type { StateBackend } from "./state-backends.js";

export type StateSource =
  | { backend: "jetstream"; service: string; bucket: string }
  | {
      backend: "redis" | "redis-cluster";
      service: string;
      namespace: string;
      /** may hold a password: never printed (see describeStateSource) */
      url: string;
    };

export interface StateSourceInput {
  service: string;
  /** --backend (or GS_STATE_BACKEND in gs's environment) */
  backend?: string;
  /** --redis-url (or GS_REDIS_URL in gs's environment) */
  redisUrl?: string;
  /** the service's environment in gs.yaml (defaults applied), when there is a gs.yaml */
  serviceEnv?: Record<string, string>;
  /** the local fleet's Redis Cluster (`gs up --state redis`): used when nothing above names a store */
  fleet?: { backend: "redis-cluster"; url: string };
}

/** Where the given settings say `service` keeps its state; throws a UsageError when they cannot be used. */
export function resolveStateSource(input: StateSourceInput): StateSource {
  const env = input.serviceEnv ?? {};
  if (input.backend === undefined && input.redisUrl === undefined && !env.GS_STATE_BACKEND && input.fleet)
    return { ...input.fleet, service: input.service, namespace: storeNamespaceOf(input.service) };
  const named = input.backend ?? env.GS_STATE_BACKEND ?? "jetstream";
  const from =
    input.backend !== undefined ? "--backend" : `GS_STATE_BACKEND in gs.yaml (services.${input.service}.env)`;
  if (!(STATE_BACKENDS as readonly string[]).includes(named))
    throw new UsageError(
      `unknown state backend "${named}" (from ${from})`,
      `use one of ${STATE_BACKENDS.join(", ")}`,
      "unknown_backend",
    );
  const backend = named as StateBackend;
  if (backend === "jetstream") return { backend, service: input.service, bucket: kvBucketOf(input.service) };
  const url = input.redisUrl ?? env.GS_REDIS_URL;
  if (!url)
    throw new UsageError(
      `${input.service} keeps its state in Redis (${backend}) but no Redis address is known`,
      `pass --redis-url redis://host:port (or set GS_REDIS_URL in services.${input.service}.env of gs.yaml)`,
      "no_redis_url",
    );
  if (redisUrls(url).length > 1 && backend === "redis")
    throw new UsageError(
      `the Redis URL of ${input.service} lists several servers, but its backend is redis (one server)`,
      "for a Redis Cluster use --backend redis-cluster (GS_STATE_BACKEND=redis-cluster)",
      "bad_redis_url",
    );
  return { backend, service: input.service, namespace: storeNamespaceOf(input.service), url };
}

/** The store in words, for notes and --json: never the Redis password. */
export function describeStateSource(s: StateSource): string {
  if (s.backend === "jetstream") return `JetStream KV bucket ${s.bucket}`;
  const hosts = redisUrls(s.url).map((u) => u.host);
  return `${s.backend === "redis" ? "Redis" : "Redis Cluster"} ${hosts.join(",")} namespace ${s.namespace}`;
}

/**
 * The redis:// (or rediss://) URLs of a GS_REDIS_URL value, a comma-separated list as the SDK reads it.
 * A bad one is a usage error that does not repeat the value (it may hold a password).
 */
export function redisUrls(list: string): URL[] {
  const items = list
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = () =>
    new UsageError(
      "the Redis URL is not valid",
      "use redis://[user:password@]host:port (rediss:// for TLS; several separated by commas for a cluster)",
      "bad_redis_url",
    );
  if (items.length === 0) throw bad();
  return items.map((item) => {
    let u: URL;
    try {
      u = new URL(item);
    } catch {
      throw bad();
    }
    if ((u.protocol !== "redis:" && u.protocol !== "rediss:") || !u.hostname) throw bad();
    return u;
  });
}
