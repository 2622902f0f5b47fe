import { Flags } from "@oclif/core";
import { BaseCommand } from "../base-command.js";
import { natsFlags, targetFlags } from "../flags.js";
import { checkProjectServices } from "../lib/config/service-names.js";
import { discoverServices, type LatencyView, type ServiceView } from "../lib/nats/discovery.js";
import { formatDuration, renderTable } from "../lib/output/format.js";
import { openNats } from "../nats-session.js";

/** A last-minute percentile as a table cell: "-" without histograms or without requests. */
function pct(l: LatencyView | null, q: "p50_ms" | "p99_ms"): string {
  const v = l?.[q];
  return v === null || v === undefined ? "-" : formatDuration(v);
}

/** `latency` of each service, instance and endpoint: the last minute's percentiles (see LatencyView) */
export interface ServicesJson {
  server: string;
  services: ServiceView[];
}

export default class Services extends BaseCommand {
  static override summary =
    "Discover running services over the NATS micro protocol ($SRV.PING / INFO / STATS), with the last minute's p50/p99 latency.";
  static override examples = [
    `<%= config.bin %> services`,
    `<%= config.bin %> services --name payment --endpoints`,
    `<%= config.bin %> services --json`,
    `<%= config.bin %> services --json | jq '.services[] | {name, p99: .latency.p99_ms}'   # the last minute's p99 per service`,
  ];
  static override flags = {
    ...natsFlags,
    ...targetFlags,
    name: Flags.string({ description: "Only this service (checked against gs.yaml when there is one)." }),
    endpoints: Flags.boolean({
      char: "e",
      description: "Also list each service's subjects with request and response types.",
    }),
  };

  async run(): Promise<ServicesJson> {
    const { flags } = await this.parse(Services);
    if (flags.name) await checkProjectServices([flags.name], { cwd: process.cwd(), config: flags.config });
    const { nc, url } = await openNats(flags);
    let services: ServiceView[];
    try {
      services = await discoverServices(nc, { name: flags.name, timeoutMs: Math.min(flags.timeout, 2000) });
    } finally {
      await nc.close();
    }
    if (!this.jsonEnabled()) {
      if (services.length === 0)
        this.note(
          `no services answer on ${url}${flags.name ? ` named ${flags.name}` : ""} — start the fleet with \`gs up\``,
        );
      else {
        this.out(
          renderTable(
            ["SERVICE", "VERSION", "INSTANCES", "REQUESTS", "ERRORS", "AVG", "P50", "P99"],
            services.map((s) => [
              s.name,
              s.versions.join(","),
              s.instances.length,
              s.requests,
              s.errors,
              s.requests ? formatDuration(s.average_ms) : "-",
              pct(s.latency, "p50_ms"),
              pct(s.latency, "p99_ms"),
            ]),
          ),
        );
        if (flags.endpoints) {
          for (const s of services) {
            this.out(`\n${s.name}`);
            this.out(
              renderTable(
                ["  SUBJECT", "REQUEST", "RESPONSE", "REQUESTS", "ERRORS", "AVG", "P50", "P99"],
                s.endpoints.map((e) => [
                  `  ${e.subject}`,
                  e.request ?? "?",
                  e.response ?? "?",
                  e.requests,
                  e.errors,
                  e.requests ? formatDuration(e.average_ms) : "-",
                  pct(e.latency, "p50_ms"),
                  pct(e.latency, "p99_ms"),
                ]),
              ),
            );
          }
        }
      }
    }
    return { server: url, services };
  }
}
