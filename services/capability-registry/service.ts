// capability-registry: instances announce capabilities under a TTL lease; lookups see live leases only.
// Env:
//   CAPABILITY_DEFAULT_TTL_MS  lease when Register gives none (default 30000)
//   CAPABILITY_MIN_TTL_MS      shortest lease (default 1000)
//   CAPABILITY_MAX_TTL_MS      longest lease (default 600000)
//   CAPABILITY_SWEEP_MS        how often expired leases are dropped in the background (default 5000; 0 = only on reads)
// State: `instance.<instanceId>` -> Lease (expiry in the value; deleted with its revision so exactly one
//   instance of this service drops it and publishes CapabilityExpiredEvent).
// Events: CapabilityRegisteredEvent, CapabilityUnregisteredEvent, CapabilityExpiredEvent.
import { defineService, ServiceBase, type RpcHandlers, type ServiceContext } from "../sdk/runtime.js";
import { badRequest } from "../sdk/errors.js";
import { RevisionConflict, type Versioned } from "../sdk/state.js";
import {
  capabilityIndex,
  clampTtl,
  CAPABILITY_NAME,
  durationToMs,
  isLive,
  lookup,
  msToDuration,
  normalizeCapabilities,
  parseSemver,
  sameOffer,
  validateRegistration,
  type Lease,
} from "./domain.js";
import type {
  CapabilityRegistryServiceRpcs,
  HeartbeatRequest,
  HeartbeatResponse,
  ListRegistrationsRequest,
  ListRegistrationsResponse,
  LookupRequest,
  LookupResponse,
  RegisterRequest,
  RegisterResponse,
  ServiceInstance,
  UnregisterRequest,
  UnregisterResponse,
} from "../generated/capability_registry/v1/capability_registry.js";

const key = (instanceId: string) => `instance.${instanceId}`;

function toInstance(l: Lease): ServiceInstance {
  return {
    instanceId: l.instanceId,
    serviceName: l.serviceName,
    capabilities: l.capabilities,
    version: l.version,
    metadata: l.metadata,
    ttl: msToDuration(l.ttlMs),
    registeredAt: l.registeredAt,
    lastHeartbeatAt: l.lastHeartbeatAt,
    expiresAt: new Date(l.expiresAtMs).toISOString(),
  };
}

function requireInstanceId(id: string): string {
  if (!id) throw badRequest("instance_id is required");
  if (id.length > 128) throw badRequest("instance_id is too long (max 128)");
  return id;
}

const sweeps = new Set<Promise<unknown>>();

class CapabilityRegistry extends ServiceBase implements RpcHandlers<CapabilityRegistryServiceRpcs> {
  private readonly env = this.ctx.env;
  private readonly limits = {
    defaultMs: Number(this.env.CAPABILITY_DEFAULT_TTL_MS || 30_000),
    minMs: Number(this.env.CAPABILITY_MIN_TTL_MS || 1_000),
    maxMs: Number(this.env.CAPABILITY_MAX_TTL_MS || 600_000),
  };
  private readonly sweepMs = Number(this.env.CAPABILITY_SWEEP_MS ?? 5_000);

  constructor(ctx: ServiceContext) {
    super(ctx);
    if (this.sweepMs > 0) {
      const timer = setInterval(() => {
        const p = this.liveLeases()
          .catch((err) => ctx.log.warn("lease sweep failed", { err: (err as Error).message }))
          .finally(() => sweeps.delete(p));
        sweeps.add(p);
      }, this.sweepMs);
      timer.unref();
      ctx.signal.addEventListener("abort", () => clearInterval(timer), { once: true });
    }
  }

  async Register(req: RegisterRequest): Promise<RegisterResponse> {
    const problems = validateRegistration(req);
    const ttlRequested = durationToMs(req.ttl);
    if (Number.isNaN(ttlRequested) || ttlRequested < 0) problems.push("ttl must be a positive duration");
    if (req.version.length > 64) problems.push("version: at most 64 characters");
    if (problems.length) throw badRequest(problems.join("; "));
    const existing = await this.ctx.state.get<Lease>(key(req.instanceId));
    if (existing && !isLive(existing.value, Date.now())) await this.expire(existing);

    const offer = {
      serviceName: req.serviceName,
      version: req.version,
      capabilities: normalizeCapabilities(req.capabilities),
      metadata: req.metadata,
    };
    const ttlMs = clampTtl(ttlRequested, this.limits);
    let created = false;
    let changed = false;
    const saved = await this.ctx.state.update<Lease>(key(req.instanceId), (cur) => {
      const now = Date.now();
      const live = cur && isLive(cur, now);
      created = !live;
      changed = !live || !sameOffer(cur, offer);
      const nowIso = new Date(now).toISOString();
      return {
        instanceId: req.instanceId,
        ...offer,
        ttlMs,
        registeredAt: live ? cur.registeredAt : nowIso,
        lastHeartbeatAt: nowIso,
        expiresAtMs: now + ttlMs,
      };
    });
    const instance = toInstance(saved.value);
    if (changed) {
      await this.ctx.events.publish("CapabilityRegisteredEvent", {
        instanceId: instance.instanceId,
        serviceName: instance.serviceName,
        capabilities: instance.capabilities,
        expiresAt: instance.expiresAt,
      });
      this.ctx.log.info("instance registered", {
        instanceId: instance.instanceId,
        service: instance.serviceName,
        created,
      });
    }
    return { instance, created };
  }

