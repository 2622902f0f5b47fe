// Collecting a trace on a real nats-server, against a responder that plays the hops: what gs sends,
// how long it waits for late spans, and what it ignores.
import { connect, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultRegistry } from "../../../services/sdk/runtime.js";
import { parseTraceparent, traceSubject, TRACEPARENT_HEADER, type SpanRecord } from "../../../services/sdk/trace.js";
import { startNatsServer, type TestNatsServer } from "../../../test/support/nats-server.js";
import { prepareTrace, traceRequest } from "./collect-trace.js";

const SUBJECT = "payment.get-balance";
const registry = defaultRegistry();
const prepared = prepareTrace(registry, { subject: SUBJECT, json: { playerId: "p1" }, timeout: 5000 });

describe("collecting a trace", () => {
  let server: TestNatsServer;
  let nc: NatsConnection;
  let hops: NatsConnection;
  /** what the responder does with each request: reply at once, then report spans after the given delays */
  let plan: { delays: number[]; garbage?: boolean } = { delays: [] };
  const received: string[] = [];

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    hops = await connect({ servers: server.url });
    hops.subscribe(SUBJECT, {
      callback: (_e, m: Msg) => {
        const header = m.headers?.get(TRACEPARENT_HEADER) ?? "";
        received.push(header);
        const tp = parseTraceparent(header)!;
        m.respond(new Uint8Array());
        plan.delays.forEach((ms, i) =>
          setTimeout(() => {
            const span: SpanRecord = {
              trace_id: tp.traceId,
              span_id: `${i + 1}`.padStart(16, "a"),
              parent_id: tp.parentId,
              kind: "server",
              service: "payment",
              instance: "i",
              version: "1",
              subject: SUBJECT,
              start_unix_ms: Date.now(),
              duration_ms: 1,
              status: "ok",
            };
            hops.publish(traceSubject(tp.traceId), JSON.stringify(span));
          }, ms),
        );
        if (plan.garbage) {
          hops.publish(traceSubject(tp.traceId), "not json");
          hops.publish(traceSubject(tp.traceId), JSON.stringify({ trace_id: tp.traceId, span_id: 7 }));
          hops.publish(traceSubject(tp.traceId), JSON.stringify({ trace_id: "f".repeat(32), kind: "server" }));
        }
      },
    });
    await hops.flush();
  });
  afterAll(async () => {
    await hops?.close();
    await nc?.close();
    await server?.stop();
  });

  it("sends a sampled traceparent naming its own span, and returns gs's span as the root", async () => {
    plan = { delays: [0] };
    const run = await traceRequest(nc, registry, prepared, { subject: SUBJECT, timeout: 5000, settleMs: 200 });
    const sent = parseTraceparent(received.at(-1))!;
    expect(sent).toEqual({ traceId: run.trace_id, parentId: run.root.span_id, flags: 1 });
    expect(run.root).toMatchObject({ kind: "client", service: "gs", parent_id: "", status: "ok", subject: SUBJECT });
    expect(run.spans).toHaveLength(1);
    expect(run.reply).toEqual({ playerId: "", balances: [] });
  });

  it("waits for spans that come after the reply, for as long as they keep coming within the settle time", async () => {
    // each span 150 ms after the one before: a settle time of 250 ms sees them all
    plan = { delays: [150, 300, 450] };
    const t0 = performance.now();
    const run = await traceRequest(nc, registry, prepared, { subject: SUBJECT, timeout: 5000, settleMs: 250 });
    expect(run.spans).toHaveLength(3);
    // and stops once they stopped: the last came at ~450 ms, plus 250 ms of quiet
    expect(performance.now() - t0).toBeLessThan(450 + 250 + 1500);
  });

  it("stops at the settle time and leaves out what comes later", async () => {
    plan = { delays: [0, 600] };
    const run = await traceRequest(nc, registry, prepared, { subject: SUBJECT, timeout: 5000, settleMs: 150 });
    expect(run.spans).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 600)); // let the late one pass before the next test
  });

  it("ignores what is not a span of its trace", async () => {
    plan = { delays: [50], garbage: true };
    const run = await traceRequest(nc, registry, prepared, { subject: SUBJECT, timeout: 5000, settleMs: 200 });
    expect(run.spans.map((s) => s.span_id)).toEqual(["aaaaaaaaaaaaaaa1"]);
  });

  it("stops collecting at once when interrupted, keeping what came", async () => {
    plan = { delays: [0, 400] };
    const abort = new AbortController();
    const t0 = performance.now();
    const run = await traceRequest(nc, registry, prepared, {
      subject: SUBJECT,
      timeout: 5000,
      settleMs: 10_000,
      signal: abort.signal,
      onSpan: (_root, spans, replied) => {
        if (replied && spans.length === 1) abort.abort();
      },
    });
    expect(run.spans).toHaveLength(1);
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});
