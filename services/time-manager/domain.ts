// The game clock and its timers, as pure functions of stored state and real time.
// Game time = anchor game time + (real now - anchor real time) * scale, frozen while paused; every change
// re-anchors at the current instant so no instance ever has to remember anything but the stored clock.

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
/** 4 seasons of 30 days: spring, summer, autumn, winter (weather-manager uses the same calendar). */
export const SEASON_DAYS = 30;

export type DayPhase =
  "DAY_PHASE_DAWN" | "DAY_PHASE_MORNING" | "DAY_PHASE_AFTERNOON" | "DAY_PHASE_EVENING" | "DAY_PHASE_NIGHT";
export type Season = "SEASON_SPRING" | "SEASON_SUMMER" | "SEASON_AUTUMN" | "SEASON_WINTER";
const SEASONS: Season[] = ["SEASON_SPRING", "SEASON_SUMMER", "SEASON_AUTUMN", "SEASON_WINTER"];

export interface ClockDoc {
  anchorGameMs: number;
  anchorRealMs: number;
  /** game seconds per real second */
  scale: number;
  paused: boolean;
}

export function gameTimeAt(c: ClockDoc, realMs: number): number {
  if (c.paused) return c.anchorGameMs;
  return Math.max(0, Math.floor(c.anchorGameMs + (realMs - c.anchorRealMs) * c.scale));
}

/** The clock re-anchored at `realMs`, with changes applied from that instant on. */
export function reanchor(
  c: ClockDoc,
  realMs: number,
  change: Partial<Pick<ClockDoc, "anchorGameMs" | "scale" | "paused">> = {},
): ClockDoc {
  return { anchorGameMs: gameTimeAt(c, realMs), scale: c.scale, paused: c.paused, ...change, anchorRealMs: realMs };
}

export function dayPhase(hour: number): DayPhase {
  if (hour >= 5 && hour < 7) return "DAY_PHASE_DAWN";
  if (hour >= 7 && hour < 12) return "DAY_PHASE_MORNING";
  if (hour >= 12 && hour < 17) return "DAY_PHASE_AFTERNOON";
  if (hour >= 17 && hour < 21) return "DAY_PHASE_EVENING";
  return "DAY_PHASE_NIGHT";
}

export interface Calendar {
  day: number;
  hour: number;
  minute: number;
  dayPhase: DayPhase;
  season: Season;
}

export function calendar(gameMs: number): Calendar {
  const day = Math.floor(gameMs / DAY_MS);
  const inDay = gameMs - day * DAY_MS;
  const hour = Math.floor(inDay / HOUR_MS);
  const minute = Math.floor((inDay - hour * HOUR_MS) / MINUTE_MS);
  return { day, hour, minute, dayPhase: dayPhase(hour), season: SEASONS[Math.floor(day / SEASON_DAYS) % 4]! };
}

export interface TimerDoc {
  timerId: string;
  name: string;
  fireAtGameMs: number;
  /** 0 = one-shot */
  repeatEveryGameMs: number;
  payloadJson: string;
  firedCount: number;
  createdAt: string;
  /** a firing claimed by an instance and not yet confirmed published */
  pending?: Firing;
  /** real ms when `pending` was claimed; a stale claim is published again by whoever notices */
  claimedAtRealMs?: number;
}

export interface Firing {
  timerId: string;
  name: string;
  scheduledGameTimeMs: number;
  gameTimeMs: number;
  payloadJson: string;
  firedCount: number;
  lastFiring: boolean;
}

/**
 * The next firing of a due timer at game time `now`, and the timer as it stands afterwards (null for a
 * one-shot). A repeating timer more than `maxCatchUp` periods behind skips to its latest occurrence.
 */
export function planFiring(t: TimerDoc, now: number, maxCatchUp = 100): { firing: Firing; next: TimerDoc | null } {
  let scheduled = t.fireAtGameMs;
  if (t.repeatEveryGameMs > 0) {
    const behind = Math.floor((now - scheduled) / t.repeatEveryGameMs);
    if (behind > maxCatchUp) scheduled += behind * t.repeatEveryGameMs;
  }
  const firedCount = t.firedCount + 1;
  const lastFiring = t.repeatEveryGameMs <= 0;
  const firing: Firing = {
    timerId: t.timerId,
    name: t.name,
    scheduledGameTimeMs: scheduled,
    gameTimeMs: now,
    payloadJson: t.payloadJson,
    firedCount,
    lastFiring,
  };
  const next = lastFiring ? null : { ...t, fireAtGameMs: scheduled + t.repeatEveryGameMs, firedCount };
  return { firing, next };
}

/** What a tick should do next with a timer: publish a stale claim again, fire it, or nothing. */
export function timerAction(t: TimerDoc, now: number, realNow: number, leaseMs: number): "republish" | "fire" | null {
  if (t.pending) return realNow - (t.claimedAtRealMs ?? 0) >= leaseMs ? "republish" : null;
  return t.fireAtGameMs <= now ? "fire" : null;
}

/** The game time a timer is (or was) due at, for ordering firings. */
export function dueAt(t: TimerDoc): number {
  return t.pending ? t.pending.scheduledGameTimeMs : t.fireAtGameMs;
}
