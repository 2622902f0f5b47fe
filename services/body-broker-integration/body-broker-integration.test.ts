import { describe, it, expect, beforeAll, afterAll } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { startHarness, type Harness } from "../test-support/harness.js";
import service from "./service.js";
import {
  backoffDelay,
  BodyProviderClient,
  CircuitBreaker,
  CircuitOpenError,
  decodePageToken,
  encodePageToken,
  hasRoom,
  normalizeAsset,
  ProviderCallError,
  type CircuitTransition,
} from "./domain.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("circuit breaker", () => {
  it("opens after N consecutive failures, half-opens after the cool-down and closes on a trial success", () => {
    let now = 1000;
    const changes: CircuitTransition[] = [];
    const b = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 500, now: () => now }, (t) => changes.push(t));
    b.onFailure("e1");
    b.onFailure("e2");
    expect(b.current()).toBe("CIRCUIT_STATE_CLOSED");
    b.onSuccess(); // a success resets the count
    for (const e of ["a", "b", "c"]) b.onFailure(e);
    expect(b.current()).toBe("CIRCUIT_STATE_OPEN");
    expect(b.tryAcquire()).toBe(false);
    now += 499;
    expect(b.tryAcquire()).toBe(false);
    now += 1;
    expect(b.tryAcquire()).toBe(true); // the one trial call
    expect(b.current()).toBe("CIRCUIT_STATE_HALF_OPEN");
    expect(b.tryAcquire()).toBe(false);
    b.onSuccess();
    expect(b.current()).toBe("CIRCUIT_STATE_CLOSED");
    expect(changes.map((c) => `${c.from}>${c.to}`)).toEqual([
      "CIRCUIT_STATE_CLOSED>CIRCUIT_STATE_OPEN",
      "CIRCUIT_STATE_OPEN>CIRCUIT_STATE_HALF_OPEN",
      "CIRCUIT_STATE_HALF_OPEN>CIRCUIT_STATE_CLOSED",
    ]);
    expect(changes[0]).toMatchObject({ consecutiveFailures: 3, lastError: "c", at: 1000 });
  });

  it("reopens when the half-open trial fails", () => {
    let now = 0;
    const b = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 100, now: () => now });
    b.onFailure("down");
    now = 100;
    expect(b.tryAcquire()).toBe(true);
    b.onFailure("still down");
    expect(b.current()).toBe("CIRCUIT_STATE_OPEN");
    expect(b.openUntil).toBe(200);
  });

  it("backs off exponentially up to a cap", () => {
    expect([0, 1, 2, 3, 10].map((a) => backoffDelay(a, 100, 1000))).toEqual([100, 200, 400, 800, 1000]);
  });
});

describe("provider client", () => {
  const respond = (status: number, body: unknown = {}) => new Response(JSON.stringify(body), { status });

  it("retries 5xx with backoff and counts one breaker failure per exhausted call", async () => {
    const waits: number[] = [];
    let calls = 0;
    const breaker = new CircuitBreaker({ failureThreshold: 2, cooldownMs: 1000 });
    const client = new BodyProviderClient({
      url: "http://provider",
      timeoutMs: 100,
      retries: 2,
      backoffMs: 50,
      breaker,
      sleep: async (ms) => void waits.push(ms),
      fetchImpl: async () => (++calls, respond(503)),
    });
    await expect(client.listAssets()).rejects.toBeInstanceOf(ProviderCallError);
    expect([calls, waits, breaker.consecutiveFailures]).toEqual([3, [50, 100], 1]);
    await expect(client.listAssets()).rejects.toBeInstanceOf(ProviderCallError);
    expect(breaker.current()).toBe("CIRCUIT_STATE_OPEN");
    await expect(client.listAssets()).rejects.toBeInstanceOf(CircuitOpenError);
    expect(calls).toBe(6);
  });

  it("does not retry a 4xx answer and treats it as a healthy provider", async () => {
    let calls = 0;
    const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 1000 });
    const client = new BodyProviderClient({
      url: "http://p",
      timeoutMs: 100,
      retries: 3,
      backoffMs: 1,
      breaker,
      fetchImpl: async () => (++calls, respond(409)),
    });
    const err = await client.hold({ reservationId: "r", assetId: "a", playerId: "p", expiresAt: "x" }).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderCallError);
    expect(err.status).toBe(409);
    expect([calls, breaker.current()]).toEqual([1, "CIRCUIT_STATE_CLOSED"]);
  });

  it("normalizes provider assets and computes room", () => {
    expect(
      normalizeAsset({ id: "x", category: "hair", capacity: 2, price: { currency: "USD", minorUnits: 199 } }),
    ).toMatchObject({
      assetId: "x",
      category: "ASSET_CATEGORY_HAIR",
      capacity: 2,
      price: { currency: "USD", minorUnits: "199" },
      inStock: true,
    });
    expect(normalizeAsset({ id: "x", category: "spaceship" })).toBeUndefined();
    expect([
      hasRoom({ capacity: 1, inStock: true }, 1),
      hasRoom({ capacity: 0, inStock: true }, 99),
      hasRoom({ capacity: 5, inStock: false }, 0),
    ]).toEqual([false, true, false]);
    expect(decodePageToken(encodePageToken(40))).toBe(40);
    expect(decodePageToken("garbage")).toBeUndefined();
  });
});

