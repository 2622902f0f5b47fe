// Runs curated examples against a fleet, in their documented order, and says which did not get the
// reply they document (a success, or the error of their `example-error` line).
import type { NatsConnection } from "@nats-io/transport-node";
import { FleetClient } from "@gs/fleet/sdk/client";
import type { JsonObject } from "@gs/fleet/sdk/json-codec";
import type { ProtoRegistry } from "@gs/fleet/sdk/registry";
import { REFERENCE, type RpcExamples } from "./examples.js";

export interface ExampleOutcome {
  subject: string;
  request: JsonObject;
  /** the reply's JSON, or the error it was answered with */
  reply?: JsonObject;
  error?: { code: number; message: string };
  /** undefined when the outcome is the documented one */
  problem?: string;
}

export async function runExamples(
  nc: NatsConnection,
  registry: ProtoRegistry,
  ordered: RpcExamples[],
  opts: { timeoutMs?: number } = {},
): Promise<ExampleOutcome[]> {
  const client = new FleetClient(nc, registry, opts.timeoutMs ?? 10_000);
  const out: ExampleOutcome[] = [];
  const replies = new Map<string, JsonObject>();
  for (const rpc of ordered) {
    for (const ex of rpc.examples) {
      const outcome: ExampleOutcome = { subject: rpc.subject, request: ex.request };
      try {
        outcome.request = resolveReferences(ex.request, replies) as JsonObject;
        const reply = await client.call(rpc.subject, outcome.request);
        outcome.reply = reply;
        replies.set(rpc.subject, reply);
        if (ex.error) outcome.problem = `expected error ${ex.error.code} ${ex.error.text}, got a success reply`;
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        const message = (err as Error).message;
        outcome.error = { code: typeof code === "number" ? code : 0, message };
        if (!ex.error) outcome.problem = `answered with error ${outcome.error.code}: ${message}`;
        else if (ex.error.code !== outcome.error.code || !message.includes(ex.error.text))
          outcome.problem = `expected error ${ex.error.code} ${ex.error.text}, got ${outcome.error.code}: ${message}`;
      }
      out.push(outcome);
    }
  }
  return out;
}

/** The request with each "{{SUBJECT:PATH}}" replaced by that value of SUBJECT's last reply. */
export function resolveReferences(value: unknown, replies: Map<string, JsonObject>): unknown {
  if (typeof value === "string") {
    const m = REFERENCE.exec(value);
    if (!m) return value;
    let v: unknown = replies.get(m[1]!);
    if (v === undefined) throw new Error(`${value}: ${m[1]} has no reply to take it from (did its example fail?)`);
    for (const key of m[2]!.split(".")) v = (v as Record<string, unknown> | undefined)?.[key];
    if (v === undefined) throw new Error(`${value}: the reply of ${m[1]} has no ${m[2]}`);
    return v;
  }
  if (Array.isArray(value)) return value.map((v) => resolveReferences(v, replies));
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveReferences(v, replies)]));
  return value;
}
