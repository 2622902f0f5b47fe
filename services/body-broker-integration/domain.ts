// Body/avatar asset brokering: the circuit breaker, the HTTP provider client (timeouts, retries with
// backoff, breaker), the built-in catalog, and the reservation rules (capacity, TTL, expiry).

import type { AssetCategory } from "../generated/body_broker_integration/v1/body_broker_integration.js";

// proto messages as generated from proto/ (services/generated)
export type { AssetCategory };

export type CircuitState = "CIRCUIT_STATE_CLOSED" | "CIRCUIT_STATE_OPEN" | "CIRCUIT_STATE_HALF_OPEN";

// ---------- circuit breaker ----------

export interface BreakerOptions {
  /** consecutive failures that open the circuit */
  failureThreshold: number;
  /** how long the circuit stays OPEN before letting a trial call through */
  cooldownMs: number;
  /** trial calls allowed at once while HALF_OPEN */
  halfOpenMaxCalls?: number;
  now?: () => number;
}

export interface CircuitTransition {
  from: CircuitState;
  to: CircuitState;
  consecutiveFailures: number;
  lastError: string;
  at: number;
}

/** CLOSED -> OPEN after N consecutive failures -> HALF_OPEN after the cool-down -> CLOSED on a trial success (OPEN on a failure). */
export class CircuitBreaker {
  state: CircuitState = "CIRCUIT_STATE_CLOSED";
  consecutiveFailures = 0;
  lastError = "";
  lastSuccessAt?: number;
  lastFailureAt?: number;
  openUntil?: number;
  private trials = 0;
  private readonly now: () => number;

  constructor(
    private readonly opts: BreakerOptions,
    private readonly onChange: (t: CircuitTransition) => void = () => undefined,
  ) {
    this.now = opts.now ?? Date.now;
  }

  private move(to: CircuitState): void {
    if (to === this.state) return;
    const from = this.state;
    this.state = to;
    this.onChange({
      from,
      to,
      consecutiveFailures: this.consecutiveFailures,
      lastError: this.lastError,
      at: this.now(),
    });
  }

  /** The state as of now (an expired OPEN reads as HALF_OPEN). */
  current(): CircuitState {
    if (this.state === "CIRCUIT_STATE_OPEN" && this.now() >= (this.openUntil ?? 0))
      this.move("CIRCUIT_STATE_HALF_OPEN");
    return this.state;
  }

  /** Whether a call may go out now; every true must be followed by onSuccess or onFailure. */
  tryAcquire(): boolean {
    const s = this.current();
    if (s === "CIRCUIT_STATE_CLOSED") return true;
    if (s === "CIRCUIT_STATE_OPEN") return false;
    if (this.trials >= (this.opts.halfOpenMaxCalls ?? 1)) return false;
    this.trials++;
    return true;
  }

  onSuccess(): void {
    this.consecutiveFailures = 0;
    this.lastSuccessAt = this.now();
    this.trials = 0;
    this.openUntil = undefined;
    this.move("CIRCUIT_STATE_CLOSED");
  }

  onFailure(error: string): void {
    this.consecutiveFailures++;
    this.lastError = error;
    this.lastFailureAt = this.now();
    if (this.state === "CIRCUIT_STATE_HALF_OPEN" || this.consecutiveFailures >= this.opts.failureThreshold) {
      this.trials = 0;
      this.openUntil = this.now() + this.opts.cooldownMs;
      this.move("CIRCUIT_STATE_OPEN");
    }
  }
}

/** Exponential backoff: base, 2·base, 4·base… capped at `maxMs`. */
export function backoffDelay(attempt: number, baseMs: number, maxMs = 5000): number {
  return Math.min(maxMs, baseMs * 2 ** attempt);
}

// ---------- the provider client ----------

export interface ProviderAsset {
  assetId: string;
  name: string;
  category: AssetCategory;
  bodyType: string;
  capacity: number;
  tags: string[];
  price?: { currency: string; minorUnits: string };
  /** false when the provider has none left */
  inStock: boolean;
}

/** The circuit is open: the call was not attempted. */
export class CircuitOpenError extends Error {
  override name = "CircuitOpenError";
}

