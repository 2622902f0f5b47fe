import { Flags } from "@oclif/core";
import { BaseCommand } from "../base-command.js";
import { natsFlags, targetFlags } from "../flags.js";
import { checkProjectServices } from "../lib/config/service-names.js";
import { discoverServices, type ServiceView } from "../lib/nats/discovery.js";
import { formatDuration, renderTable } from "../lib/output/format.js";
import { openNats } from "../nats-session.js";

export interface ServicesJson {
  server: string;
  services: ServiceView[];
}

export default class Services extends BaseCommand {
  static override summary = "Discover running services over the NATS micro protocol ($SRV.PING / INFO / STATS).";
  static override examples = [
    `<%= config.bin %> services`,
    `<%= config.bin %> services --name payment --endpoints`,
    `<%= config.bin %> services --json`,
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
            ["SERVICE", "VERSION", "INSTANCES", "REQUESTS", "ERRORS", "AVG"],
            services.map((s) => [
              s.name,
              s.versions.join(","),
              s.instances.length,
              s.requests,
              s.errors,
              s.requests ? formatDuration(s.average_ms) : "-",
            ]),
          ),
        );
        if (flags.endpoints) {
          for (const s of services) {
            this.out(`\n${s.name}`);
            this.out(
              renderTable(
                ["  SUBJECT", "REQUEST", "RESPONSE", "REQUESTS", "ERRORS", "AVG"],
                s.endpoints.map((e) => [
                  `  ${e.subject}`,
                  e.request ?? "?",
                  e.response ?? "?",
                  e.requests,
                  e.errors,
                  e.requests ? formatDuration(e.average_ms) : "-",
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
