// A moment as `gs events` takes it (--since, --to): a duration ago, as `docker logs --since` and
// `journalctl --since` read one (10m, 2h, 1d), or an ISO 8601 date-time.
import { parseDuration } from "../output/format.js";
import { UsageError } from "../output/errors.js";

const DAYS = /^(\d+(?:\.\d+)?)d$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** `text` as a time (ms since the epoch), relative to `now`; never in the future. */
export function parsePointInTime(text: string, now: number): number {
  const t = text.trim();
  const days = DAYS.exec(t);
  const ago = days ? Number(days[1]) * 86_400_000 : parseDuration(t);
  let at: number | undefined;
  if (ago !== undefined) at = now - ago;
  else if (DATE_TIME.test(t)) at = Date.parse(t);
  if (at === undefined || Number.isNaN(at))
    throw new UsageError(
      `bad time "${text}": use a duration ago (30s, 10m, 2h, 1d) or a date-time (2025-01-31T12:00:00Z)`,
    );
  if (at > now) throw new UsageError(`${text} is in the future`, "events can only be read up to now");
  return at;
}
