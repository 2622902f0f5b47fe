// Reading the NATS layer of a target: the system account first (one request answered by every
// server), else each server's monitoring endpoint, else nothing but notes. A missing permission or
// an unreachable endpoint becomes a note; reading never throws.
import type { NatsConnection } from "@nats-io/transport-node";
import { readViaMonitoring, type MonitorEndpoint, type MonitorTls } from "./monitoring.js";
import { buildNatsLayer, emptyNatsLayer, type NatsLayer } from "./nats-layer.js";
import { readViaSystemAccount, type PingWindow } from "./system-account.js";

export interface NatsLayerAccess {
  /** a connection to try the system account on */
  system?: {
    /** the connection (opened on first use, or the target's own) */
    connection(): Promise<NatsConnection>;
    /** closes what connection() opened, not a shared connection */
    close(): Promise<void>;
  };
  /** when there is no `system`: why (a note) */
  noSystem?: string;
  monitoring: MonitorEndpoint[];
  tls?: MonitorTls;
  /** the servers that should answer (the local fleet's nodes) */
  expected?: string[];
  /** the next step when neither source gave anything */
  hint?: string;
}

export interface NatsLayerReaderOptions {
  /** a consumer with more messages pending is a problem (gs.yaml `status.maxConsumerPending`) */
  maxConsumerPending: number;
  /** how long each read may take: the longest wait for the servers' answers, and each endpoint's timeout */
  maxWaitMs?: number;
}

/** What the status store polls; tests may hand it any reader. */
export interface NatsLayerFeed {
  read(): Promise<NatsLayer>;
}

export class NatsLayerReader implements NatsLayerFeed {
  constructor(
    private readonly access: NatsLayerAccess,
    private readonly opts: NatsLayerReaderOptions,
  ) {}

  async read(): Promise<NatsLayer> {
    const a = this.access;
    const maxWaitMs = this.opts.maxWaitMs ?? 2000;
    const notes: string[] = [];
    if (a.system) {
      const window: PingWindow = { maxWaitMs, stallMs: Math.min(200, maxWaitMs), expected: a.expected?.length };
      let nc: NatsConnection | undefined;
      try {
        nc = await a.system.connection();
        return this.build("system-account", await readViaSystemAccount(nc, window), true, notes);
      } catch (err) {
        notes.push(`system account: ${nc ? "" : "cannot connect as its user: "}${oneLine(err)}`);
      }
    } else if (a.noSystem) notes.push(a.noSystem);
    if (a.monitoring.length) {
      const m = await readViaMonitoring(a.monitoring, { timeoutMs: maxWaitMs, tls: a.tls });
      for (const u of m.unreachable)
        notes.push(
          `monitoring endpoint ${u.endpoint.url}${u.endpoint.name ? ` (${u.endpoint.name})` : ""} unreachable: ${u.reason}`,
        );
      if (m.reports.length) return this.build("monitoring", m.reports, false, notes);
    } else if (a.system) notes.push("no monitoring endpoints to fall back on");
    if (a.hint) notes.push(a.hint);
    return emptyNatsLayer(notes);
  }

  async close(): Promise<void> {
    await this.access.system?.close().catch(() => undefined);
  }

  private build(
    source: "system-account" | "monitoring",
    reports: Parameters<typeof buildNatsLayer>[0]["reports"],
    complete: boolean,
    notes: string[],
  ): NatsLayer {
    return buildNatsLayer({
      source,
      reports,
      expected: this.access.expected,
      complete,
      notes,
      maxConsumerPending: this.opts.maxConsumerPending,
    });
  }
}

function oneLine(err: unknown): string {
  const msg = ((err as Error)?.message ?? String(err)).split("\n")[0]!;
  return msg.length > 160 ? `${msg.slice(0, 157)}...` : msg;
}
