import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Subscription } from "@nats-io/transport-node";
import { decodeToJson } from "../sdk/json-codec.js";
import { defaultRegistry } from "../sdk/runtime.js";
import { startHarness, type Harness } from "../test-support/harness.js";
import { calendar, DAY_MS, gameTimeAt, HOUR_MS, planFiring, reanchor, timerAction, type TimerDoc } from "./domain.js";
import service from "./service.js";

describe("game clock", () => {
  const clock = { anchorGameMs: 1000, anchorRealMs: 10_000, scale: 60, paused: false };

  it("advances game time at scale game seconds per real second", () => {
    expect(gameTimeAt(clock, 11_000)).toBe(61_000);
    expect(gameTimeAt({ ...clock, paused: true }, 99_000)).toBe(1000);
  });

  it("keeps game time continuous when re-anchored with a new scale", () => {
    const c2 = reanchor(clock, 12_000, { scale: 1 });
    expect(gameTimeAt(c2, 12_000)).toBe(gameTimeAt(clock, 12_000));
    expect(gameTimeAt(c2, 13_000)).toBe(gameTimeAt(clock, 12_000) + 1000);
    expect(gameTimeAt(reanchor(clock, 12_000, { paused: true }), 50_000)).toBe(121_000);
  });

  it("derives day, hour, phase and season from game time", () => {
    expect(calendar(0)).toMatchObject({
      day: 0,
      hour: 0,
      minute: 0,
      dayPhase: "DAY_PHASE_NIGHT",
      season: "SEASON_SPRING",
    });
    expect(calendar(6 * HOUR_MS + 30 * 60_000)).toMatchObject({ hour: 6, minute: 30, dayPhase: "DAY_PHASE_DAWN" });
    expect(calendar(35 * DAY_MS + 13 * HOUR_MS)).toMatchObject({
      day: 35,
      dayPhase: "DAY_PHASE_AFTERNOON",
      season: "SEASON_SUMMER",
    });
    expect(calendar(95 * DAY_MS + 18 * HOUR_MS)).toMatchObject({
      dayPhase: "DAY_PHASE_EVENING",
      season: "SEASON_WINTER",
    });
    expect(calendar(125 * DAY_MS).season).toBe("SEASON_SPRING");
  });
});

describe("timer planning", () => {
  const t: TimerDoc = {
    timerId: "t",
    name: "n",
    fireAtGameMs: 1000,
    repeatEveryGameMs: 0,
    payloadJson: "",
    firedCount: 0,
    createdAt: "",
  };

  it("fires a one-shot timer once and drops it", () => {
    const { firing, next } = planFiring(t, 1500);
    expect(firing).toMatchObject({ scheduledGameTimeMs: 1000, gameTimeMs: 1500, firedCount: 1, lastFiring: true });
    expect(next).toBeNull();
  });

  it("advances a repeating timer by one period per firing, and skips ahead when far behind", () => {
    const r = { ...t, repeatEveryGameMs: 100 };
    expect(planFiring(r, 1250).next).toMatchObject({ fireAtGameMs: 1100, firedCount: 1 });
    const far = planFiring(r, 1000 + 100 * 1000 + 50, 10);
    expect(far.firing.scheduledGameTimeMs).toBe(1000 + 100 * 1000);
    expect(far.next!.fireAtGameMs).toBe(1000 + 100 * 1001);
  });

  it("publishes a stale claim again only after its lease", () => {
    const claimed = { ...t, pending: planFiring(t, 1000).firing, claimedAtRealMs: 5000 };
    expect(timerAction(claimed, 2000, 6000, 5000)).toBeNull();
    expect(timerAction(claimed, 2000, 10_000, 5000)).toBe("republish");
    expect(timerAction(t, 999, 0, 5000)).toBeNull();
    expect(timerAction(t, 1000, 0, 5000)).toBe("fire");
  });
});

interface Clock {
  gameTimeMs: string;
  scale: number;
  paused: boolean;
  hour: number;
}
interface Fired {
  timerId: string;
  name: string;
  firedCount: number;
  lastFiring: boolean;
  scheduledGameTimeMs: string;
}

