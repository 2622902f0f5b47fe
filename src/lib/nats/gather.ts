// Every reply to one publish on a discovery subject ($SRV.INFO, $SRV.STATS, ...) within a window:
// until the expected number answered, or nothing came for a while, or the window closed.
import { createInbox, Empty, type Msg, type NatsConnection } from "@nats-io/transport-node";

export interface SourceWindow {
  /** never wait longer than this */
  maxWaitMs: number;
  /** without an expected count: stop once nothing came for this long */
  stallMs: number;
  /**
   * how many instances should answer (what the platform runs): stop as soon as they all did. A
   * fixed quiet period alone ends early on a busy machine and reads as instances gone silent.
   * Asked at each reply, so a platform answer that lands during the window still counts.
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
    // every answer may be in before the platform's count is (the first round): once it lands, do not
    // sit out the quiet period
    const recheck = w.expected
      ? setInterval(() => {
          const expected = w.expected?.();
          if (expected && replies.length >= expected) done();
        }, 20)
      : undefined;
    const sub = nc.subscribe(createInbox(), {
      callback: (err, m) => {
        if (err) return done();
        replies.push(m);
        clearTimeout(quiet);
        const expected = w.expected?.();
        // all expected answers in: a moment more for any the platform does not know about
        if (expected && replies.length >= expected) quiet = setTimeout(done, 25);
        else if (!expected) quiet = setTimeout(done, w.stallMs);
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
