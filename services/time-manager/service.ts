// time-manager: the authoritative game clock and game-time timers.
// State: `clock` = ClockDoc (anchor + scale + paused; every instance derives "now" from it),
// `timer.<timerId>` = TimerDoc. Each instance polls for due timers and claims a firing with a
// revision-checked write before publishing it, so with any number of instances a firing is published
// once; a claim whose publish was not confirmed within the lease is published again with the same
// JetStream message id, which the stream deduplicates.
// Env: TIME_POLL_MS (real ms between polls, default 250), TIME_DEFAULT_SCALE (default 60),
// TIME_MAX_SCALE (default 100000), TIME_START_GAME_MS (game time of a fresh clock, default 0),
// TIME_MIN_REPEAT_GAME_MS (default 1000), TIME_CLAIM_LEASE_MS (default 5000).
import { randomUUID } from "node:crypto";
import { jetstream } from "@nats-io/jetstream";
import { defineService, type ServiceContext } from "../sdk/runtime.js";
import { badRequest, ServiceError } from "../sdk/errors.js";
import { encodeJson } from "../sdk/json-codec.js";
import { eventSubject } from "../sdk/registry.js";
import { RevisionConflict, type Versioned } from "../sdk/state.js";
import {
  calendar,
  dueAt,
  gameTimeAt,
  planFiring,
  reanchor,
  timerAction,
  type ClockDoc,
  type Firing,
  type TimerDoc,
} from "./domain.js";

// ---- proto types (time_manager.v1) ----
interface ClockState {
  gameTimeMs: string;
  scale: number;
  paused: boolean;
  realTime: string;
  day: number;
  hour: number;
  minute: number;
  dayPhase: string;
  season: string;
}
interface Timer {
  timerId: string;
  name: string;
  fireAtGameTimeMs: string;
  repeatEveryGameMs: string;
  payloadJson: string;
  firedCount: number;
  createdAt: string;
}
type Empty = Record<string, never>;
interface SetTimeRequest {
  gameTimeMs: string;
}
interface SetScaleRequest {
  scale: number;
}
interface ScheduleTimerRequest {
  name: string;
  fireAtGameTimeMs: string;
  inGameMs: string;
  repeatEveryGameMs: string;
  payloadJson: string;
}
interface ListTimersRequest {
  namePrefix: string;
  limit: number;
}
interface CancelTimerRequest {
  timerId: string;
}

const CLOCK_KEY = "clock";
const timerKey = (id: string) => `timer.${id}`;
const MAX_FIRINGS_PER_TICK = 500;

function toClockState(c: ClockDoc, realMs: number): ClockState {
  const game = gameTimeAt(c, realMs);
  return {
    gameTimeMs: String(game),
    scale: c.scale,
    paused: c.paused,
    realTime: new Date(realMs).toISOString(),
    ...calendar(game),
  };
}

const toTimer = (t: TimerDoc): Timer => ({
  timerId: t.timerId,
  name: t.name,
  fireAtGameTimeMs: String(t.fireAtGameMs),
  repeatEveryGameMs: String(t.repeatEveryGameMs),
  payloadJson: t.payloadJson,
  firedCount: t.firedCount,
  createdAt: t.createdAt,
});

function gameMs(value: string, field: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw badRequest(`${field} must be a non-negative game time in ms (got ${value})`);
  return n;
}

// Pollers of the instances running in this process; stop() waits for the ticks of stopped ones.
const pollers = new Set<{ signal: AbortSignal; idle: () => Promise<void> }>();

