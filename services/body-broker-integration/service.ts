// body-broker-integration: brokers character body/avatar assets from an external provider; reservations
// hold an asset for a player for a TTL; provider calls go through retries and a circuit breaker.
// Env:
//   BODY_PROVIDER_URL          the provider's base URL; unset = the built-in catalog, no remote holds
//   BODY_PROVIDER_NAME         provider name reported in assets and health (default "body-provider")
//   BODY_PROVIDER_TIMEOUT_MS   per-HTTP-call timeout (default 1000)
//   BODY_PROVIDER_RETRIES      extra attempts on 5xx/timeouts/network errors (default 2)
//   BODY_PROVIDER_BACKOFF_MS   first retry delay, doubled each retry (default 100)
//   BODY_BREAKER_THRESHOLD     consecutive failed calls that open the circuit (default 5)
//   BODY_BREAKER_COOLDOWN_MS   OPEN -> HALF_OPEN after this long (default 30000)
//   BODY_CATALOG_TTL_MS        how long a fetched catalog is reused (default 30000)
//   BODY_DEFAULT_TTL_S / BODY_MAX_TTL_S  reservation TTL default and maximum (300 / 3600)
//   BODY_SWEEP_MS              how often expired reservations are expired in the background (default 5000; 0 = only on reads)
// State: `reservation.<id>` -> Reservation; `hold.<assetId>` -> { holders } (capacity accounting, optimistic
//   concurrency); `idem.<playerId>.<key>` -> { reservationId, assetId }. The breaker and the catalog cache are
//   per instance, in memory.
// Events: AssetReservedEvent, AssetReleasedEvent, ReservationExpiredEvent, ProviderCircuitChangedEvent.
import { randomUUID } from "node:crypto";
import { defineService, ServiceBase, type RpcHandlers, type ServiceContext } from "../sdk/runtime.js";
import { badRequest, conflict, ServiceError, unavailable } from "../sdk/errors.js";
import { RevisionConflict } from "../sdk/state.js";
import {
  BodyProviderClient,
  BUILTIN_CATALOG,
  CircuitBreaker,
  CircuitOpenError,
  clampTtlMs,
  decodePageToken,
  durationToMs,
  encodePageToken,
  hasRoom,
  matchesAsset,
  ProviderCallError,
  splitHolders,
  type Holder,
  type ProviderAsset,
} from "./domain.js";
import type {
  BodyBrokerIntegrationServiceRpcs,
  ListAssetsRequest,
  ListAssetsResponse,
  ReleaseRequest,
  ReleaseResponse,
  Reservation,
  ReserveRequest,
  ReserveResponse,
  StatusRequest,
  StatusResponse,
} from "../generated/body_broker_integration/v1/body_broker_integration.js";

interface IdemEntry {
  reservationId: string;
  assetId: string;
}

const resKey = (id: string) => `reservation.${id}`;
const holdKey = (assetId: string) => `hold.${assetId}`;
const idemKey = (playerId: string, key: string) => `idem.${playerId}.${key}`;
const ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

function requireId(v: string, field: string): string {
  if (!v) throw badRequest(`${field} is required`);
  if (!ID.test(v)) throw badRequest(`${field} must be 1-128 characters of [A-Za-z0-9._:@-]`);
  return v;
}

const sweeps = new Set<Promise<unknown>>();

