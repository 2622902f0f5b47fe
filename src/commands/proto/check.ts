import { Args, Flags } from "@oclif/core";
import { BaseCommand } from "../../base-command.js";
import { natsFlags, targetFlags } from "../../flags.js";
import { checkServiceNames } from "../../lib/config/service-names.js";
import { checkContracts, servicesInProto, type ContractReport } from "../../lib/contracts/breaking.js";
import { summaryLines, violationFile, violationLines } from "../../lib/contracts/contract-lines.js";
import { EXIT } from "../../lib/output/errors.js";
import { protoDirs } from "../../lib/proto/load.js";
import { openNats } from "../../nats-session.js";

/** `--json` of `gs proto check`: each violation's `file` is relative to the working directory. */
export type ProtoCheckJson = ContractReport;

export default class ProtoCheck extends BaseCommand {
  static override summary = "Check proto/ for breaking changes against the running fleet or a git ref (buf breaking).";
  static override description =
    "Compares each service's proto package in proto/ with what it must stay compatible with: by default the descriptor set " +
    "its running instances serve (fetched over NATS, see docs/schemas.md), or proto/ at a git ref. The rules are buf's wire " +
    "and JSON compatibility (WIRE_JSON) plus no removed rpc or service: a removed, renumbered or retyped field, a removed " +
    "enum value or rpc is breaking; an added field or rpc is not. Each violation prints as file:line:col, the rule and why; " +
    "under GitHub Actions also as an ::error annotation. Exit 2 when a change is breaking (or the ref is unknown), 1 when the " +
    "fleet cannot be reached. Services named but not running are an error; of all services, those not running are skipped. " +
    "`gs deploy` runs the same check before rolling out. See docs/contracts.md.";
  static override examples = [
    `<%= config.bin %> proto check`,
    `<%= config.bin %> proto check payment quest-system --server nats://127.0.0.1:4222`,
    `<%= config.bin %> proto check --against main`,
    `<%= config.bin %> proto check --against v1.4.0 --json`,
  ];
  static override strict = false;
  static override args = {
    services: Args.string({ description: "Services to check, as in proto/ (default: all)." }),
  };
  static override flags = {
    ...natsFlags,
    ...targetFlags,
    against: Flags.string({
      description: "`fleet` (the descriptors the running instances serve) or a git ref (branch, tag, commit).",
      default: "fleet",
    }),
  };

  async run(): Promise<ProtoCheckJson> {
    const { argv, flags } = await this.parse(ProtoCheck);
    const cwd = process.cwd();
    const protoDir = protoDirs({ cwd })[0]!;
    const known = servicesInProto(protoDir);
    const named = (argv as string[]).filter(Boolean);
    checkServiceNames(named, known, `services in ${protoDir}: ${known.join(", ")}`);
    const services = named.length ? named : known;
    let report: ContractReport;
    if (flags.against === "fleet") {
      const { nc } = await openNats(flags);
      try {
        report = await checkContracts({
          protoDir,
          services,
          strict: named.length > 0,
          against: { kind: "fleet", nc, timeoutMs: flags.timeout },
        });
      } finally {
        await nc.close();
      }
    } else {
      report = await checkContracts({ protoDir, services, against: { kind: "git", ref: flags.against } });
    }
    const github = process.env.GITHUB_ACTIONS === "true";
    this.out([...violationLines(report, { cwd, github }), ...summaryLines(report)].join("\n"));
    if (report.breaking) this.setExit(EXIT.usage);
    return {
      ...report,
      services: report.services.map((s) => ({
        ...s,
        violations: s.violations.map((v) => ({ ...v, file: violationFile(report, v, cwd) })),
      })),
    };
  }
}