export default defineService({
  name: "time-manager",
  description: "The game clock and game-time timers",
  start(ctx: ServiceContext) {
    const env = ctx.env;
    const pollMs = Number(env.TIME_POLL_MS ?? 250);
    const defaultScale = Number(env.TIME_DEFAULT_SCALE ?? 60);
    const maxScale = Number(env.TIME_MAX_SCALE ?? 100_000);
    const startGameMs = Number(env.TIME_START_GAME_MS ?? 0);
    const minRepeat = Number(env.TIME_MIN_REPEAT_GAME_MS ?? 1000);
    const leaseMs = Number(env.TIME_CLAIM_LEASE_MS ?? 5000);
    const js = jetstream(ctx.nc);
    const firedType = ctx.registry.event(eventSubject(ctx.name, "TimerFiredEvent"))!.type;

    async function readClock(): Promise<ClockDoc> {
      const cur = await ctx.state.get<ClockDoc>(CLOCK_KEY);
      if (cur) return cur.value;
      const fresh: ClockDoc = {
        anchorGameMs: startGameMs,
        anchorRealMs: Date.now(),
        scale: defaultScale,
        paused: false,
      };
      try {
        await ctx.state.put(CLOCK_KEY, fresh, 0);
        return fresh;
      } catch (err) {
        if (err instanceof RevisionConflict) return (await ctx.state.get<ClockDoc>(CLOCK_KEY))!.value; // another instance created it
        throw err;
      }
    }

    /** Re-anchors the stored clock with a change, under optimistic concurrency. */
    async function changeClock(
      change: string,
      fn: (c: ClockDoc, realMs: number) => ClockDoc,
    ): Promise<{ before: ClockDoc; after: ClockDoc; realMs: number }> {
      await readClock();
      let before!: ClockDoc;
      let realMs = 0;
      const saved = await ctx.state.update<ClockDoc>(CLOCK_KEY, (cur) => {
        before = cur!;
        realMs = Date.now();
        return fn(before, realMs);
      });
      await ctx.events.publish("ClockChangedEvent", { clock: toClockState(saved.value, realMs), change });
      kick();
      return { before, after: saved.value, realMs };
    }

    // ---- the timer loop ----
    let timer: NodeJS.Timeout | undefined;
    let ticking: Promise<void> | undefined;
    let again = false;

    async function publishFiring(f: Firing): Promise<void> {
      const subject = eventSubject(ctx.name, "TimerFiredEvent");
      const data = { ...f, scheduledGameTimeMs: String(f.scheduledGameTimeMs), gameTimeMs: String(f.gameTimeMs) };
      await js.publish(subject, encodeJson(firedType, data), { msgID: `${f.timerId}:${f.firedCount}` });
    }

    /** After publishing: a one-shot timer is gone, a repeating one drops its claim. Losing a race here is fine. */
    async function settle(doc: TimerDoc, revision: number): Promise<Versioned<TimerDoc> | null> {
      const key = timerKey(doc.timerId);
      try {
        if (doc.pending?.lastFiring) {
          await ctx.state.delete(key, revision);
          return null;
        }
        const { pending: _p, claimedAtRealMs: _c, ...rest } = doc;
        return { value: rest, revision: await ctx.state.put(key, rest, revision) };
      } catch (err) {
        if (err instanceof RevisionConflict) return null;
        throw err;
      }
    }

    async function tick(): Promise<void> {
      const now = gameTimeAt(await readClock(), Date.now());
      const loaded = await Promise.all((await ctx.state.keys("timer")).map((k) => ctx.state.get<TimerDoc>(k)));
      const timers = new Map(loaded.flatMap((t) => (t ? [[t.value.timerId, t] as const] : [])));
      for (let n = 0; n < MAX_FIRINGS_PER_TICK && !ctx.signal.aborted; n++) {
        // soonest due first, so firings passed over by a jump go out in order
        let best: { t: Versioned<TimerDoc>; action: "republish" | "fire" } | undefined;
        for (const t of timers.values()) {
          const action = timerAction(t.value, now, Date.now(), leaseMs);
          if (!action) continue;
          if (
            !best ||
            dueAt(t.value) < dueAt(best.t.value) ||
            (dueAt(t.value) === dueAt(best.t.value) && t.value.timerId < best.t.value.timerId)
          ) {
            best = { t, action };
          }
        }
        if (!best) return;
        const { t, action } = best;
        const claimed: TimerDoc =
          action === "fire"
            ? (() => {
                const { firing, next } = planFiring(t.value, now);
                return { ...(next ?? t.value), pending: firing, claimedAtRealMs: Date.now() };
              })()
            : { ...t.value, claimedAtRealMs: Date.now() };
        let revision: number;
        try {
          revision = await ctx.state.put(timerKey(t.value.timerId), claimed, t.revision);
        } catch (err) {
          if (!(err instanceof RevisionConflict)) throw err;
          // another instance claimed it (or it was cancelled): look again
          const fresh = await ctx.state.get<TimerDoc>(timerKey(t.value.timerId));
          if (fresh) timers.set(t.value.timerId, fresh);
          else timers.delete(t.value.timerId);
          continue;
        }
        await publishFiring(claimed.pending!);
        const settled = await settle(claimed, revision);
        if (settled) timers.set(t.value.timerId, settled);
        else timers.delete(t.value.timerId);
      }
    }

    function runTick(): Promise<void> {
      if (ticking) {
        again = true;
        return ticking;
      }
      ticking = (async () => {
        do {
          again = false;
          try {
            await tick();
          } catch (err) {
            if (!ctx.signal.aborted) ctx.log.warn("timer tick failed", { err });
          }
        } while (again && !ctx.signal.aborted);
      })().finally(() => {
        ticking = undefined;
      });
      return ticking;
    }

    /** Checks for due timers now instead of at the next poll. */
    function kick(): void {
      if (!ctx.signal.aborted) void runTick();
    }

    const loop = () => {
      timer = setTimeout(() => void runTick().then(() => !ctx.signal.aborted && loop()), pollMs);
    };
    loop();
    const poller = { signal: ctx.signal, idle: async () => void (await ticking) };
    pollers.add(poller);
    ctx.signal.addEventListener("abort", () => clearTimeout(timer), { once: true });

    return {
      async GetTime(_req: Empty) {
        return { clock: toClockState(await readClock(), Date.now()) };
      },

      async SetTime(req: SetTimeRequest) {
        const target = gameMs(req.gameTimeMs, "gameTimeMs");
        const { before, after, realMs } = await changeClock("set", (c, real) =>
          reanchor(c, real, { anchorGameMs: target }),
        );
        return { clock: toClockState(after, realMs), previousGameTimeMs: String(gameTimeAt(before, realMs)) };
      },

      async SetScale(req: SetScaleRequest) {
        if (!Number.isFinite(req.scale) || req.scale <= 0 || req.scale > maxScale)
          throw badRequest(`scale must be > 0 and <= ${maxScale} (got ${req.scale})`);
        const { before, after, realMs } = await changeClock("scale", (c, real) =>
          reanchor(c, real, { scale: req.scale }),
        );
        return { clock: toClockState(after, realMs), previousScale: before.scale };
      },

      async Pause(_req: Empty) {
        const clock = await readClock();
        if (clock.paused) return { clock: toClockState(clock, Date.now()), changed: false };
        const { before, after, realMs } = await changeClock("pause", (c, real) => reanchor(c, real, { paused: true }));
        return { clock: toClockState(after, realMs), changed: !before.paused };
      },

      async Resume(_req: Empty) {
        const clock = await readClock();
        if (!clock.paused) return { clock: toClockState(clock, Date.now()), changed: false };
        const { before, after, realMs } = await changeClock("resume", (c, real) =>
          reanchor(c, real, { paused: false }),
        );
        return { clock: toClockState(after, realMs), changed: before.paused };
      },

      async ScheduleTimer(req: ScheduleTimerRequest) {
        const name = req.name.trim();
        if (!name) throw badRequest("name is required");
        if (name.length > 200) throw badRequest("name is longer than 200 characters");
        if (req.payloadJson.length > 16_384) throw badRequest("payloadJson is larger than 16 KiB");
        const inGame = Number(req.inGameMs);
        if (!Number.isSafeInteger(inGame) || inGame < 0) throw badRequest("inGameMs must be >= 0");
        const repeat = gameMs(req.repeatEveryGameMs, "repeatEveryGameMs");
        if (repeat > 0 && repeat < minRepeat) throw badRequest(`repeatEveryGameMs must be 0 or >= ${minRepeat}`);
        const fireAt =
          inGame > 0
            ? gameTimeAt(await readClock(), Date.now()) + inGame
            : gameMs(req.fireAtGameTimeMs, "fireAtGameTimeMs");
        const doc: TimerDoc = {
          timerId: randomUUID(),
          name,
          fireAtGameMs: fireAt,
          repeatEveryGameMs: repeat,
          payloadJson: req.payloadJson,
          firedCount: 0,
          createdAt: new Date().toISOString(),
        };
        await ctx.state.put(timerKey(doc.timerId), doc, 0);
        await ctx.events.publish("TimerScheduledEvent", { timer: toTimer(doc) });
        kick();
        return { timer: toTimer(doc) };
      },

      async ListTimers(req: ListTimersRequest) {
        const loaded = await Promise.all((await ctx.state.keys("timer")).map((k) => ctx.state.get<TimerDoc>(k)));
        const timers = loaded
          .flatMap((t) =>
            t && !t.value.pending?.lastFiring && t.value.name.startsWith(req.namePrefix) ? [t.value] : [],
          )
          .sort((a, b) => a.fireAtGameMs - b.fireAtGameMs || a.timerId.localeCompare(b.timerId));
        return { timers: (req.limit > 0 ? timers.slice(0, req.limit) : timers).map(toTimer) };
      },

      async CancelTimer(req: CancelTimerRequest) {
        const id = req.timerId.trim();
        if (!id) throw badRequest("timerId is required");
        for (let attempt = 0; attempt < 10; attempt++) {
          const cur = await ctx.state.get<TimerDoc>(timerKey(id));
          if (!cur || cur.value.pending?.lastFiring) return { cancelled: false };
          try {
            await ctx.state.delete(timerKey(id), cur.revision);
          } catch (err) {
            if (err instanceof RevisionConflict) continue;
            throw err;
          }
          await ctx.events.publish("TimerCancelledEvent", { timerId: id, name: cur.value.name });
          return { cancelled: true };
        }
        throw new ServiceError(409, `timer ${id} keeps changing; try again`);
      },
    };
  },
  async stop() {
    for (const p of [...pollers]) {
      if (!p.signal.aborted) continue;
      await p.idle();
      pollers.delete(p);
    }
  },
});
