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
import { defineService, type ServiceContext } from "../sdk/runtime.js";
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
  type AssetCategory,
  type Holder,
  type ProviderAsset,
} from "./domain.js";

type ReservationStatus = "RESERVATION_STATUS_ACTIVE" | "RESERVATION_STATUS_RELEASED" | "RESERVATION_STATUS_EXPIRED";
interface Reservation {
  reservationId: string;
  assetId: string;
  playerId: string;
  status: ReservationStatus;
  idempotencyKey: string;
  createdAt: string;
  expiresAt: string;
  releasedAt?: string;
}
interface ErrorDetail {
  code: string;
  message: string;
  field?: string;
}
interface ListAssetsRequest {
  category: AssetCategory;
  bodyType: string;
  onlyAvailable: boolean;
  page?: { pageSize: number; pageToken: string };
}
interface ReserveRequest {
  assetId: string;
  playerId: string;
  ttl?: string;
  idempotencyKey: string;
}
interface ReserveResponse {
  reserved: boolean;
  reservation?: Reservation;
  replayed: boolean;
  error?: ErrorDetail;
}
interface ReleaseRequest {
  reservationId: string;
  playerId: string;
}
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

export default defineService({
  name: "body-broker-integration",
  description:
    "Brokers character body/avatar assets from an external provider with TTL reservations and a circuit breaker",
  start(ctx: ServiceContext) {
    const env = ctx.env;
    const num = (name: string, def: number) => (env[name] ? Number(env[name]) : def);
    const providerName = env.BODY_PROVIDER_URL ? env.BODY_PROVIDER_NAME || "body-provider" : "builtin";
    const defaultTtlMs = num("BODY_DEFAULT_TTL_S", 300) * 1000;
    const maxTtlMs = num("BODY_MAX_TTL_S", 3600) * 1000;
    const catalogTtlMs = num("BODY_CATALOG_TTL_MS", 30_000);
    const sweepMs = num("BODY_SWEEP_MS", 5_000);

    const breaker = new CircuitBreaker(
      { failureThreshold: num("BODY_BREAKER_THRESHOLD", 5), cooldownMs: num("BODY_BREAKER_COOLDOWN_MS", 30_000) },
      (t) => {
        ctx.log.warn("provider circuit changed", {
          from: t.from,
          to: t.to,
          failures: t.consecutiveFailures,
          lastError: t.lastError,
        });
        void ctx.events
          .publish("ProviderCircuitChangedEvent", {
            provider: providerName,
            fromState: t.from,
            toState: t.to,
            consecutiveFailures: t.consecutiveFailures,
            lastError: t.lastError,
            at: new Date(t.at).toISOString(),
          })
          .catch((err) =>
            ctx.log.warn("could not publish ProviderCircuitChangedEvent", { err: (err as Error).message }),
          );
      },
    );
    const client = env.BODY_PROVIDER_URL
      ? new BodyProviderClient({
          url: env.BODY_PROVIDER_URL,
          timeoutMs: num("BODY_PROVIDER_TIMEOUT_MS", 1000),
          retries: num("BODY_PROVIDER_RETRIES", 2),
          backoffMs: num("BODY_PROVIDER_BACKOFF_MS", 100),
          breaker,
        })
      : undefined;

    let cache: { assets: ProviderAsset[]; at: number } | undefined;
    /** The catalog: built in, fresh from the provider, or the last one fetched (stale) when the provider is down. */
    const catalog = async (): Promise<{ assets: ProviderAsset[]; stale: boolean }> => {
      if (!client) return { assets: BUILTIN_CATALOG, stale: false };
      if (cache && Date.now() - cache.at < catalogTtlMs) return { assets: cache.assets, stale: false };
      try {
        cache = { assets: await client.listAssets(), at: Date.now() };
        return { assets: cache.assets, stale: false };
      } catch (err) {
        if (cache && (err instanceof CircuitOpenError || (err instanceof ProviderCallError && !err.status)))
          return { assets: cache.assets, stale: true };
        throw unavailable(`asset provider unavailable: ${(err as Error).message}`);
      }
    };

    const removeHolder = (assetId: string, reservationId: string) =>
      ctx.state.update<{ holders: Holder[] }>(holdKey(assetId), (cur) => ({
        holders: (cur?.holders ?? []).filter((h) => h.reservationId !== reservationId),
      }));

    /** The reservation, expired first if its TTL passed (only the writer that flips it publishes the event). */
    const refresh = async (id: string): Promise<Reservation | undefined> => {
      for (;;) {
        const cur = await ctx.state.get<Reservation>(resKey(id));
        if (!cur || cur.value.status !== "RESERVATION_STATUS_ACTIVE" || Date.parse(cur.value.expiresAt) > Date.now())
          return cur?.value;
        const expired: Reservation = { ...cur.value, status: "RESERVATION_STATUS_EXPIRED" };
        try {
          await ctx.state.put(resKey(id), expired, cur.revision);
        } catch (err) {
          if (err instanceof RevisionConflict) continue;
          throw err;
        }
        await removeHolder(expired.assetId, id);
        await ctx.events.publish("ReservationExpiredEvent", { reservation: expired });
        ctx.log.info("reservation expired", { reservationId: id, assetId: expired.assetId });
        return expired;
      }
    };

    /** Live holders of one asset, expiring the lapsed ones on the way. */
    const liveHoldersOf = async (assetId: string): Promise<Holder[]> => {
      const v = await ctx.state.get<{ holders: Holder[] }>(holdKey(assetId));
      const { live, expired } = splitHolders(v?.value.holders ?? [], Date.now());
      for (const h of expired) await refresh(h.reservationId);
      return live;
    };

    /** Live holders per asset, expiring the lapsed ones on the way. */
    const liveHolders = async (): Promise<Map<string, Holder[]>> => {
      const out = new Map<string, Holder[]>();
      for (const k of await ctx.state.keys("hold")) {
        const v = await ctx.state.get<{ holders: Holder[] }>(k);
        if (!v) continue;
        const { live, expired } = splitHolders(v.value.holders, Date.now());
        for (const h of expired) await refresh(h.reservationId);
        if (live.length) out.set(k.slice("hold.".length), live);
      }
      return out;
    };

    if (sweepMs > 0) {
      const timer = setInterval(() => {
        const p = liveHolders()
          .catch((err) => ctx.log.warn("reservation sweep failed", { err: (err as Error).message }))
          .finally(() => sweeps.delete(p));
        sweeps.add(p);
      }, sweepMs);
      timer.unref();
      ctx.signal.addEventListener("abort", () => clearInterval(timer), { once: true });
    }

    const notReserved = (code: string, message: string, field?: string): ReserveResponse => ({
      reserved: false,
      replayed: false,
      error: { code, message, ...(field ? { field } : {}) },
    });

    const replay = async (entry: IdemEntry, assetId: string): Promise<ReserveResponse> => {
      if (entry.assetId !== assetId) throw conflict(`idempotency_key was already used to reserve ${entry.assetId}`);
      const reservation = await refresh(entry.reservationId);
      if (!reservation)
        throw new ServiceError(500, `reservation ${entry.reservationId} of an idempotency key is missing`);
      return { reserved: true, reservation, replayed: true };
    };

    const providerRelease = (id: string) =>
      client?.release(id).catch((err) =>
        ctx.log.warn("provider release failed; its hold will lapse at expiry", {
          reservationId: id,
          err: (err as Error).message,
        }),
      );

    return {
      async ListAssets(req: ListAssetsRequest) {
        const pageSize = req.page?.pageSize || 50;
        if (pageSize > 200) throw badRequest("page.page_size must be at most 200");
        const offset = decodePageToken(req.page?.pageToken ?? "");
        if (offset === undefined) throw badRequest("page.page_token is not a token from this service");
        if (req.bodyType.length > 64) throw badRequest("body_type is too long (max 64)");
        const { assets, stale } = await catalog();
        const holders = await liveHolders();
        const all = assets
          .filter((a) => matchesAsset(a, req))
          .map((a) => {
            const reservedCount = holders.get(a.assetId)?.length ?? 0;
            return {
              assetId: a.assetId,
              name: a.name,
              category: a.category,
              bodyType: a.bodyType,
              provider: providerName,
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
      },

      async Reserve(req: ReserveRequest): Promise<ReserveResponse> {
        const assetId = requireId(req.assetId, "asset_id");
        const playerId = requireId(req.playerId, "player_id");
        if (req.idempotencyKey.length > 128) throw badRequest("idempotency_key is too long (max 128)");
        const requestedMs = durationToMs(req.ttl);
        if (Number.isNaN(requestedMs)) throw badRequest(`ttl "${req.ttl}" must be a positive duration`);
        const ttlMs = clampTtlMs(requestedMs, defaultTtlMs, maxTtlMs);

        const ik = req.idempotencyKey ? idemKey(playerId, req.idempotencyKey) : undefined;
        if (ik) {
          const seen = await ctx.state.get<IdemEntry>(ik);
          if (seen) return replay(seen.value, assetId);
        }
        let assets: ProviderAsset[];
        try {
          assets = (await catalog()).assets;
        } catch (err) {
          return notReserved("PROVIDER_UNAVAILABLE", (err as Error).message);
        }
        const asset = assets.find((a) => a.assetId === assetId);
        if (!asset) return notReserved("NOT_FOUND", `no asset ${assetId} in the ${providerName} catalog`, "asset_id");

        const mine = (await liveHoldersOf(assetId)).find((h) => h.playerId === playerId);
        if (mine) {
          const reservation = await refresh(mine.reservationId);
          if (reservation?.status === "RESERVATION_STATUS_ACTIVE")
            return { reserved: true, reservation, replayed: true };
        }

        const now = Date.now();
        const reservation: Reservation = {
          reservationId: randomUUID(),
          assetId,
          playerId,
          status: "RESERVATION_STATUS_ACTIVE",
          idempotencyKey: req.idempotencyKey,
          createdAt: new Date(now).toISOString(),
          expiresAt: new Date(now + ttlMs).toISOString(),
        };
        let full = false;
        await ctx.state.update<{ holders: Holder[] }>(holdKey(assetId), (cur) => {
          const holders = cur?.holders ?? [];
          const { live } = splitHolders(holders, Date.now());
          full = !hasRoom(asset, live.length) || live.some((h) => h.playerId === playerId);
          return full
            ? { holders }
            : {
                holders: [...holders, { reservationId: reservation.reservationId, playerId, expiresAtMs: now + ttlMs }],
              };
        });
        if (full) return notReserved("UNAVAILABLE", `asset ${assetId} is fully reserved`, "asset_id");

        if (client) {
          try {
            await client.hold(reservation);
          } catch (err) {
            await removeHolder(assetId, reservation.reservationId);
            if (err instanceof ProviderCallError && err.status === 409)
              return notReserved("UNAVAILABLE", `${providerName} has no copy of ${assetId} left`, "asset_id");
            if (err instanceof ProviderCallError && err.status === 404)
              return notReserved("NOT_FOUND", `${providerName} does not know ${assetId}`, "asset_id");
            return notReserved("PROVIDER_UNAVAILABLE", (err as Error).message);
          }
        }
        await ctx.state.put(resKey(reservation.reservationId), reservation, 0);
        if (ik) {
          try {
            await ctx.state.put<IdemEntry>(ik, { reservationId: reservation.reservationId, assetId }, 0);
          } catch (err) {
            if (!(err instanceof RevisionConflict)) throw err;
            // a concurrent retry with the same key won: undo ours and answer with theirs
            await removeHolder(assetId, reservation.reservationId);
            await ctx.state.delete(resKey(reservation.reservationId));
            await providerRelease(reservation.reservationId);
            return replay((await ctx.state.get<IdemEntry>(ik))!.value, assetId);
          }
        }
        await ctx.events.publish("AssetReservedEvent", { reservation });
        ctx.log.info("asset reserved", { reservationId: reservation.reservationId, assetId, playerId });
        return { reserved: true, reservation, replayed: false };
      },

      async Release(req: ReleaseRequest) {
        const id = requireId(req.reservationId, "reservation_id");
        const playerId = requireId(req.playerId, "player_id");
        const current = await refresh(id);
        if (!current) return { released: false };
        if (current.playerId !== playerId) throw new ServiceError(403, `reservation ${id} belongs to another player`);
        if (current.status !== "RESERVATION_STATUS_ACTIVE") return { released: false, reservation: current };
        let released = false;
        const saved = await ctx.state.update<Reservation>(resKey(id), (cur) => {
          released = cur?.status === "RESERVATION_STATUS_ACTIVE";
          return released
            ? { ...cur!, status: "RESERVATION_STATUS_RELEASED", releasedAt: new Date().toISOString() }
            : cur!;
        });
        if (!released) return { released: false, reservation: saved.value };
        await removeHolder(current.assetId, id);
        await providerRelease(id);
        await ctx.events.publish("AssetReleasedEvent", { reservation: saved.value });
        return { released: true, reservation: saved.value };
      },

      async Status(req: { reservationId: string }) {
        let reservation: Reservation | undefined;
        if (req.reservationId) reservation = await refresh(requireId(req.reservationId, "reservation_id"));
        const active = [...(await liveHolders()).values()].reduce((n, hs) => n + hs.length, 0);
        const iso = (ms?: number) => (ms ? new Date(ms).toISOString() : undefined); // undefined fields are left unset
        const state = client ? breaker.current() : "CIRCUIT_STATE_CLOSED";
        const provider = {
          provider: providerName,
          healthy: state === "CIRCUIT_STATE_CLOSED",
          circuitState: state,
          consecutiveFailures: breaker.consecutiveFailures,
          lastError: breaker.lastError,
          lastSuccessAt: iso(breaker.lastSuccessAt),
          lastFailureAt: iso(breaker.lastFailureAt),
          openUntil: state === "CIRCUIT_STATE_OPEN" ? iso(breaker.openUntil) : undefined,
        };
        return { reservationFound: !!reservation, reservation, provider, activeReservations: active };
      },
    };
  },
  async stop() {
    await Promise.allSettled([...sweeps]);
  },
});