describe("time-manager with two instances", () => {
  let h: Harness;
  let sub: Subscription;
  const fired: Fired[] = [];
  const waitFor = async (cond: () => boolean, ms = 5000) => {
    const until = Date.now() + ms;
    while (!cond() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(cond()).toBe(true);
  };
  beforeAll(async () => {
    h = await startHarness();
    const env = { TIME_POLL_MS: "15", TIME_DEFAULT_SCALE: "1000" };
    await h.start(service, { env });
    await h.start(service, { env });
    // decode the fired events as any subscriber would, from the stream's subject
    const def = defaultRegistry().event("events.time-manager.timer-fired")!;
    sub = h.nc.subscribe("events.time-manager.timer-fired", {
      callback: (_e, m) => void fired.push(decodeToJson(def.type, m.data) as unknown as Fired),
    });
  });
  afterAll(async () => {
    sub?.unsubscribe();
    await h?.stop();
  });

  it("runs the clock at its scale and both instances agree while paused", async () => {
    const a = await h.call<{ clock: Clock }>("time-manager.get-time");
    await new Promise((r) => setTimeout(r, 50));
    const b = await h.call<{ clock: Clock }>("time-manager.get-time");
    expect(Number(b.clock.gameTimeMs)).toBeGreaterThan(Number(a.clock.gameTimeMs));
    const p = await h.call<{ changed: boolean; clock: Clock }>("time-manager.pause");
    expect(p.changed).toBe(true);
    expect((await h.call<{ changed: boolean }>("time-manager.pause")).changed).toBe(false);
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) seen.add((await h.call<{ clock: Clock }>("time-manager.get-time")).clock.gameTimeMs);
    expect([...seen]).toEqual([p.clock.gameTimeMs]);
    expect((await h.call<{ changed: boolean }>("time-manager.resume")).changed).toBe(true);
  });

  it("sets the time and scale, and refuses a scale out of range with a 400", async () => {
    const s = await h.call<{ clock: Clock; previousGameTimeMs: string }>("time-manager.set-time", {
      gameTimeMs: String(10 * HOUR_MS),
    });
    expect(s.clock.hour).toBe(10);
    const sc = await h.call<{ previousScale: number; clock: Clock }>("time-manager.set-scale", { scale: 2000 });
    expect([sc.previousScale, sc.clock.scale]).toEqual([1000, 2000]);
    expect((await h.fail("time-manager.set-scale", { scale: 0 })).code).toBe(400);
    expect((await h.fail("time-manager.set-scale", { scale: 1e9 })).code).toBe(400);
    expect((await h.fail("time-manager.schedule-timer", { name: "" })).code).toBe(400);
    await h.call("time-manager.set-scale", { scale: 1000 });
  });

  it("publishes each due timer exactly once with two instances polling", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await h.call<{ timer: { timerId: string } }>("time-manager.schedule-timer", {
        name: `race.${i}`,
        inGameMs: String(50 + i * 10),
      });
      ids.push(r.timer.timerId);
    }
    await waitFor(() => ids.every((id) => fired.some((f) => f.timerId === id)));
    await new Promise((r) => setTimeout(r, 200)); // room for a duplicate to show up
    for (const id of ids) expect(fired.filter((f) => f.timerId === id)).toHaveLength(1);
    expect(fired.find((f) => f.timerId === ids[0])!.lastFiring).toBe(true);
    const left = await h.call<{ timers: unknown[] }>("time-manager.list-timers", { namePrefix: "race." });
    expect(left.timers).toEqual([]);
  });

  it("fires timers passed over by a jump immediately, in order", async () => {
    await h.call("time-manager.pause");
    const now = Number((await h.call<{ clock: Clock }>("time-manager.get-time")).clock.gameTimeMs);
    const late = await h.call<{ timer: { timerId: string } }>("time-manager.schedule-timer", {
      name: "jump.b",
      fireAtGameTimeMs: String(now + 2 * HOUR_MS),
    });
    const early = await h.call<{ timer: { timerId: string } }>("time-manager.schedule-timer", {
      name: "jump.a",
      fireAtGameTimeMs: String(now + HOUR_MS),
    });
    const listed = await h.call<{ timers: { name: string }[] }>("time-manager.list-timers", { namePrefix: "jump." });
    expect(listed.timers.map((t) => t.name)).toEqual(["jump.a", "jump.b"]);
    await new Promise((r) => setTimeout(r, 100));
    expect(fired.some((f) => f.name.startsWith("jump."))).toBe(false); // paused: not due yet
    await h.call("time-manager.set-time", { gameTimeMs: String(now + 3 * HOUR_MS) });
    await waitFor(() => fired.filter((f) => f.name.startsWith("jump.")).length === 2);
    expect(fired.filter((f) => f.name.startsWith("jump.")).map((f) => f.timerId)).toEqual([
      early.timer.timerId,
      late.timer.timerId,
    ]);
    await h.call("time-manager.resume");
  });

  it("repeats a repeating timer with a growing count until cancelled", async () => {
    const r = await h.call<{ timer: { timerId: string } }>("time-manager.schedule-timer", {
      name: "tick",
      inGameMs: "1000",
      repeatEveryGameMs: "20000",
      payloadJson: '{"k":1}',
    });
    const id = r.timer.timerId;
    await waitFor(() => fired.filter((f) => f.timerId === id).length >= 3);
    const counts = fired.filter((f) => f.timerId === id).map((f) => f.firedCount);
    expect(counts.slice(0, 3)).toEqual([1, 2, 3]);
    expect(fired.find((f) => f.timerId === id)!.lastFiring).toBe(false);
    expect((await h.call<{ cancelled: boolean }>("time-manager.cancel-timer", { timerId: id })).cancelled).toBe(true);
    expect((await h.call<{ cancelled: boolean }>("time-manager.cancel-timer", { timerId: id })).cancelled).toBe(false);
    await new Promise((r) => setTimeout(r, 100));
    const after = fired.filter((f) => f.timerId === id).length;
    await new Promise((r) => setTimeout(r, 150));
    expect(fired.filter((f) => f.timerId === id).length).toBe(after);
  });
});