interface Reservation {
  reservationId: string;
  status: string;
  playerId: string;
}
interface ReserveResponse {
  reserved: boolean;
  reservation?: Reservation;
  replayed: boolean;
  error?: { code: string };
}

describe("body-broker-integration with the built-in catalog", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    await h.start(service, { env: { BODY_SWEEP_MS: "0" } });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("lists built-in assets filtered by category, with pages", async () => {
    const bodies = await h.call<{ assets: { assetId: string; provider: string }[] }>(
      "body-broker-integration.list-assets",
      { category: "ASSET_CATEGORY_BODY" },
    );
    expect(bodies.assets.map((a) => a.assetId)).toEqual(["body-human-m-01", "body-human-f-01", "body-wolf-01"]);
    expect(bodies.assets[0]!.provider).toBe("builtin");
    const p1 = await h.call<{ assets: unknown[]; page: { nextPageToken: string; total: number } }>(
      "body-broker-integration.list-assets",
      { page: { pageSize: 5 } },
    );
    expect(p1.assets).toHaveLength(5);
    const p2 = await h.call<{ assets: unknown[]; page: { nextPageToken: string } }>(
      "body-broker-integration.list-assets",
      { page: { pageSize: 5, pageToken: p1.page.nextPageToken } },
    );
    expect(p2.assets).toHaveLength(p1.page.total - 5);
    expect(p2.page.nextPageToken).toBe("");
  });

  it("lets only one player hold a single-copy asset until it is released", async () => {
    const a = await h.call<ReserveResponse>("body-broker-integration.reserve", {
      assetId: "body-wolf-01",
      playerId: "p1",
      ttl: "60s",
    });
    expect(a.reserved).toBe(true);
    const b = await h.call<ReserveResponse>("body-broker-integration.reserve", {
      assetId: "body-wolf-01",
      playerId: "p2",
    });
    expect(b).toMatchObject({ reserved: false, error: { code: "UNAVAILABLE" } });
    const listed = await h.call<{ assets: { assetId: string; available: boolean; reservedCount: number }[] }>(
      "body-broker-integration.list-assets",
      { category: "ASSET_CATEGORY_BODY" },
    );
    expect(listed.assets.find((x) => x.assetId === "body-wolf-01")).toMatchObject({
      available: false,
      reservedCount: 1,
    });
    expect(
      (await h.fail("body-broker-integration.release", { reservationId: a.reservation!.reservationId, playerId: "p2" }))
        .code,
    ).toBe(403);
    const rel = await h.call<{ released: boolean; reservation: Reservation }>("body-broker-integration.release", {
      reservationId: a.reservation!.reservationId,
      playerId: "p1",
    });
    expect(rel).toMatchObject({ released: true, reservation: { status: "RESERVATION_STATUS_RELEASED" } });
    expect(
      (
        await h.call<{ released: boolean }>("body-broker-integration.release", {
          reservationId: a.reservation!.reservationId,
          playerId: "p1",
        })
      ).released,
    ).toBe(false);
    expect(
      (await h.call<ReserveResponse>("body-broker-integration.reserve", { assetId: "body-wolf-01", playerId: "p2" }))
        .reserved,
    ).toBe(true);
  });

  it("returns the same reservation for a retry with the same idempotency key", async () => {
    const req = { assetId: "outfit-knight-01", playerId: "p3", idempotencyKey: "k-1" };
    const a = await h.call<ReserveResponse>("body-broker-integration.reserve", req);
    const b = await h.call<ReserveResponse>("body-broker-integration.reserve", req);
    expect([a.replayed, b.replayed]).toEqual([false, true]);
    expect(b.reservation!.reservationId).toBe(a.reservation!.reservationId);
    expect((await h.fail("body-broker-integration.reserve", { ...req, assetId: "head-elf-01" })).code).toBe(409);
  });

  it("expires a reservation at its TTL and frees the asset", async () => {
    const a = await h.call<ReserveResponse>("body-broker-integration.reserve", {
      assetId: "outfit-crown-01",
      playerId: "p4",
      ttl: "1s",
    });
    expect(a.reserved).toBe(true);
    const expired: string[] = [];
    const sub = h.nc.subscribe("events.body-broker-integration.reservation-expired", {
      callback: (_e, m) => void expired.push(m.subject),
    });
    await sleep(1100);
    const st = await h.call<{
      reservationFound: boolean;
      reservation: Reservation;
      provider: { circuitState: string; healthy: boolean };
    }>("body-broker-integration.status", {
      reservationId: a.reservation!.reservationId,
    });
    expect(st).toMatchObject({
      reservationFound: true,
      reservation: { status: "RESERVATION_STATUS_EXPIRED" },
      provider: { circuitState: "CIRCUIT_STATE_CLOSED", healthy: true },
    });
    expect(
      (await h.call<ReserveResponse>("body-broker-integration.reserve", { assetId: "outfit-crown-01", playerId: "p5" }))
        .reserved,
    ).toBe(true);
    await sleep(100);
    sub.unsubscribe();
    expect(expired).toHaveLength(1);
  });

  it("answers NOT_FOUND for unknown assets and 400 for bad input", async () => {
    expect(
      await h.call<ReserveResponse>("body-broker-integration.reserve", { assetId: "nope", playerId: "p1" }),
    ).toMatchObject({ reserved: false, error: { code: "NOT_FOUND" } });
    expect((await h.fail("body-broker-integration.reserve", { assetId: "body-wolf-01" })).code).toBe(400);
    expect((await h.fail("body-broker-integration.list-assets", { page: { pageToken: "zzz" } })).code).toBe(400);
  });
});

