import { BaseCommand } from "../base-command.js";
import { durationFlag, listenFlag, targetFlags } from "../flags.js";
import { runExporter } from "../lib/metrics/exporter.js";
import { openFleetSources } from "../lib/metrics/fleet-sources.js";
import { DEFAULT_LISTEN, isLoopback, parseListenAddress } from "../lib/metrics/listen-address.js";
import { platformContext } from "../lib/platform/open-platform.js";
import { catchInterrupts, type StopSignal } from "../lib/process/interrupt.js";

export interface MetricsJson {
  target: string;
  /** the /metrics URL it served */
  url: string;
  /** polls of the fleet made */
  polls: number;
  /** what stopped it */
  stoppedBy: StopSignal | null;
}

export default class Metrics extends BaseCommand {
  static override summary =
    "Serve the fleet's metrics to Prometheus: requests, latency histograms, instances, NATS and JetStream.";
  static override description =
    "Polls the target's fleet every --interval (micro stats with each instance's latency histogram, the platform's " +
    "desired / running / pending counts, the NATS layer) and serves them at /metrics in the Prometheus text format " +
    "until Ctrl-C. It has no authentication: --listen on an address other machines reach exposes the fleet's names " +
    "and figures to them. Metric names, a scrape config and alert rules: docs/metrics.md.";
  static override examples = [
    `<%= config.bin %> metrics   # http://127.0.0.1:9464/metrics`,
    `<%= config.bin %> metrics --target prod --listen :9464 --interval 15s`,
    `<%= config.bin %> metrics --listen 127.0.0.1:0   # any free port; the URL is printed on stderr`,
  ];
  static override flags = {
    ...targetFlags,
    listen: listenFlag({
      description: "Address to serve on: HOST:PORT, [IPv6]:PORT, or :PORT for every interface.",
      default: parseListenAddress(DEFAULT_LISTEN),
      defaultHelp: async () => DEFAULT_LISTEN,
    }),
    interval: durationFlag({ description: "How often the fleet is polled.", default: 5000 }),
  };

  async run(): Promise<MetricsJson> {
    const { flags } = await this.parse(Metrics);
    const ctx = platformContext({ cwd: process.cwd(), config: flags.config, target: flags.target });
    const interrupt = catchInterrupts();
    try {
      const summary = await runExporter({
        listen: flags.listen,
        intervalMs: flags.interval,
        title: `target ${ctx.targetName}`,
        open: () => openFleetSources(ctx, flags.interval),
        signal: interrupt.signal,
        onReady: (server) => {
          this.note(`serving metrics of target ${ctx.targetName} at ${server.url} (Ctrl-C stops)`);
          if (!isLoopback(flags.listen.host))
            this.note(
              this.color("yellow", "note: not loopback only: whoever reaches this port can read the fleet's metrics"),
            );
        },
      });
      if (interrupt.received) this.note("stopped");
      return { target: ctx.targetName, url: summary.url, polls: summary.polls, stoppedBy: interrupt.received ?? null };
    } finally {
      interrupt.release();
    }
  }
}
