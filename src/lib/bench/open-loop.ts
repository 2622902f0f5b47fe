// The open loop's clock. Request k of a share is due at first + k/rate. Sleeping to that moment on
// the share's own thread (setTimeout cannot wait under 1 ms, so it would have to block) would leave
// the replies that arrive meanwhile unread until it wakes: latencies at moderate rates read up to a
// send interval high. So a metronome thread, which has nothing else to do, sleeps to each due time
// and publishes how many requests are due; the share's thread waits for that with Atomics.waitAsync,
// which never blocks it, sends them, and reads replies the moment they come.

/** [0]: requests due so far; [1]: stop (set by the share) */
export const DUE = 0;
export const STOP = 1;

export interface Schedule {
  /** epoch ms of request 0 */
  first: number;
  /** ms between two requests */
  interval: number;
  /** requests in all (warm-up included) */
  total: number;
}

export const epochNow = (): number => performance.timeOrigin + performance.now();

/** The shortest sleep: at rates above ~20,000 req/s a share's requests go out in small batches. */
const MIN_SLEEP_MS = 0.05;

/** Run in the metronome thread: raise `ctl[DUE]` as requests fall due, until all are or the share says stop. */
export function tick(ctl: Int32Array, s: Schedule): void {
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  let due = 0;
  while (due < s.total && Atomics.load(ctl, STOP) === 0) {
    const now = epochNow();
    const reached = Math.min(s.total, Math.floor((now - s.first) / s.interval) + 1);
    if (reached > due) {
      due = reached;
      Atomics.store(ctl, DUE, due);
      Atomics.notify(ctl, DUE);
    }
    if (due >= s.total) break;
    const wait = s.first + due * s.interval - epochNow();
    // long waits in slices, so a stop is seen within 50 ms
    Atomics.wait(sleeper, 0, 0, Math.min(50, Math.max(MIN_SLEEP_MS, wait)));
  }
}
