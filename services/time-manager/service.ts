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
import { defineService, ServiceBase, type RpcHandlers, type ServiceContext } from "../sdk/runtime.js";
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
import type {
  CancelTimerRequest,
  CancelTimerResponse,
  ClockState,
  GetTimeRequest,
  GetTimeResponse,
  ListTimersRequest,
  ListTimersResponse,
  PauseRequest,
  PauseResponse,
  ResumeRequest,
  ResumeResponse,
  ScheduleTimerRequest,
  ScheduleTimerResponse,
  SetScaleRequest,
  SetScaleResponse,
  SetTimeRequest,
  SetTimeResponse,
  TimeManagerServiceRpcs,
  Timer,
} from "../generated/time_manager/v1/time_manager.js";

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

class TimeManager extends ServiceBase implements RpcHandlers<TimeManagerServiceRpcs> {
  private readonly env = this.ctx.env;
  private readonly pollMs = Number(this.env.TIME_POLL_MS ?? 250);
  private readonly defaultScale = Number(this.env.TIME_DEFAULT_SCALE ?? 60);
  private readonly maxScale = Number(this.env.TIME_MAX_SCALE ?? 100_000);
  private readonly startGameMs = Number(this.env.TIME_START_GAME_MS ?? 0);
  private readonly minRepeat = Number(this.env.TIME_MIN_REPEAT_GAME_MS ?? 1000);
  private readonly leaseMs = Number(this.env.TIME_CLAIM_LEASE_MS ?? 5000);
  private readonly js = jetstream(this.ctx.nc);
  private readonly firedType = this.ctx.registry.event(eventSubject(this.ctx.name, "TimerFiredEvent"))!.type;

  // ---- the timer loop ----
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private again = false;
  private readonly poller = { signal: this.ctx.signal, idle: async () => void (await this.ticking) };

  constructor(ctx: ServiceContext) {
    super(ctx);
    this.loop();
    pollers.add(this.poller);
    ctx.signal.addEventListener("abort", () => clearTimeout(this.timer), { once: true });
  }

  async GetTime(_req: GetTimeRequest): Promise<GetTimeResponse> {
    return { clock: toClockState(await this.readClock(), Date.now()) };
  }

  async SetTime(req: SetTimeRequest): Promise<SetTimeResponse> {
    const target = gameMs(req.gameTimeMs, "gameTimeMs");
    const { before, after, realMs } = await this.changeClock("set", (c, real) =>
      reanchor(c, real, { anchorGameMs: target }),
    );
    return { clock: toClockState(after, realMs), previousGameTimeMs: String(gameTimeAt(before, realMs)) };
  }

  async SetScale(req: SetScaleRequest): Promise<SetScaleResponse> {
    if (!Number.isFinite(req.scale) || req.scale <= 0 || req.scale > this.maxScale)
      throw badRequest(`scale must be > 0 and <= ${this.maxScale} (got ${req.scale})`);
    const { before, after, realMs } = await this.changeClock("scale", (c, real) =>
      reanchor(c, real, { scale: req.scale }),
    );
    return { clock: toClockState(after, realMs), previousScale: before.scale };
  }

  async Pause(_req: PauseRequest): Promise<PauseResponse> {
    const clock = await this.readClock();
    if (clock.paused) return { clock: toClockState(clock, Date.now()), changed: false };
    const { before, after, realMs } = await this.changeClock("pause", (c, real) => reanchor(c, real, { paused: true }));
    return { clock: toClockState(after, realMs), changed: !before.paused };
  }

  async Resume(_req: ResumeRequest): Promise<ResumeResponse> {
    const clock = await this.readClock();
    if (!clock.paused) return { clock: toClockState(clock, Date.now()), changed: false };
    const { before, after, realMs } = await this.changeClock("resume", (c, real) =>
      reanchor(c, real, { paused: false }),
    );
    return { clock: toClockState(after, realMs), changed: before.paused };
  }

  async ScheduleTimer(req: ScheduleTimerRequest): Promise<ScheduleTimerResponse> {
    const name = req.name.trim();
    if (!name) throw badRequest("name is required");
    if (name.length > 200) throw badRequest("name is longer than 200 characters");
    if (req.payloadJson.length > 16_384) throw badRequest("payloadJson is larger than 16 KiB");
    const inGame = Number(req.inGameMs);
    if (!Number.isSafeInteger(inGame) || inGame < 0) throw badRequest("inGameMs must be >= 0");
    const repeat = gameMs(req.repeatEveryGameMs, "repeatEveryGameMs");
    if (repeat > 0 && repeat < this.minRepeat) throw badRequest(`repeatEveryGameMs must be 0 or >= ${this.minRepeat}`);
    const fireAt =
      inGame > 0
        ? gameTimeAt(await this.readClock(), Date.now()) + inGame
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
    await this.ctx.state.put(timerKey(doc.timerId), doc, 0);
    await this.ctx.events.publish("TimerScheduledEvent", { timer: toTimer(doc) });
    this.kick();
    return { timer: toTimer(doc) };
  }

  async ListTimers(req: ListTimersRequest): Promise<ListTimersResponse> {
    const loaded = await Promise.all((await this.ctx.state.keys("timer")).map((k) => this.ctx.state.get<TimerDoc>(k)));
    const timers = loaded
      .flatMap((t) => (t && !t.value.pending?.lastFiring && t.value.name.startsWith(req.namePrefix) ? [t.value] : []))
      .sort((a, b) => a.fireAtGameMs - b.fireAtGameMs || a.timerId.localeCompare(b.timerId));
    return { timers: (req.limit > 0 ? timers.slice(0, req.limit) : timers).map(toTimer) };
  }

