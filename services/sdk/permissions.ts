// Least-privilege NATS permissions for each service, derived from the proto registry (its own rpc
// subjects and events) plus the one thing the protos do not say: which services a service calls.
// `gs up --secure` puts these in nats-server's config; an ECS deployment uses the same lists.
import type { ProtoRegistry, ServiceDef } from "./registry.js";
import { SCHEMA_SUBJECT_PREFIX } from "./schema.js";
import { TRACE_SUBJECT_PREFIX } from "./trace.js";

/** A service's calls: other fleet services by name, or "*" for every rpc subject of the fleet. */
export interface ServiceAccess {
  calls: readonly string[] | "*";
  /** administers the EVENTS stream (publish any `events.>`, create/read/delete consumers) */
  eventsAdmin?: boolean;
}

/**
 * The call graph, kept next to the code it describes (permissions.test.ts, beside it, checks it
 * against every subject literal in the services' sources). Only router dispatches to subjects
 * it learns at run time (from capability-registry), so only it may request any rpc subject.
 */
export const FLEET_ACCESS: Readonly<Record<string, ServiceAccess>> = {
  "ai-router": { calls: ["model-management", "ai-integration"] },
  "environmental-narrative": { calls: ["world-state", "weather-manager", "time-manager"] },
  "event-bus": { calls: [], eventsAdmin: true },
  orchestration: { calls: ["payment", "world-state"] },
  router: { calls: "*" },
  "weather-manager": { calls: ["time-manager"] },
};

export interface NatsPermissions {
  publish: { allow: string[]; deny?: string[] };
  subscribe: { allow: string[] };
  /** may answer the requests it received (and nothing else on their reply subjects) */
  allow_responses: true;
}

/** The inbox prefix a service uses, so it can subscribe to its own replies and nobody else's. */
export function inboxPrefixOf(service: string): string {
  return `_INBOX_${service}`;
}

/** A service's name made safe for a KV bucket or Redis key prefix (see state.ts openStore). */
export function storeNamespaceOf(service: string): string {
  return service.replace(/[^-_a-zA-Z0-9]/g, "_");
}

/** The JetStream KV bucket of a service (see state.ts openStore). */
export function kvBucketOf(service: string): string {
  return `gs_${storeNamespaceOf(service)}`;
}

/** The JetStream KV bucket's stream of a service. */
export function kvStreamOf(service: string): string {
  return `KV_${kvBucketOf(service)}`;
}

/** Every subject a service may publish to and subscribe to. Throws for a service without protos. */
export function servicePermissions(
  registry: ProtoRegistry,
  service: string,
  access: ServiceAccess = FLEET_ACCESS[service] ?? { calls: [] },
): NatsPermissions {
  const def = registry.service(service);
  if (!def) throw new Error(`no proto service for ${service}`);
  const kv = kvStreamOf(service);
  const bucket = kvBucketOf(service);
  const callees: ServiceDef[] =
    access.calls === "*"
      ? registry.services
      : access.calls.map((name) => {
          const callee = registry.service(name);
          if (!callee) throw new Error(`${service} calls ${name}, which has no proto service`);
          return callee;
        });
  const publish = [
    // its own events, acknowledged by JetStream
    ...(access.eventsAdmin ? ["events.>"] : [`events.${service}.>`]),
    // the requests it makes
    ...callees.flatMap((c) => c.rpcs.map((r) => r.subject)),
    // JetStream: account info, the EVENTS stream (created by whichever instance comes first)
    "$JS.API.INFO",
    "$JS.API.STREAM.INFO.EVENTS",
    "$JS.API.STREAM.CREATE.EVENTS",
    // its own KV bucket: create, read, write, watch
    `$JS.API.*.*.${kv}`,
    `$JS.API.*.*.${kv}.>`,
    `$JS.API.*.*.*.${kv}`,
    `$JS.API.*.*.*.${kv}.>`,
    `$KV.${bucket}.>`,
    `$JS.ACK.${kv}.>`,
    `$JS.FC.${kv}.>`,
    // its own health check (services/sdk/health.ts)
    `$SRV.PING.${service}.*`,
    // the spans of sampled requests (services/sdk/trace.ts), one subject per trace
    `${TRACE_SUBJECT_PREFIX}.*`,
  ];
  const deny: string[] = [];
  if (access.eventsAdmin) {
    publish.push(
      "$JS.API.*.*.EVENTS",
      "$JS.API.*.*.EVENTS.>",
      "$JS.API.*.*.*.EVENTS.>",
      "$JS.ACK.EVENTS.>",
      "$JS.FC.EVENTS.>",
    );
    deny.push("$JS.API.STREAM.DELETE.EVENTS", "$JS.API.STREAM.PURGE.EVENTS", "$JS.API.STREAM.UPDATE.EVENTS");
  }
  const subscribe = [
    ...def.rpcs.map((r) => r.subject),
    // the micro protocol: discovery of all services, and of this one by name and id
    "$SRV.PING",
    "$SRV.INFO",
    "$SRV.STATS",
    `$SRV.*.${service}`,
    `$SRV.*.${service}.*`,
    // its descriptor set, by digest (schema.ts)
    `${SCHEMA_SUBJECT_PREFIX}.${service}.*`,
    `${inboxPrefixOf(service)}.>`,
  ];
  return {
    publish: { allow: [...new Set(publish)], ...(deny.length ? { deny } : {}) },
    subscribe: { allow: subscribe },
    allow_responses: true,
  };
}

/** The HTTP gateway's fleet name: a member without protos of its own (services/gateway/process.ts). */
export const GATEWAY_SERVICE = "gateway";
/** The gateway's one micro endpoint: its stats are the HTTP requests; a request to it answers with the HTTP address. */
export const GATEWAY_STATS_SUBJECT = "gateway.http";

/** The gateway forwards HTTP to any rpc of the fleet: it may request every rpc subject and answer only its own. */
export function gatewayPermissions(registry: ProtoRegistry): NatsPermissions {
  const service = GATEWAY_SERVICE;
  return {
    publish: {
      allow: [
        ...new Set(registry.services.flatMap((s) => s.rpcs.map((r) => r.subject))),
        `$SRV.PING.${service}.*`,
        `${TRACE_SUBJECT_PREFIX}.*`,
      ],
    },
    subscribe: {
      allow: [
        GATEWAY_STATS_SUBJECT,
        "$SRV.PING",
        "$SRV.INFO",
        "$SRV.STATS",
        `$SRV.*.${service}`,
        `$SRV.*.${service}.*`,
        `${inboxPrefixOf(service)}.>`,
      ],
    },
    allow_responses: true,
  };
}