describe("body-broker-integration with an HTTP provider", () => {
  let h: Harness;
  let server: http.Server;
  let mode: "ok" | "fail" | "slow" | "flaky" = "ok";
  const seen: string[] = [];
  const circuit: string[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      const send = () => {
        if (mode === "fail") return void res.writeHead(500).end("boom");
        if (mode === "flaky") {
          mode = "ok";
          return void res.writeHead(502).end();
        }
        if (req.method === "GET" && req.url === "/v1/assets") {
          res.writeHead(200, { "content-type": "application/json" });
          return void res.end(
            JSON.stringify({
              assets: [
                { id: "cape-01", name: "Cape", category: "outfit", bodyType: "humanoid_m", capacity: 1 },
                { id: "sold-out", category: "hair" },
              ],
            }),
          );
        }
        let body = "";
        req.on("data", (c) => (body += c));
        req.on("end", () => {
          if (req.method === "POST" && JSON.parse(body).assetId === "sold-out")
            return void res.writeHead(409).end("{}");
          res.writeHead(200, { "content-type": "application/json" }).end("{}");
        });
      };
      if (mode === "slow") setTimeout(send, 400);
      else send();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    h = await startHarness();
    h.nc.subscribe("events.body-broker-integration.provider-circuit-changed", {
      callback: (_e, m) => void circuit.push(m.subject),
    });
    await h.start(service, {
      env: {
        BODY_PROVIDER_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        BODY_PROVIDER_NAME: "avatars-inc",
        BODY_PROVIDER_TIMEOUT_MS: "150",
        BODY_PROVIDER_RETRIES: "1",
        BODY_PROVIDER_BACKOFF_MS: "10",
        BODY_BREAKER_THRESHOLD: "2",
        BODY_BREAKER_COOLDOWN_MS: "500",
        BODY_CATALOG_TTL_MS: "0",
        BODY_SWEEP_MS: "0",
      },
    });
  });
  afterAll(async () => {
    await h?.stop();
    await new Promise((r) => server?.close(r));
  });

  it("lists the provider's catalog and places holds with it", async () => {
    const list = await h.call<{ assets: { assetId: string; provider: string; category: string }[]; stale: boolean }>(
      "body-broker-integration.list-assets",
      {},
    );
    expect(list.stale).toBe(false);
    expect(list.assets.map((a) => [a.assetId, a.provider, a.category])).toEqual([
      ["cape-01", "avatars-inc", "ASSET_CATEGORY_OUTFIT"],
      ["sold-out", "avatars-inc", "ASSET_CATEGORY_HAIR"],
    ]);
    const r = await h.call<ReserveResponse>("body-broker-integration.reserve", { assetId: "cape-01", playerId: "p1" });
    expect(r.reserved).toBe(true);
    expect(seen).toContain("POST /v1/reservations");
    expect(
      await h.call<ReserveResponse>("body-broker-integration.reserve", { assetId: "sold-out", playerId: "p1" }),
    ).toMatchObject({ reserved: false, error: { code: "UNAVAILABLE" } });
  });

  it("retries a failed call and succeeds", async () => {
    mode = "flaky";
    const before = seen.length;
    const list = await h.call<{ assets: unknown[] }>("body-broker-integration.list-assets", {});
    expect(list.assets).toHaveLength(2);
    expect(seen.length - before).toBe(2);
  });

  it("opens the circuit after repeated failures, serves the cached catalog and refuses holds", async () => {
    mode = "fail";
    const stale = await h.call<{ assets: unknown[]; stale: boolean }>("body-broker-integration.list-assets", {});
    expect(stale).toMatchObject({ stale: true });
    mode = "slow"; // timeouts count too
    await h.call("body-broker-integration.list-assets", {});
    const st = await h.call<{
      provider: {
        circuitState: string;
        healthy: boolean;
        consecutiveFailures: number;
        lastError: string;
        openUntil: string;
      };
    }>("body-broker-integration.status", {});
    expect(st.provider).toMatchObject({ circuitState: "CIRCUIT_STATE_OPEN", healthy: false, consecutiveFailures: 2 });
    expect(st.provider.lastError).toMatch(/timed out/);
    expect(st.provider.openUntil).toMatch(/Z$/);
    const before = seen.length;
    const r = await h.call<ReserveResponse>("body-broker-integration.reserve", { assetId: "sold-out", playerId: "p2" });
    expect(r).toMatchObject({ reserved: false, error: { code: "PROVIDER_UNAVAILABLE" } });
    expect(seen.length).toBe(before); // short-circuited: the provider was not called
  });

  it("half-opens after the cool-down and closes again once the provider answers", async () => {
    mode = "ok";
    await sleep(550);
    const st = await h.call<{ provider: { circuitState: string } }>("body-broker-integration.status", {});
    expect(st.provider.circuitState).toBe("CIRCUIT_STATE_HALF_OPEN");
    const list = await h.call<{ stale: boolean }>("body-broker-integration.list-assets", {});
    expect(list.stale).toBe(false);
    const after = await h.call<{ provider: { circuitState: string; consecutiveFailures: number } }>(
      "body-broker-integration.status",
      {},
    );
    expect(after.provider).toMatchObject({ circuitState: "CIRCUIT_STATE_CLOSED", consecutiveFailures: 0 });
    await sleep(100);
    expect(circuit).toHaveLength(3); // CLOSED->OPEN, OPEN->HALF_OPEN, HALF_OPEN->CLOSED
  });
});
