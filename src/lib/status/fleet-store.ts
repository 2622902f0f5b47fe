// The dashboard's data: polls each source (the platform, NATS discovery, $SRV.STATS and, when given,
// the NATS layer) on its own every interval, each bounded by its own timeout, and keeps the last good
// answer of each. A source that fails or is slow leaves its data in place, marked stale with its age;
// the others carry on.
import type { NatsConnection } from "@nats-io/transport-node";
import type { NatsLayerFeed } from "../nats-layer/read-layer.js";
import type { LogLine, Platform } from "../platform/platform.js";
import type { NatsLayer } from "../nats-layer/nats-layer.js";
import type { RedisLayer } from "../redis-layer/redis-layer.js";
import {
  buildDetail,
  buildSnapshot,
  type FleetData,
  type FleetSnapshot,
  type ServiceDetail,
  type SourceName,
  type SourceRecord,
} from "./fleet-snapshot.js";
import { fleetLatency } from "./fleet-latency.js";
import { pollDiscovery, pollStats, type SourceWindow } from "./sources.js";
import { instanceRates, sampleOf, type StatsSample } from "./stats-rates.js";

/** What a view of the fleet (the Ink dashboard, a test's fake) needs from a store. */
export interface FleetFeed {
  snapshot(): FleetSnapshot;
  detail(name: string): ServiceDetail | undefined;
  /** called whenever any source brought news; returns the unsubscribe */
  subscribe(listener: () => void): () => void;
  /** also fetch this service's last log lines while it is shown (undefined: none) */
  focus(name: string | undefined): void;
}

export interface FleetStoreOptions {
  platform: Platform;
  /** undefined when the fleet's NATS could not be reached at the start (`natsUnavailable` says why): the platform's view alone */
  nc?: NatsConnection;
  natsUnavailable?: string;
  /** shown in the header (no credentials) */
  natsServer: string;
  intervalMs: number;
  /** per source; default: the interval, at most 5s */
  timeoutMs?: number;
  /** how many log lines the detail view keeps */
  logLines?: number;
  /** the NATS layer (servers, JetStream, streams): read each round like the other sources when given */
  natsLayer?: NatsLayerFeed;
  /** a local fleet's Redis Cluster (`gs up --state redis`): read each round when given; null when the fleet has none */
  redisLayer?: { read(): Promise<RedisLayer | null> };
  now?: () => number;
}

