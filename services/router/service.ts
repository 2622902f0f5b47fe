// router: forwards a request to a live instance offering a capability (resolved through capability-registry,
// round-robin among the live ones) and returns its reply, as protobuf bytes or as JSON encoded through
// the target rpc's proto types.
// Env: ROUTER_TIMEOUT_MS (per-attempt timeout when the request gives none, default 3000).
// State: none in the store; the round-robin position is a per-instance cursor in memory (any order is valid).
// Events: RequestForwardedEvent, ForwardFailedEvent.
import { headers as natsHeaders } from "@nats-io/transport-node";
import { defineService, type CallContext, ServiceBase, type RpcHandlers } from "../sdk/runtime.js";
import { badRequest, ServiceError, unavailable } from "../sdk/errors.js";
import { DEADLINE_HEADER, ERROR_CODE_HEADER, ERROR_HEADER, translateRequestError } from "../sdk/client.js";
import { decodeToJson, encodeJson, SchemaError } from "../sdk/json-codec.js";
import { outgoingTrace, spanError, TRACEPARENT_HEADER } from "../sdk/trace.js";
import type { RpcDef } from "../sdk/registry.js";
import { chooseMethod, retryable, RoundRobin, targetsFor, type Instance, type Target } from "./domain.js";
import type {
  ForwardRequest,
  ForwardResponse,
  ResolveRequest,
  ResolveResponse,
  RouterServiceRpcs,
} from "../generated/router/v1/router.js";

const CAPABILITY = /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$/;
const METHOD = /^[A-Z][A-Za-z0-9]{0,63}$/;

function validate(capability: string, method: string): void {
  if (!capability) throw badRequest("capability is required");
  if (!CAPABILITY.test(capability) || capability.length > 128)
    throw badRequest(`capability "${capability.slice(0, 128)}" must be dotted lowercase (e.g. quest.start)`);
  if (method && !METHOD.test(method))
    throw badRequest(`method "${method.slice(0, 64)}" must be a PascalCase rpc name (e.g. StartQuest)`);
}

class Router extends ServiceBase implements RpcHandlers<RouterServiceRpcs> {
  private readonly defaultTimeout = Number(this.ctx.env.ROUTER_TIMEOUT_MS || 3000);
  private readonly rr = new RoundRobin();
  private readonly forwardFailed = async (
    capability: string,
    method: string,
    code: number,
    message: string,
    attempts: number,
  ) => {
    await this.ctx.events
      .publish("ForwardFailedEvent", {
        capability,
        method,
        error: { code: code === 503 ? "UNAVAILABLE" : code === 504 ? "TIMEOUT" : `HTTP_${code}`, message },
        attempts,
        at: new Date().toISOString(),
      })
      .catch((err) => this.ctx.log.warn("could not publish ForwardFailedEvent", { err: (err as Error).message }));
  };