class BodyBrokerIntegration extends ServiceBase implements RpcHandlers<BodyBrokerIntegrationServiceRpcs> {
  private readonly env = this.ctx.env;
  private readonly num = (name: string, def: number) => (this.env[name] ? Number(this.env[name]) : def);
  private readonly providerName = this.env.BODY_PROVIDER_URL
    ? this.env.BODY_PROVIDER_NAME || "body-provider"
    : "builtin";
  private readonly defaultTtlMs = this.num("BODY_DEFAULT_TTL_S", 300) * 1000;
  private readonly maxTtlMs = this.num("BODY_MAX_TTL_S", 3600) * 1000;
  private readonly catalogTtlMs = this.num("BODY_CATALOG_TTL_MS", 30_000);
  private readonly sweepMs = this.num("BODY_SWEEP_MS", 5_000);
  private readonly breaker = new CircuitBreaker(
    {
      failureThreshold: this.num("BODY_BREAKER_THRESHOLD", 5),
      cooldownMs: this.num("BODY_BREAKER_COOLDOWN_MS", 30_000),
    },
    (t) => {
      this.ctx.log.warn("provider circuit changed", {
        from: t.from,
        to: t.to,
        failures: t.consecutiveFailures,
        lastError: t.lastError,
      });
      void this.ctx.events
        .publish("ProviderCircuitChangedEvent", {
          provider: this.providerName,
          fromState: t.from,
          toState: t.to,
          consecutiveFailures: t.consecutiveFailures,
          lastError: t.lastError,
          at: new Date(t.at).toISOString(),
        })
        .catch((err) =>
          this.ctx.log.warn("could not publish ProviderCircuitChangedEvent", { err: (err as Error).message }),
        );
    },
  );
  private readonly client = this.env.BODY_PROVIDER_URL
    ? new BodyProviderClient({
        url: this.env.BODY_PROVIDER_URL,
        timeoutMs: this.num("BODY_PROVIDER_TIMEOUT_MS", 1000),
        retries: this.num("BODY_PROVIDER_RETRIES", 2),
        backoffMs: this.num("BODY_PROVIDER_BACKOFF_MS", 100),
        breaker: this.breaker,
      })
    : undefined;
  private cache: { assets: ProviderAsset[]; at: number } | undefined;
  private readonly removeHolder = (assetId: string, reservationId: string) =>
    this.ctx.state.update<{ holders: Holder[] }>(holdKey(assetId), (cur) => ({
      holders: (cur?.holders ?? []).filter((h) => h.reservationId !== reservationId),
    }));
  private readonly notReserved = (code: string, message: string, field?: string): ReserveResponse => ({
    reserved: false,
    replayed: false,
    error: { code, message, field: field ?? "" },
  });
  private readonly providerRelease = (id: string) =>
    this.client?.release(id).catch((err) =>
      this.ctx.log.warn("provider release failed; its hold will lapse at expiry", {
        reservationId: id,
        err: (err as Error).message,
      }),
    );

  constructor(ctx: ServiceContext) {
    super(ctx);
    if (this.sweepMs > 0) {
      const timer = setInterval(() => {
        const p = this.liveHolders()
          .catch((err) => ctx.log.warn("reservation sweep failed", { err: (err as Error).message }))
          .finally(() => sweeps.delete(p));
        sweeps.add(p);
      }, this.sweepMs);
      timer.unref();
      ctx.signal.addEventListener("abort", () => clearInterval(timer), { once: true });
    }
  }

  async ListAssets(req: ListAssetsRequest): Promise<ListAssetsResponse> {
    const pageSize = req.page?.pageSize || 50;
    if (pageSize > 200) throw badRequest("page.page_size must be at most 200");
    const offset = decodePageToken(req.page?.pageToken ?? "");
    if (offset === undefined) throw badRequest("page.page_token is not a token from this service");
    if (req.bodyType.length > 64) throw badRequest("body_type is too long (max 64)");
    const { assets, stale } = await this.catalog();
    const holders = await this.liveHolders();
    const all = assets
      .filter((a) => matchesAsset(a, req))
      .map((a) => {
        const reservedCount = holders.get(a.assetId)?.length ?? 0;
        return {
          assetId: a.assetId,
          name: a.name,
          category: a.category,
          bodyType: a.bodyType,
          provider: this.providerName,
          available: hasRoom(a, reservedCount),
          capacity: a.capacity,
          reservedCount,
          tags: a.tags,
          ...(a.price ? { price: a.price } : {}),
        };
      })
      .filter((a) => !req.onlyAvailable || a.available);
    const page = all.slice(offset, offset + pageSize);
    const next = offset + pageSize < all.length ? encodePageToken(offset + pageSize) : "";
    return { assets: page, page: { nextPageToken: next, total: all.length }, stale };
  }