  async Heartbeat(req: HeartbeatRequest): Promise<HeartbeatResponse> {
    const id = requireInstanceId(req.instanceId);
    for (let attempt = 0; attempt < 10; attempt++) {
      const cur = await this.ctx.state.get<Lease>(key(id));
      if (!cur) return { known: false };
      const now = Date.now();
      if (!isLive(cur.value, now)) {
        await this.expire(cur);
        return { known: false };
      }
      const next: Lease = {
        ...cur.value,
        lastHeartbeatAt: new Date(now).toISOString(),
        expiresAtMs: now + cur.value.ttlMs,
      };
      try {
        await this.ctx.state.put(key(id), next, cur.revision);
        return { known: true, expiresAt: new Date(next.expiresAtMs).toISOString() };
      } catch (err) {
        if (!(err instanceof RevisionConflict)) throw err;
      }
    }
    throw new RevisionConflict(key(id), undefined);
  }

  async Unregister(req: UnregisterRequest): Promise<UnregisterResponse> {
    const id = requireInstanceId(req.instanceId);
    const cur = await this.ctx.state.get<Lease>(key(id));
    if (!cur) return { removed: false };
    try {
      await this.ctx.state.delete(key(id), cur.revision);
    } catch (err) {
      if (err instanceof RevisionConflict) return { removed: false };
      throw err;
    }
    await this.ctx.events.publish("CapabilityUnregisteredEvent", {
      instanceId: id,
      serviceName: cur.value.serviceName,
      at: new Date().toISOString(),
    });
    return { removed: true };
  }

  async Lookup(req: LookupRequest): Promise<LookupResponse> {
    if (!req.capability) throw badRequest("capability is required");
    if (!CAPABILITY_NAME.test(req.capability))
      throw badRequest(`capability "${req.capability}" must be dotted lowercase (e.g. quest.start)`);
    if (req.minVersion && !parseSemver(req.minVersion))
      throw badRequest(`min_version "${req.minVersion}" is not semver`);
    return { instances: lookup(await this.liveLeases(), req.capability, req.minVersion, Date.now()).map(toInstance) };
  }

  async ListRegistrations(req: ListRegistrationsRequest): Promise<ListRegistrationsResponse> {
    const leases = (await this.liveLeases()).filter((l) => !req.serviceName || l.serviceName === req.serviceName);
    leases.sort((a, b) => a.serviceName.localeCompare(b.serviceName) || a.instanceId.localeCompare(b.instanceId));
    return { instances: leases.map(toInstance), capabilities: capabilityIndex(leases) };
  }

  /** Drop an expired lease; only the caller whose delete wins publishes the event. */
  private async expire(v: Versioned<Lease>): Promise<void> {
    try {
      await this.ctx.state.delete(key(v.value.instanceId), v.revision);
    } catch (err) {
      if (err instanceof RevisionConflict) return; // renewed or dropped by someone else
      throw err;
    }
    this.ctx.log.info("lease expired", { instanceId: v.value.instanceId, service: v.value.serviceName });
    await this.ctx.events.publish("CapabilityExpiredEvent", {
      instanceId: v.value.instanceId,
      serviceName: v.value.serviceName,
      lastHeartbeatAt: v.value.lastHeartbeatAt,
      at: new Date().toISOString(),
    });
  }

  /** Every live lease; expired ones found on the way are dropped. */
  private async liveLeases(): Promise<Lease[]> {
    const now = Date.now();
    const out: Lease[] = [];
    for (const k of await this.ctx.state.keys("instance")) {
      const v = await this.ctx.state.get<Lease>(k);
      if (!v) continue;
      if (isLive(v.value, now)) out.push(v.value);
      else await this.expire(v);
    }
    return out;
  }
}

export default defineService({
  name: "capability-registry",
  description: "Capability leases: instances register what they offer under a TTL, lookups return live ones",
  start: (ctx) => new CapabilityRegistry(ctx),
  async stop() {
    await Promise.allSettled([...sweeps]);
  },
});
