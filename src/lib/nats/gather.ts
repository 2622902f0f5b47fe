// Every reply to one publish on a discovery subject ($SRV.INFO, $SRV.STATS, ...) within a window:
// until the expected number answered, or nothing came for a while, or the window closed.
import { createInbox, Empty, type Msg, type NatsConnection } from "@nats-io/transport-node";

export interface SourceWindow {
  /** never wait longer than this */
  maxWaitMs: number;
  /** without an expected count: stop once nothing came for this long */
  stallMs: number;
  /**
   * How many instances should answer (what the platform runs): stop as soon as they all did. Asked at
   * each reply and every 20 ms, so a platform answer that lands during the window still counts.
   * `undefined` while that count is still to come: a pause between answers ends nothing then (a fixed
   * quiet period alone ends early on a busy machine, and reads as instances gone silent); 0 when there
   * is no count (the platform failed, or runs nothing): the quiet period applies.
   */
  expected?: () => number | undefined;
}

export function gather(nc: NatsConnection, subject: string, w: SourceWindow): Promise<Msg[]> {
  return new Promise((resolve) => {
    const replies: Msg[] = [];
    let quiet: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(deadline);
      clearTimeout(quiet);
      clearInterval(recheck);
      sub.unsubscribe();
      resolve(replies);
    };
    const deadline = setTimeout(done, w.maxWaitMs);
    /** the count, 0 for none, undefined while it is to come */
    const count = (): number | undefined => (w.expected ? w.expected() : 0);
    // after each reply and whenever the count may have landed: all in (a moment more for any the
    // platform does not know about), or no count and a quiet period, or wait on
    const settle = (replied: boolean) => {
      const expected = count();
      if (expected === undefined) return;
      if (expected > 0) {
        if (replies.length >= expected) {
          if (replied || quiet === undefined) {
            clearTimeout(quiet);
            quiet = setTimeout(done, 25);
          }
        } else {
          clearTimeout(quiet);
          quiet = undefined;
        }
      } else if (replied || quiet === undefined) {
        clearTimeout(quiet);
        quiet = setTimeout(done, w.stallMs);
      }
    };
    const recheck = w.expected ? setInterval(() => settle(false), 20) : undefined;
    const sub = nc.subscribe(createInbox(), {
      callback: (err, m) => {
        if (err) return done();
        replies.push(m);
        settle(true);
      },
    });
    nc.publish(subject, Empty, { reply: sub.getSubject() });
  });
}

/** The replies that parse as a micro service's JSON answer (INFO, STATS, PING): those naming an instance and its service. */
export async function gatherJson<T extends { id?: string; name?: string }>(
  nc: NatsConnection,
  subject: string,
  w: SourceWindow,
): Promise<T[]> {
  return (await gather(nc, subject, w)).flatMap((m) => {
    try {
      const v = m.json<T>();
      return v?.id && v.name ? [v] : [];
    } catch {
      return [];
    }
  });
}