class SourceTimeout extends Error {
  override name = "SourceTimeout";
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SourceTimeout(`no answer within ${ms}ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

const LOG_WINDOW_MS = 30 * 60_000;

export class FleetStore implements FleetFeed {
  readonly timeoutMs: number;
  private readonly data: FleetData;
  private readonly listeners = new Set<() => void>();
  private readonly roundListeners = new Set<(s: FleetSnapshot) => void>();
  /** a source whose last poll has not settled is not asked again: a hung source cannot pile up requests */
  private readonly inFlight = new Set<SourceName | "logs" | "natsLayer" | "redisLayer">();
  private prevStats?: StatsSample;
  private focused?: string;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly opts: FleetStoreOptions) {
    this.now = opts.now ?? Date.now;
    this.timeoutMs = opts.timeoutMs ?? Math.min(opts.intervalMs, 5000);
    this.data = {
      target: opts.platform.target,
      platformKind: opts.platform.kind,
      natsServer: opts.natsServer,
      natsConnected: opts.nc ? !opts.nc.isClosed() : false,
      ...(opts.natsUnavailable ? { natsUnavailable: opts.natsUnavailable } : {}),
      sources: { platform: {}, nats: {}, stats: {} },
      ...(opts.natsLayer ? { natsLayer: { source: {} } } : {}),
      ...(opts.redisLayer ? { redisLayer: { source: {} } } : {}),
    };
    void this.watchConnection();
  }

  snapshot(): FleetSnapshot {
    return buildSnapshot(this.data, this.now());
  }

  detail(name: string): ServiceDetail | undefined {
    return buildDetail(this.data, name, this.now());
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called once per poll round, when every source answered or timed out. */
  onRound(listener: (s: FleetSnapshot) => void): () => void {
    this.roundListeners.add(listener);
    return () => this.roundListeners.delete(listener);
  }

  focus(name: string | undefined): void {
    if (name === this.focused) return;
    this.focused = name;
    this.data.logs = undefined;
    if (name) void this.pollLogs(name).then(() => this.changed());
  }

  /** Poll now, then every interval (from the start of each round, so the cadence holds). */
  start(): void {
    const loop = () => {
      if (this.stopped) return;
      const started = this.now();
      void this.round().then(() => {
        if (this.stopped) return;
        this.timer = setTimeout(loop, Math.max(0, this.opts.intervalMs - (this.now() - started)));
      });
    };
    loop();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** One poll of every source, in parallel; resolves when each answered or timed out. */
  async round(): Promise<FleetSnapshot> {
    // the instances the platform says are running: discovery stops once that many answered
    const expected = () => this.data.platform?.reduce((n, s) => n + s.running, 0) ?? 0;
    const window: SourceWindow = {
      maxWaitMs: Math.max(100, Math.min(this.timeoutMs - 100, 1500)),
      stallMs: 300,
      expected,
    };
    await Promise.all([
      this.poll("platform", async () => {
        this.data.platform = await this.opts.platform.describeServices();
      }),
      this.poll("nats", async () => {
        const found = await pollDiscovery(this.opts.nc!, window);
        this.data.previousDiscovery = this.data.discovery;
        this.data.discovery = found;
      }),
      this.poll("stats", async () => {
        const counters = await pollStats(this.opts.nc!, window);
        const sample = sampleOf(counters, this.now());
        this.data.rates = instanceRates(this.prevStats, sample);
        this.data.counters = counters;
        // merged once per poll, not per frame: decoding histograms is the costly part
        this.data.latency = fleetLatency(counters);
        this.prevStats = sample;
      }),
      this.focused ? this.pollLogs(this.focused) : undefined,
      this.pollLayer("natsLayer"),
      this.pollLayer("redisLayer"),
    ]);
    const snap = this.snapshot();
    // one notification per round: a frame per round, not one per source
    this.changed();
    if (!this.stopped) for (const l of this.roundListeners) l(snap);
    return snap;
  }

  private async poll(source: SourceName, fetch: () => Promise<void>): Promise<void> {
    if (this.inFlight.has(source)) return;
    const rec = this.data.sources[source];
    // NATS down: an empty answer would read as "no instances"; say NATS is down instead
    if (source !== "platform" && !this.data.natsConnected) {
      rec.error = this.data.natsUnavailable ?? "NATS down";
      return;
    }
    this.inFlight.add(source);
    const settled = fetch().finally(() => this.inFlight.delete(source));
    try {
      await withTimeout(settled, this.timeoutMs);
      if (source !== "platform" && !this.data.natsConnected) throw new Error("NATS down");
      rec.okAt = this.now();
      rec.error = undefined;
    } catch (err) {
      settled.catch(() => undefined);
      rec.error = describe(err);
    }
  }

  /**
   * The NATS layer and the Redis Cluster have connections of their own (and HTTP endpoints): polled even
   * while the fleet's NATS is down.
   */
  private async pollLayer(key: "natsLayer" | "redisLayer"): Promise<void> {
    const feed: { read(): Promise<NatsLayer | RedisLayer | null> } | undefined = this.opts[key];
    const held: { layer?: NatsLayer | RedisLayer | null; source: SourceRecord } | undefined = this.data[key];
    if (!feed || !held || this.inFlight.has(key)) return;
    this.inFlight.add(key);
    const read = feed.read().finally(() => this.inFlight.delete(key));
    try {
      held.layer = await withTimeout(read, this.timeoutMs);
      held.source.okAt = this.now();
      held.source.error = undefined;
    } catch (err) {
      read.catch(() => undefined);
      held.source.error = describe(err);
    }
  }

  private async pollLogs(service: string): Promise<void> {
    if (this.inFlight.has("logs")) return;
    this.inFlight.add("logs");
    try {
      const lines: LogLine[] = [];
      const keep = this.opts.logLines ?? 12;
      const read = (async () => {
        for await (const l of this.opts.platform.logs(service, { since: this.now() - LOG_WINDOW_MS })) {
          lines.push(l);
          if (lines.length > keep * 4) lines.splice(0, lines.length - keep);
        }
      })();
      await withTimeout(read, this.timeoutMs);
      if (this.focused === service) this.data.logs = { service, lines: lines.slice(-keep) };
    } catch (err) {
      if (this.focused === service)
        this.data.logs = {
          service,
          lines: this.data.logs?.service === service ? this.data.logs.lines : [],
          error: describe(err),
        };
    } finally {
      this.inFlight.delete("logs");
    }
  }

  private async watchConnection(): Promise<void> {
    const nc = this.opts.nc;
    if (!nc) return;
    void nc.closed().then(() => {
      this.data.natsConnected = false;
      this.changed();
    });
    for await (const s of nc.status()) {
      if (s.type === "disconnect" || s.type === "staleConnection") this.data.natsConnected = false;
      else if (s.type === "reconnect") this.data.natsConnected = true;
      else continue;
      this.changed();
    }
  }

  private changed(): void {
    if (this.stopped) return;
    for (const l of this.listeners) l();
  }
}

function describe(err: unknown): string {
  const e = err as Error;
  const msg = (e?.message ?? String(err)).split("\n")[0]!;
  return msg.length > 120 ? `${msg.slice(0, 117)}...` : msg;
}
