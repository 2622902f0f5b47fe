// `gs metrics`: serve the fleet's metrics until the signal aborts. The port is bound first, so a port
// in use fails before anything connects; the URL is announced once the first poll is in, so the
// first scrape already has data.
import { FleetMetrics } from "./fleet-metrics.js";
import { FleetPoller } from "./fleet-poller.js";
import type { OpenedFleetSources } from "./fleet-sources.js";
import type { ListenAddress } from "./listen-address.js";
import { startMetricsServer, type MetricsServer } from "./metrics-server.js";

export interface ExporterOptions {
  listen: ListenAddress;
  intervalMs: number;
  /** what the / page says it exports, e.g. "target local" */
  title: string;
  /** opens the fleet's sources (called once the port is bound) */
  open: () => Promise<OpenedFleetSources>;
  /** aborted: stop polling, close the port and the connections */
  signal: AbortSignal;
  /** the server is up and the first poll is in */
  onReady?: (server: MetricsServer) => void;
}

export interface ExporterSummary {
  url: string;
  /** polls of the fleet made */
  polls: number;
}

export async function runExporter(o: ExporterOptions): Promise<ExporterSummary> {
  const metrics = new FleetMetrics();
  const server = await startMetricsServer(o.listen, { registry: metrics.registry, title: o.title });
  let fleet: OpenedFleetSources | undefined;
  let poller: FleetPoller | undefined;
  try {
    if (o.signal.aborted) return { url: server.url, polls: 0 };
    fleet = await o.open();
    let firstSample: () => void = () => undefined;
    const first = new Promise<void>((resolve) => (firstSample = resolve));
    poller = new FleetPoller({
      sources: fleet,
      intervalMs: o.intervalMs,
      onSample: (sample) => {
        metrics.apply(sample);
        firstSample();
      },
    });
    poller.start();
    const stopped = new Promise<void>((resolve) => {
      if (o.signal.aborted) resolve();
      else o.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    await Promise.race([first, stopped]);
    if (!o.signal.aborted) o.onReady?.(server);
    await stopped;
    return { url: server.url, polls: poller.rounds };
  } finally {
    await poller?.stop();
    await server.close();
    await fleet?.close();
  }
}