  async Reserve(req: ReserveRequest): Promise<ReserveResponse> {
    const assetId = requireId(req.assetId, "asset_id");
    const playerId = requireId(req.playerId, "player_id");
    if (req.idempotencyKey.length > 128) throw badRequest("idempotency_key is too long (max 128)");
    const requestedMs = durationToMs(req.ttl);
    if (Number.isNaN(requestedMs)) throw badRequest(`ttl "${req.ttl}" must be a positive duration`);
    const ttlMs = clampTtlMs(requestedMs, this.defaultTtlMs, this.maxTtlMs);

    const ik = req.idempotencyKey ? idemKey(playerId, req.idempotencyKey) : undefined;
    if (ik) {
      const seen = await this.ctx.state.get<IdemEntry>(ik);
      if (seen) return this.replay(seen.value, assetId);
    }
    let assets: ProviderAsset[];
    try {
      assets = (await this.catalog()).assets;
    } catch (err) {
      return this.notReserved("PROVIDER_UNAVAILABLE", (err as Error).message);
    }
    const asset = assets.find((a) => a.assetId === assetId);
    if (!asset)
      return this.notReserved("NOT_FOUND", `no asset ${assetId} in the ${this.providerName} catalog`, "asset_id");

    const mine = (await this.liveHoldersOf(assetId)).find((h) => h.playerId === playerId);
    if (mine) {
      const reservation = await this.refresh(mine.reservationId);
      if (reservation?.status === "RESERVATION_STATUS_ACTIVE") return { reserved: true, reservation, replayed: true };
    }

    const now = Date.now();
    const reservation: Reservation & { expiresAt: string } = {
      reservationId: randomUUID(),
      assetId,
      playerId,
      status: "RESERVATION_STATUS_ACTIVE",
      idempotencyKey: req.idempotencyKey,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + ttlMs).toISOString(),
    };
    let full = false;
    await this.ctx.state.update<{ holders: Holder[] }>(holdKey(assetId), (cur) => {
      const holders = cur?.holders ?? [];
      const { live } = splitHolders(holders, Date.now());
      full = !hasRoom(asset, live.length) || live.some((h) => h.playerId === playerId);
      return full
        ? { holders }
        : {
            holders: [...holders, { reservationId: reservation.reservationId, playerId, expiresAtMs: now + ttlMs }],
          };
    });
    if (full) return this.notReserved("UNAVAILABLE", `asset ${assetId} is fully reserved`, "asset_id");

