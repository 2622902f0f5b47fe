// Reflection over NATS: every instance serves the compiled descriptors of the protos it was built
// with (a google.protobuf.FileDescriptorSet, imports included) and advertises their digest in its
// $SRV.INFO metadata, so a client without the .proto files can decode the fleet's messages.
// The protocol (docs/schemas.md):
//   $SRV.INFO metadata  gs.schema.digest  = sha256 hex of the set's bytes
//                       gs.schema.subject = gs.schema.<service>.<digest>
//   a request (any payload) on gs.schema.<service>.<digest>, answered in the queue group `gs`,
//   gets the set's exact bytes back.
import { createHash } from "node:crypto";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";

export const SCHEMA_DIGEST_KEY = "gs.schema.digest";
export const SCHEMA_SUBJECT_KEY = "gs.schema.subject";
export const SCHEMA_SUBJECT_PREFIX = "gs.schema";
/** the queue group schema requests are answered in (the endpoints' group) */
export const SCHEMA_QUEUE_GROUP = "gs";

/** sha256 hex of a descriptor set's bytes: its name in the protocol and in caches. */
export function schemaDigest(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The subject one service's descriptor set of one digest is served on. */
export function schemaSubject(service: string, digest: string): string {
  return `${SCHEMA_SUBJECT_PREFIX}.${service}.${digest}`;
}

/** The $SRV.INFO metadata advertising a service's descriptor set. */
export function schemaMetadata(service: string, digest: string): Record<string, string> {
  return { [SCHEMA_DIGEST_KEY]: digest, [SCHEMA_SUBJECT_KEY]: schemaSubject(service, digest) };
}

/** Answer schema requests with `bytes` until the subscription is drained or unsubscribed. */
export function serveSchema(nc: NatsConnection, service: string, bytes: Uint8Array): Subscription {
  const digest = schemaDigest(bytes);
  return nc.subscribe(schemaSubject(service, digest), {
    queue: SCHEMA_QUEUE_GROUP,
    callback: (err, msg) => {
      if (!err) msg.respond(bytes);
    },
  });
}