/** The provider failed (after retries) or answered with a final error status (`status` set). */
export class ProviderCallError extends Error {
  override name = "ProviderCallError";
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface ProviderClientOptions {
  url: string;
  timeoutMs: number;
  retries: number;
  backoffMs: number;
  breaker: CircuitBreaker;
  fetchImpl?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * The external body provider's HTTP API:
 *   GET    {url}/v1/assets              -> { assets: ProviderAsset-like[] }
 *   POST   {url}/v1/reservations        {reservationId, assetId, playerId, expiresAt} -> 2xx, 404 unknown asset, 409 out of stock
 *   DELETE {url}/v1/reservations/{id}   -> 2xx or 404
 * 5xx, timeouts and network errors are retried with backoff and count against the breaker; 4xx are final answers.
 */
export class BodyProviderClient {
  constructor(private readonly o: ProviderClientOptions) {}

  private async call(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    if (!this.o.breaker.tryAcquire())
      throw new CircuitOpenError(
        `provider circuit is open until ${new Date(this.o.breaker.openUntil ?? 0).toISOString()}`,
      );
    const sleep = this.o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    let lastError = "";
    for (let attempt = 0; attempt <= this.o.retries; attempt++) {
      if (attempt > 0) await sleep(backoffDelay(attempt - 1, this.o.backoffMs));
      try {
        const res = await (this.o.fetchImpl ?? fetch)(`${this.o.url.replace(/\/+$/, "")}${path}`, {
          method,
          headers: body === undefined ? {} : { "content-type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(this.o.timeoutMs),
        });
        const text = await res.text();
        if (res.status >= 500) {
          lastError = `HTTP ${res.status} from ${method} ${path}`;
          continue;
        }
        this.o.breaker.onSuccess(); // the provider answered: it is healthy even when it says no
        let json: unknown = undefined;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          if (res.ok) throw new ProviderCallError(`provider sent invalid JSON for ${method} ${path}`);
        }
        if (!res.ok)
          throw new ProviderCallError(`provider answered HTTP ${res.status} to ${method} ${path}`, res.status);
        return { status: res.status, json };
      } catch (err) {
        if (err instanceof ProviderCallError) throw err;
        const e = err as Error;
        lastError =
          e.name === "TimeoutError"
            ? `${method} ${path} timed out after ${this.o.timeoutMs} ms`
            : `${method} ${path} failed: ${e.message}`;
      }
    }
    this.o.breaker.onFailure(lastError);
    throw new ProviderCallError(lastError);
  }

  async listAssets(): Promise<ProviderAsset[]> {
    const { json } = await this.call("GET", "/v1/assets");
    const list = (json as { assets?: unknown[] })?.assets;
    if (!Array.isArray(list)) throw new ProviderCallError("provider catalog has no assets array");
    return list.map((a) => normalizeAsset(a as Record<string, unknown>)).filter((a): a is ProviderAsset => !!a);
  }

  async hold(r: { reservationId: string; assetId: string; playerId: string; expiresAt: string }): Promise<void> {
    await this.call("POST", "/v1/reservations", r);
  }

  async release(reservationId: string): Promise<void> {
    try {
      await this.call("DELETE", `/v1/reservations/${encodeURIComponent(reservationId)}`);
    } catch (err) {
      if (err instanceof ProviderCallError && err.status === 404) return;
      throw err;
    }
  }
}

const CATEGORIES: AssetCategory[] = [
  "ASSET_CATEGORY_BODY",
  "ASSET_CATEGORY_HEAD",
  "ASSET_CATEGORY_HAIR",
  "ASSET_CATEGORY_OUTFIT",
  "ASSET_CATEGORY_ACCESSORY",
  "ASSET_CATEGORY_ANIMATION",
];

/** A provider catalog entry in our shape; entries without an id or with an unknown category are skipped. */
export function normalizeAsset(a: Record<string, unknown>): ProviderAsset | undefined {
  const id = typeof a.assetId === "string" ? a.assetId : typeof a.id === "string" ? a.id : "";
  const raw = String(a.category ?? "").toUpperCase();
  const category = CATEGORIES.find((c) => c === raw || c === `ASSET_CATEGORY_${raw}`);
  if (!id || !category) return undefined;
  const price = a.price as { currency?: string; minorUnits?: number | string } | undefined;
  return {
    assetId: id,
    name: typeof a.name === "string" ? a.name : id,
    category,
    bodyType: typeof a.bodyType === "string" ? a.bodyType : "",
    capacity: Number.isInteger(a.capacity) && (a.capacity as number) >= 0 ? (a.capacity as number) : 1,
    tags: Array.isArray(a.tags) ? a.tags.filter((t): t is string => typeof t === "string") : [],
    price: price?.currency ? { currency: price.currency, minorUnits: String(price.minorUnits ?? 0) } : undefined,
    inStock: a.inStock !== false,
  };
}

// ---------- the built-in catalog ----------

const asset = (
  assetId: string,
  name: string,
  category: AssetCategory,
  bodyType: string,
  capacity: number,
  tags: string[],
  gold?: number,
): ProviderAsset => ({
  assetId,
  name,
  category,
  bodyType,
  capacity,
  tags,
  price: gold ? { currency: "GOLD", minorUnits: String(gold) } : undefined,
  inStock: true,
});

/** Served when no provider is configured: a small fixed catalog. */
export const BUILTIN_CATALOG: ProviderAsset[] = [
  asset("body-human-m-01", "Human body (male)", "ASSET_CATEGORY_BODY", "humanoid_m", 0, ["starter"]),
  asset("body-human-f-01", "Human body (female)", "ASSET_CATEGORY_BODY", "humanoid_f", 0, ["starter"]),
  asset("body-wolf-01", "Dire wolf", "ASSET_CATEGORY_BODY", "beast", 1, ["rare", "shapeshift"], 2500),
  asset("head-elf-01", "Elven head", "ASSET_CATEGORY_HEAD", "humanoid_f", 0, ["elf"]),
  asset("hair-braids-01", "Warrior braids", "ASSET_CATEGORY_HAIR", "humanoid_f", 0, ["warrior"]),
  asset("outfit-knight-01", "Knight's plate", "ASSET_CATEGORY_OUTFIT", "humanoid_m", 3, ["armor"], 1200),
  asset(
    "outfit-crown-01",
    "Crown of the old kings",
    "ASSET_CATEGORY_ACCESSORY",
    "humanoid_m",
    1,
    ["unique", "royal"],
    9000,
  ),
  asset("anim-dance-01", "Tavern dance", "ASSET_CATEGORY_ANIMATION", "humanoid_m", 0, ["emote"]),
];

// ---------- reservations ----------

export interface Holder {
  reservationId: string;
  playerId: string;
  expiresAtMs: number;
}

export function splitHolders(holders: Holder[], now: number): { live: Holder[]; expired: Holder[] } {
  return { live: holders.filter((h) => h.expiresAtMs > now), expired: holders.filter((h) => h.expiresAtMs <= now) };
}

/** Whether another player can reserve a copy now (capacity 0 = unlimited). */
export function hasRoom(a: Pick<ProviderAsset, "capacity" | "inStock">, liveHolders: number): boolean {
  return a.inStock && (a.capacity === 0 || liveHolders < a.capacity);
}

export function clampTtlMs(requestedMs: number, defaultMs: number, maxMs: number): number {
  if (!requestedMs) return defaultMs;
  return Math.min(maxMs, Math.max(1000, requestedMs));
}

/** "30s" / "1.5s" -> ms; "" -> 0; NaN when malformed. */
export function durationToMs(d: string | undefined): number {
  if (!d) return 0;
  const m = /^(\d+)(?:\.(\d{1,9}))?s$/.exec(d);
  return m ? Number(m[1]) * 1000 + Math.round(Number(`0.${m[2] ?? "0"}`) * 1000) : NaN;
}

export interface AssetFilter {
  category: AssetCategory;
  bodyType: string;
}

export function matchesAsset(a: ProviderAsset, f: AssetFilter): boolean {
  return (
    (f.category === "ASSET_CATEGORY_UNSPECIFIED" || a.category === f.category) &&
    (!f.bodyType || a.bodyType === f.bodyType)
  );
}

/** Offset-based page tokens, opaque to callers. */
export function encodePageToken(offset: number): string {
  return Buffer.from(`o:${offset}`).toString("base64url");
}
export function decodePageToken(token: string): number | undefined {
  if (!token) return 0;
  const m = /^o:(\d+)$/.exec(Buffer.from(token, "base64url").toString("utf8"));
  return m ? Number(m[1]) : undefined;
}