  async CancelTimer(req: CancelTimerRequest): Promise<CancelTimerResponse> {
    const id = req.timerId.trim();
    if (!id) throw badRequest("timerId is required");
    for (let attempt = 0; attempt < 10; attempt++) {
      const cur = await this.ctx.state.get<TimerDoc>(timerKey(id));
      if (!cur || cur.value.pending?.lastFiring) return { cancelled: false };
      try {
        await this.ctx.state.delete(timerKey(id), cur.revision);
      } catch (err) {
        if (err instanceof RevisionConflict) continue;
        throw err;
      }
      await this.ctx.events.publish("TimerCancelledEvent", { timerId: id, name: cur.value.name });
      return { cancelled: true };
    }
    throw new ServiceError(409, `timer ${id} keeps changing; try again`);
  }

  private loop() {
    this.timer = setTimeout(() => void this.runTick().then(() => !this.ctx.signal.aborted && this.loop()), this.pollMs);
  }

  private async readClock(): Promise<ClockDoc> {
    const cur = await this.ctx.state.get<ClockDoc>(CLOCK_KEY);
    if (cur) return cur.value;
    const fresh: ClockDoc = {
      anchorGameMs: this.startGameMs,
      anchorRealMs: Date.now(),
      scale: this.defaultScale,
      paused: false,
    };
    try {
      await this.ctx.state.put(CLOCK_KEY, fresh, 0);
      return fresh;
    } catch (err) {
      if (err instanceof RevisionConflict) return (await this.ctx.state.get<ClockDoc>(CLOCK_KEY))!.value; // another instance created it
      throw err;
    }
  }

  /** Re-anchors the stored clock with a change, under optimistic concurrency. */
  private async changeClock(
    change: string,
    fn: (c: ClockDoc, realMs: number) => ClockDoc,
  ): Promise<{ before: ClockDoc; after: ClockDoc; realMs: number }> {
    await this.readClock();
    let before!: ClockDoc;
    let realMs = 0;
    const saved = await this.ctx.state.update<ClockDoc>(CLOCK_KEY, (cur) => {
      before = cur!;
      realMs = Date.now();
      return fn(before, realMs);
    });
    await this.ctx.events.publish("ClockChangedEvent", { clock: toClockState(saved.value, realMs), change });
    this.kick();
    return { before, after: saved.value, realMs };
  }

  private async publishFiring(f: Firing): Promise<void> {
    const subject = eventSubject(this.ctx.name, "TimerFiredEvent");
    const data = { ...f, scheduledGameTimeMs: String(f.scheduledGameTimeMs), gameTimeMs: String(f.gameTimeMs) };
    await this.js.publish(subject, encodeJson(this.firedType, data), { msgID: `${f.timerId}:${f.firedCount}` });
  }

  /** After publishing: a one-shot timer is gone, a repeating one drops its claim. Losing a race here is fine. */
  private async settle(doc: TimerDoc, revision: number): Promise<Versioned<TimerDoc> | null> {
    const key = timerKey(doc.timerId);
    try {
      if (doc.pending?.lastFiring) {
        await this.ctx.state.delete(key, revision);
        return null;
      }
      const { pending: _p, claimedAtRealMs: _c, ...rest } = doc;
      return { value: rest, revision: await this.ctx.state.put(key, rest, revision) };
    } catch (err) {
      if (err instanceof RevisionConflict) return null;
      throw err;
    }
  }

  private async tick(): Promise<void> {
    const now = gameTimeAt(await this.readClock(), Date.now());
    const loaded = await Promise.all((await this.ctx.state.keys("timer")).map((k) => this.ctx.state.get<TimerDoc>(k)));
    const timers = new Map(loaded.flatMap((t) => (t ? [[t.value.timerId, t] as const] : [])));
    for (let n = 0; n < MAX_FIRINGS_PER_TICK && !this.ctx.signal.aborted; n++) {
      // soonest due first, so firings passed over by a jump go out in order
      let best: { t: Versioned<TimerDoc>; action: "republish" | "fire" } | undefined;
      for (const t of timers.values()) {
        const action = timerAction(t.value, now, Date.now(), this.leaseMs);
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
        revision = await this.ctx.state.put(timerKey(t.value.timerId), claimed, t.revision);
      } catch (err) {
        if (!(err instanceof RevisionConflict)) throw err;
        // another instance claimed it (or it was cancelled): look again
        const fresh = await this.ctx.state.get<TimerDoc>(timerKey(t.value.timerId));
        if (fresh) timers.set(t.value.timerId, fresh);
        else timers.delete(t.value.timerId);
        continue;
      }
      await this.publishFiring(claimed.pending!);
      const settled = await this.settle(claimed, revision);
      if (settled) timers.set(t.value.timerId, settled);
      else timers.delete(t.value.timerId);
    }
  }

  private runTick(): Promise<void> {
    if (this.ticking) {
      this.again = true;
      return this.ticking;
    }
    this.ticking = (async () => {
      do {
        this.again = false;
        try {
          await this.tick();
        } catch (err) {
          if (!this.ctx.signal.aborted) this.ctx.log.warn("timer tick failed", { err });
        }
      } while (this.again && !this.ctx.signal.aborted);
    })().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  /** Checks for due timers now instead of at the next poll. */
  private kick(): void {
    if (!this.ctx.signal.aborted) void this.runTick();
  }
}

export default defineService({
  name: "time-manager",
  description: "The game clock and game-time timers",
  start: (ctx) => new TimeManager(ctx),
  async stop() {
    for (const p of [...pollers]) {
      if (!p.signal.aborted) continue;
      await p.idle();
      pollers.delete(p);
    }
  },
});
