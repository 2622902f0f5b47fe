// The NATS layer through the system account: one $SYS.REQ.SERVER.PING.VARZ and one .JSZ, each
// answered by every server of the cluster (nats-server 2.9+). Only a user of the system account
// gets answers; any other connection gets "no responders" (or a permissions violation), which
// this turns into SystemAccountUnavailable for the caller to note and fall back on.
import {
  AuthorizationError,
  createInbox,
  NoRespondersError,
  PermissionViolationError,
  type Msg,
  type NatsConnection,
} from "@nats-io/transport-node";
import { isVarz, JSZ_OPTIONS, serverReport, type Jsz, type ServerReport, type Varz } from "./server-report.js";

export interface PingWindow {
  /** never wait longer than this */
  maxWaitMs: number;
  /** without `expected`, once a server answered: stop when no other answered for this long */
  stallMs: number;
  /** how many servers should answer: stop as soon as they all did (else at maxWaitMs) */
  expected?: number;
}

/** This connection cannot read the system account; `reason` is one line. */
export class SystemAccountUnavailable extends Error {
  override name = "SystemAccountUnavailable";
}

/** Every server's VARZ and JSZ, joined by server id. */
export async function readViaSystemAccount(nc: NatsConnection, w: PingWindow): Promise<ServerReport[]> {
  const started = Date.now();
  const varz = await pingServers<Varz>(nc, "$SYS.REQ.SERVER.PING.VARZ", "", w);
  if (varz.size === 0) throw new SystemAccountUnavailable(`no server answered within ${w.maxWaitMs}ms`);
  // then JSZ, waiting for each server that is up (a JSZ is heavier than a VARZ: no stall cut-off);
  // best effort, as a server without JetStream still has a VARZ
  const left = Math.max(100, w.maxWaitMs - (Date.now() - started));
  const jsz = await pingServers<Jsz>(nc, "$SYS.REQ.SERVER.PING.JSZ", JSON.stringify(JSZ_OPTIONS), {
    maxWaitMs: left,
    stallMs: left,
    expected: varz.size,
  }).catch(() => new Map<string, Jsz>());
  return [...varz.entries()].flatMap(([id, v]) => (isVarz(v) ? [serverReport(v, jsz.get(id))] : []));
}

/** The `data` of each server's answer, by server id. */
async function pingServers<T>(
  nc: NatsConnection,
  subject: string,
  body: string,
  w: PingWindow,
): Promise<Map<string, T>> {
  const replies = await collect(nc, subject, body, w);
  const out = new Map<string, T>();
  for (const m of replies) {
    try {
      const doc = m.json<{ server?: { id?: string }; data?: T; error?: { description?: string } }>();
      if (doc.server?.id && doc.data && !doc.error) out.set(doc.server.id, doc.data);
    } catch {
      // not a server's answer
    }
  }
  return out;
}

/** The replies to one request, until `expected` came (or, without it, nothing more came for `stallMs`), or `maxWaitMs` passed. */
function collect(nc: NatsConnection, subject: string, body: string, w: PingWindow): Promise<Msg[]> {
  return new Promise((resolve, reject) => {
    const replies: Msg[] = [];
    let stall: NodeJS.Timeout | undefined;
    const finish = (err?: Error) => {
      clearTimeout(deadline);
      clearTimeout(stall);
      sub.unsubscribe();
      if (err) reject(err);
      else resolve(replies);
    };
    const deadline = setTimeout(() => finish(), w.maxWaitMs);
    const sub = nc.subscribe(createInbox(), {
      callback: (err, m) => {
        if (err) return finish(unavailable(err));
        // the server's "no responders" status: nobody in this connection's account serves $SYS
        if (m.headers?.code === 503 && m.data.length === 0) return finish(unavailable(new NoRespondersError(subject)));
        replies.push(m);
        clearTimeout(stall);
        if (w.expected && replies.length >= w.expected) finish();
        // with a count, a pause between answers ends nothing (a busy server is not a down one)
        else if (!w.expected) stall = setTimeout(() => finish(), w.stallMs);
      },
    });
    // as NATS.js's own requestMany does: a permissions violation for publishing to `subject` then
    // fails this subscription (at once, with the server's reason) instead of only the connection's status
    (sub as typeof sub & { requestSubject?: string }).requestSubject = subject;
    try {
      nc.publish(subject, body, { reply: sub.getSubject() });
    } catch (err) {
      finish(unavailable(err));
    }
  });
}

function unavailable(err: unknown): Error {
  if (err instanceof NoRespondersError)
    return new SystemAccountUnavailable("no responders: the credentials are not a user of the system account");
  if (err instanceof PermissionViolationError) return new SystemAccountUnavailable(`denied: ${err.message}`);
  if (err instanceof AuthorizationError) return new SystemAccountUnavailable(`denied: ${err.message}`);
  return new SystemAccountUnavailable((err as Error)?.message ?? String(err));
}
