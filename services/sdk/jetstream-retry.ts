// JetStream answers "no responders" (NATS.js: JetStreamNotEnabled) while a stream has no leader,
// e.g. for the second or two after the nats-server that led it died. Such a write never reached a
// leader, so sending it again cannot apply it twice: retry it, briefly, instead of failing the request.

/**
 * How long an operation keeps retrying while its stream elects a leader (GS_JS_RETRY_MS, default
 * 10 s: nats-server's raft elects a new leader 4-9 s after one dies without stepping down). The
 * runtime still answers 504 at the request's deadline.
 */
export function retryBudgetMs(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.GS_JS_RETRY_MS);
  return Number.isFinite(v) && v >= 0 ? v : 10_000;
}

/** The stream has no leader right now (the write was not applied). */
export function isLeaderless(err: unknown): boolean {
  const e = err as { name?: string; message?: string };
  if (e?.name === "JetStreamNotEnabled" || e?.name === "NoRespondersError") return true;
  // "temporarily unavailable": e.g. JetStreamApiError 10008 "JetStream system temporarily unavailable" (status 503)
  return /no responders|jetstream is not enabled|temporarily unavailable|no suitable peers/i.test(e?.message ?? "");
}

/** The stream (or the JetStream API) had no leader or did not answer in time: what may be asked again when asking changes nothing, or only creates what is missing. */
export function isLeaderlessOrTimeout(err: unknown): boolean {
  return isLeaderless(err) || /timeout/i.test((err as Error)?.message ?? "");
}

/**
 * How long a starting instance keeps asking JetStream to set up its streams (KV bucket, EVENTS): longer
 * than an election after a node died (4-9 s), plus a JetStream API request that timed out meanwhile (5 s).
 */
export const SETUP_RETRY_MS = 30_000;

/** Run `op`, again while `retryable(err)` and the budget lasts (backoff 25ms doubling to 400ms). */
export async function retryWhile<T>(
  op: () => Promise<T>,
  retryable: (err: unknown) => boolean = isLeaderless,
  budgetMs?: number,
): Promise<T> {
  const t0 = Date.now();
  for (let delay = 25; ; delay = Math.min(delay * 2, 400)) {
    try {
      return await op();
    } catch (err) {
      // the budget (GS_JS_RETRY_MS) is read only once something failed
      if (!retryable(err) || Date.now() + delay > t0 + (budgetMs ?? retryBudgetMs())) throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