    if (this.client) {
      try {
        await this.client.hold(reservation);
      } catch (err) {
        await this.removeHolder(assetId, reservation.reservationId);
        if (err instanceof ProviderCallError && err.status === 409)
          return this.notReserved("UNAVAILABLE", `${this.providerName} has no copy of ${assetId} left`, "asset_id");
        if (err instanceof ProviderCallError && err.status === 404)
          return this.notReserved("NOT_FOUND", `${this.providerName} does not know ${assetId}`, "asset_id");
        return this.notReserved("PROVIDER_UNAVAILABLE", (err as Error).message);
      }
    }
    await this.ctx.state.put(resKey(reservation.reservationId), reservation, 0);
    if (ik) {
      try {
        await this.ctx.state.put<IdemEntry>(ik, { reservationId: reservation.reservationId, assetId }, 0);
      } catch (err) {
        if (!(err instanceof RevisionConflict)) throw err;
        // a concurrent retry with the same key won: undo ours and answer with theirs
        await this.removeHolder(assetId, reservation.reservationId);
        await this.ctx.state.delete(resKey(reservation.reservationId));
        await this.providerRelease(reservation.reservationId);
        return this.replay((await this.ctx.state.get<IdemEntry>(ik))!.value, assetId);
      }
    }
    await this.ctx.events.publish("AssetReservedEvent", { reservation });
    this.ctx.log.info("asset reserved", { reservationId: reservation.reservationId, assetId, playerId });
    return { reserved: true, reservation, replayed: false };
  }

  async Release(req: ReleaseRequest): Promise<ReleaseResponse> {
    const id = requireId(req.reservationId, "reservation_id");
    const playerId = requireId(req.playerId, "player_id");
    const current = await this.refresh(id);
    if (!current) return { released: false };
    if (current.playerId !== playerId) throw new ServiceError(403, `reservation ${id} belongs to another player`);
    if (current.status !== "RESERVATION_STATUS_ACTIVE") return { released: false, reservation: current };
    let released = false;
    const saved = await this.ctx.state.update<Reservation>(resKey(id), (cur) => {
      released = cur?.status === "RESERVATION_STATUS_ACTIVE";
      return released ? { ...cur!, status: "RESERVATION_STATUS_RELEASED", releasedAt: new Date().toISOString() } : cur!;
    });
    if (!released) return { released: false, reservation: saved.value };
    await this.removeHolder(current.assetId, id);
    await this.providerRelease(id);
    await this.ctx.events.publish("AssetReleasedEvent", { reservation: saved.value });
    return { released: true, reservation: saved.value };
  }

  async Status(req: StatusRequest): Promise<StatusResponse> {
    let reservation: Reservation | undefined;
    if (req.reservationId) reservation = await this.refresh(requireId(req.reservationId, "reservation_id"));
    const active = [...(await this.liveHolders()).values()].reduce((n, hs) => n + hs.length, 0);
    const iso = (ms?: number) => (ms ? new Date(ms).toISOString() : undefined); // undefined fields are left unset
    const state = this.client ? this.breaker.current() : "CIRCUIT_STATE_CLOSED";
    const provider = {
      provider: this.providerName,
      healthy: state === "CIRCUIT_STATE_CLOSED",
      circuitState: state,
      consecutiveFailures: this.breaker.consecutiveFailures,
      lastError: this.breaker.lastError,
      lastSuccessAt: iso(this.breaker.lastSuccessAt),
      lastFailureAt: iso(this.breaker.lastFailureAt),
      openUntil: state === "CIRCUIT_STATE_OPEN" ? iso(this.breaker.openUntil) : undefined,
    };
    return { reservationFound: !!reservation, reservation, provider, activeReservations: active };
  }

  /** The catalog: built in, fresh from the provider, or the last one fetched (stale) when the provider is down. */
  private async catalog(): Promise<{ assets: ProviderAsset[]; stale: boolean }> {
    if (!this.client) return { assets: BUILTIN_CATALOG, stale: false };
    if (this.cache && Date.now() - this.cache.at < this.catalogTtlMs)
      return { assets: this.cache.assets, stale: false };
    try {
      this.cache = { assets: await this.client.listAssets(), at: Date.now() };
      return { assets: this.cache.assets, stale: false };
    } catch (err) {
      if (this.cache && (err instanceof CircuitOpenError || (err instanceof ProviderCallError && !err.status)))
        return { assets: this.cache.assets, stale: true };
      throw unavailable(`asset provider unavailable: ${(err as Error).message}`);
    }
  }

  /** The reservation, expired first if its TTL passed (only the writer that flips it publishes the event). */
  private async refresh(id: string): Promise<Reservation | undefined> {
    for (;;) {
      const cur = await this.ctx.state.get<Reservation>(resKey(id));
      if (
        !cur ||
        cur.value.status !== "RESERVATION_STATUS_ACTIVE" ||
        Date.parse(cur.value.expiresAt ?? "") > Date.now()
      )
        return cur?.value;
      const expired: Reservation = { ...cur.value, status: "RESERVATION_STATUS_EXPIRED" };
      try {
        await this.ctx.state.put(resKey(id), expired, cur.revision);
      } catch (err) {
        if (err instanceof RevisionConflict) continue;
        throw err;
      }
      await this.removeHolder(expired.assetId, id);
      await this.ctx.events.publish("ReservationExpiredEvent", { reservation: expired });
      this.ctx.log.info("reservation expired", { reservationId: id, assetId: expired.assetId });
      return expired;
    }
  }

  /** Live holders of one asset, expiring the lapsed ones on the way. */
  private async liveHoldersOf(assetId: string): Promise<Holder[]> {
    const v = await this.ctx.state.get<{ holders: Holder[] }>(holdKey(assetId));
    const { live, expired } = splitHolders(v?.value.holders ?? [], Date.now());
    for (const h of expired) await this.refresh(h.reservationId);
    return live;
  }

  /** Live holders per asset, expiring the lapsed ones on the way. */
  private async liveHolders(): Promise<Map<string, Holder[]>> {
    const out = new Map<string, Holder[]>();
    for (const k of await this.ctx.state.keys("hold")) {
      const v = await this.ctx.state.get<{ holders: Holder[] }>(k);
      if (!v) continue;
      const { live, expired } = splitHolders(v.value.holders, Date.now());
      for (const h of expired) await this.refresh(h.reservationId);
      if (live.length) out.set(k.slice("hold.".length), live);
    }
    return out;
  }

  private async replay(entry: IdemEntry, assetId: string): Promise<ReserveResponse> {
    if (entry.assetId !== assetId) throw conflict(`idempotency_key was already used to reserve ${entry.assetId}`);
    const reservation = await this.refresh(entry.reservationId);
    if (!reservation)
      throw new ServiceError(500, `reservation ${entry.reservationId} of an idempotency key is missing`);
    return { reserved: true, reservation, replayed: true };
  }
}

export default defineService({
  name: "body-broker-integration",
  description:
    "Brokers character body/avatar assets from an external provider with TTL reservations and a circuit breaker",
  start: (ctx) => new BodyBrokerIntegration(ctx),
  async stop() {
    await Promise.allSettled([...sweeps]);
  },
});