  async Forward(req: ForwardRequest, call: CallContext): Promise<ForwardResponse> {
    validate(req.capability, req.method);
    if (req.timeoutMs > 60_000) throw badRequest("timeout_ms must be at most 60000");
    if (req.retries > 5) throw badRequest("retries must be at most 5");
    const asJson = req.payloadJson !== undefined;
    let parsed: unknown;
    if (asJson) {
      try {
        parsed = JSON.parse(req.payloadJson!);
      } catch (err) {
        throw badRequest(`payload_json is not valid JSON: ${(err as Error).message}`);
      }
    }

    const { method, targets } = await this.resolve(req.capability, req.method);
    if (!targets.length) {
      await this.forwardFailed(req.capability, method, 503, "no live instance offers the capability", 0);
      throw unavailable(`no live service offers ${req.capability}`);
    }
    /** The request as the target's rpc expects it: bytes as given, or the JSON encoded through its proto type. */
    const encodeFor = (target: Target): { rpc?: RpcDef; data: Uint8Array } => {
      if (!asJson) return { data: Buffer.from(req.payloadBytes ?? "", "base64") };
      const rpc = this.ctx.registry.rpc(target.subject);
      if (!rpc)
        throw badRequest(
          `payload_json needs a subject known to the proto registry; ${target.subject} is not: send payload_bytes`,
        );
      try {
        return { rpc, data: encodeJson(rpc.request, parsed) };
      } catch (err) {
        if (err instanceof SchemaError)
          throw badRequest(`payload_json does not fit ${rpc.request.name}: ${err.message}`);
        throw err;
      }
    };

    const started = Date.now();
    let attempts = 0;
    let last: ServiceError | Error | undefined;
    for (const target of this.rr.take(`${req.capability}#${method}`, targets, 1 + req.retries)) {
      const { rpc, data } = encodeFor(target);
      const timeout = Math.min(req.timeoutMs || this.defaultTimeout, call.deadline - Date.now() - 50);
      if (timeout <= 0) {
        last = new ServiceError(504, `deadline passed before ${target.subject} could be tried`);
        break;
      }
      attempts++;
      const h = natsHeaders();
      h.set(DEADLINE_HEADER, String(Date.now() + timeout));
      const trace = outgoingTrace(target.subject, "client", call.trace);
      if (trace) h.set(TRACEPARENT_HEADER, trace.traceparent);
      try {
        const reply = await this.ctx.nc.request(target.subject, data, { timeout, headers: h });
        const code = reply.headers?.get(ERROR_CODE_HEADER);
        trace?.end(
          code ? { code: Number(code) || 500, message: reply.headers?.get(ERROR_HEADER) || "error" } : undefined,
        );
        if (code) {
          // the callee answered: its error is the answer, no retry
          last = new ServiceError(Number(code) || 500, reply.headers?.get(ERROR_HEADER) || "error");
          break;
        }
        let payload: { payloadJson: string } | { payloadBytes: string };
        try {
          payload = rpc
            ? { payloadJson: JSON.stringify(decodeToJson(rpc.response, reply.data)) }
            : { payloadBytes: Buffer.from(reply.data).toString("base64") };
        } catch (err) {
          throw new ServiceError(
            502,
            `${target.subject} sent a reply that is not a ${rpc?.response.name}: ${(err as Error).message}`,
          );
        }
        const latencyMs = Date.now() - started;
        await this.ctx.events
          .publish("RequestForwardedEvent", {
            capability: req.capability,
            method,
            target,
            latencyMs,
            attempts,
            at: new Date().toISOString(),
          })
          .catch((err) =>
            this.ctx.log.warn("could not publish RequestForwardedEvent", { err: (err as Error).message }),
          );
        return { target, ...payload, latencyMs, attempts };
      } catch (err) {
        last = translateRequestError(err, target.subject);
        trace?.end(spanError(last));
        this.ctx.log.warn("forward attempt failed", {
          subject: target.subject,
          instance: target.instanceId,
          err: last.message,
        });
        if (!(last instanceof ServiceError) || !retryable(last.code)) break;
      }
    }
    const code = last instanceof ServiceError ? last.code : 500;
    const message = last?.message ?? "forward failed";
    await this.forwardFailed(req.capability, method, code, message, attempts);
    throw new ServiceError(code, message);
  }

  async Resolve(req: ResolveRequest): Promise<ResolveResponse> {
    validate(req.capability, req.method);
    const { method, targets } = await this.resolve(req.capability, req.method);
    const chosen = this.rr.peek(`${req.capability}#${method}`, targets);
    return chosen ? { found: true, chosen, candidates: targets } : { found: false, candidates: [] };
  }

  private async resolve(capability: string, method: string): Promise<{ method: string; targets: Target[] }> {
    let instances: Instance[];
    try {
      instances = (await this.ctx.client.call<{ instances: Instance[] }>("capability-registry.lookup", { capability }))
        .instances;
    } catch (err) {
      if (err instanceof ServiceError && err.code >= 500)
        throw unavailable(`capability-registry is unavailable: ${err.message}`);
      throw err;
    }
    if (!instances.length) return { method, targets: [] };
    let chosen: string;
    try {
      chosen = chooseMethod(instances, capability, method);
    } catch (err) {
      throw badRequest((err as Error).message);
    }
    return { method: chosen, targets: targetsFor(instances, capability, chosen) };
  }
}

export default defineService({
  name: "router",
  description: "Forwards requests to a live service offering a capability, resolved through capability-registry",
  start: (ctx) => new Router(ctx),
});
