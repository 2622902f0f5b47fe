// Polls the fleet for the exporter every interval, as NATS Surveyor does, instead of at each scrape:
// any number of Prometheus servers may scrape, and the fleet is asked once per interval. Each source
// (the platform, $SRV.STATS over NATS, the NATS layer) is bounded by its own timeout; one that fails
// is reported down (gs_exporter_source_up) while the others carry on.
import type { NatsConnection } from "@nats-io/transport-node";
import type { ServiceStats } from "@nats-io/services";
import { gatherJson, type SourceWindow } from "../nats/gather.js";
import type { NatsLayerFeed } from "../nats-layer/read-layer.js";
import type { Platform } from "../platform/platform.js";
import {
  instanceSample,
  type FleetSample,
  type InstanceSample,
  type SourceName,
  type SourceState,
} from "./fleet-sample.js";
import { latencyBuckets, type LatencyBuckets } from "./latency-buckets.js";

export interface FleetSources {
  platform: Platform;
  /** the fleet's NATS, kept open (reconnecting) for as long as the exporter runs */
  nc: NatsConnection;
  natsLayer?: NatsLayerFeed;
}

export interface FleetPollerOptions {
  sources: FleetSources;
  intervalMs: number;
  /** every round's sample, as soon as all sources answered or timed out */
  onSample: (sample: FleetSample) => void;
  /** an instance that misses this many polls in a row is dropped (default 3): one slow answer is not a restart */
  retainRounds?: number;
  now?: () => number;
}

class SourceTimeout extends Error {}

/** Pending source polls, so a hung source is not asked again on top of itself. */
type InFlight = Partial<Record<SourceName, Promise<unknown>>>;

export class FleetPoller {
  private readonly now: () => number;
  private readonly timeoutMs: number;
  private readonly inFlight: InFlight = {};
  /** the last answer of every instance, and how many polls in a row it has missed */
  private readonly instances = new Map<string, { sample: InstanceSample; missed: number }>();
  private readonly bucketCache = new Map<string, { hdr: string; buckets: LatencyBuckets }>();
  private platform: FleetSample["platform"];
  private natsConnected: boolean;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** rounds completed */
  rounds = 0;

  constructor(private readonly opts: FleetPollerOptions) {
    this.now = opts.now ?? Date.now;
    // a round fits in the interval when it can; a long interval still gets a bounded wait
    this.timeoutMs = Math.max(500, Math.min(opts.intervalMs, 5000));
    this.natsConnected = !opts.sources.nc.isClosed();
    void this.watchConnection();
  }

  /** Poll now, then every interval from the start of each round. */
  start(): void {
    const loop = () => {
      if (this.stopped) return;
      const started = this.now();
      this.running = this.round().then((sample) => {
        if (this.stopped) return;
        this.opts.onSample(sample);
        this.timer = setTimeout(loop, Math.max(0, this.opts.intervalMs - (this.now() - started)));
      });
    };
    loop();
  }

  /** Stop polling; resolves once a round under way has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One poll of every source, in parallel. */
  async round(): Promise<FleetSample> {
    const s = this.opts.sources;
    const expected = () => this.platform?.reduce((n, d) => n + d.running, 0) || undefined;
    const window: SourceWindow = {
      maxWaitMs: Math.max(100, Math.min(this.timeoutMs - 100, 1500)),
      stallMs: 300,
      expected,
    };
    let stats: ServiceStats[] | undefined;
    let layer: FleetSample["natsLayer"];
    const [platform, nats, natsLayer] = await Promise.all([
      this.poll("platform", async () => {
        this.platform = await s.platform.describeServices();
      }),
      this.poll("nats", async () => {
        // disconnected, an empty answer would read as every instance gone
        if (!this.natsConnected) throw new Error("NATS is disconnected");
        stats = await gatherJson<ServiceStats>(s.nc, "$SRV.STATS", window);
        if (!this.natsConnected) throw new Error("NATS is disconnected");
      }),
      s.natsLayer
        ? this.poll("nats_layer", async () => {
            layer = await s.natsLayer!.read();
            // the reader never throws: a layer it could not read at all comes back without a source
            if (layer.source === null) throw new Error(layer.notes[0] ?? "the NATS layer could not be read");
          })
        : undefined,
    ]);
    if (!platform.up) this.platform = undefined;
    const answering = this.keepInstances(nats.up ? stats : undefined);
    this.rounds++;
    return {
      platform: this.platform,
      // NATS down: nothing is known of the instances, so none is exported (the last figures wait for its return)
      instances: nats.up ? [...this.instances.values()].map((i) => i.sample) : [],
      answering,
      natsLayer: layer,
      sources: { platform, nats, ...(natsLayer ? { nats_layer: natsLayer } : {}) },
    };
  }

  /** This round's answers replace the last; instances missing too long are dropped. Returns the count answering per service. */
  private keepInstances(stats: ServiceStats[] | undefined): Map<string, number> {
    const answering = new Map<string, number>();
    if (!stats) return answering;
    const seen = new Set<string>();
    for (const st of stats) {
      if (seen.has(st.id)) continue;
      seen.add(st.id);
      answering.set(st.name, (answering.get(st.name) ?? 0) + 1);
      this.instances.set(st.id, { sample: instanceSample(st, (key, hdr) => this.buckets(key, hdr)), missed: 0 });
    }
    const retain = this.opts.retainRounds ?? 3;
    for (const [id, kept] of this.instances) {
      if (seen.has(id)) continue;
      if (++kept.missed >= retain) {
        this.instances.delete(id);
        for (const key of this.bucketCache.keys()) if (key.startsWith(`${id}\u0000`)) this.bucketCache.delete(key);
      }
    }
    return answering;
  }

  /** Decoding a histogram costs more than the rest of a reply: an endpoint without new requests keeps its buckets. */
  private buckets(key: string, hdr: string): LatencyBuckets | undefined {
    const cached = this.bucketCache.get(key);
    if (cached?.hdr === hdr) return cached.buckets;
    try {
      const buckets = latencyBuckets(hdr);
      this.bucketCache.set(key, { hdr, buckets });
      return buckets;
    } catch {
      // not an HDR histogram gs can read: the endpoint's counters still count
      return undefined;
    }
  }

  private async poll(source: SourceName, fetch: () => Promise<void>): Promise<SourceState> {
    const started = this.now();
    const took = () => (this.now() - started) / 1000;
    if (this.inFlight[source])
      return { up: false, seconds: took(), error: `its previous poll has not answered after ${this.timeoutMs}ms` };
    const settled = fetch();
    this.inFlight[source] = settled;
    void settled.catch(() => undefined).finally(() => delete this.inFlight[source]);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        settled,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new SourceTimeout(`no answer within ${this.timeoutMs}ms`)), this.timeoutMs);
        }),
      ]);
      return { up: true, seconds: took() };
    } catch (err) {
      return { up: false, seconds: took(), error: oneLine(err) };
    } finally {
      clearTimeout(timer);
    }
  }

  private async watchConnection(): Promise<void> {
    const nc = this.opts.sources.nc;
    void nc.closed().then(() => (this.natsConnected = false));
    for await (const st of nc.status()) {
      if (st.type === "disconnect" || st.type === "staleConnection") this.natsConnected = false;
      else if (st.type === "reconnect") this.natsConnected = true;
    }
  }
}

function oneLine(err: unknown): string {
  const msg = ((err as Error)?.message ?? String(err)).split("\n")[0]!;
  return msg.length > 160 ? `${msg.slice(0, 157)}...` : msg;
}
