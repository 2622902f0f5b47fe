// The contract gate of `gs deploy`: before any rollout, each changed service whose .proto files changed
// is checked against the descriptors its running instances serve (breaking.ts). A breaking change
// refuses the whole deploy, nothing rolled out, unless --allow-breaking. Lines go to `write`.
import type { NatsConnection } from "@nats-io/transport-node";
import type { DeployGate } from "../deploy/deploy.js";
import { EXIT, GsError } from "../output/errors.js";
import type { Artifact } from "../platform/platform.js";
import { checkContracts, servicesInProto, type ContractReport } from "./breaking.js";
import { violationLines } from "./contract-lines.js";

export interface ContractGateOptions {
  protoDir: string;
  /** the fleet's NATS connection (opened on first use) */
  nats: () => Promise<NatsConnection>;
  /** deploy anyway, after listing the violations */
  allowBreaking: boolean;
  /** violations and notes (the command sends them to stderr) */
  write: (line: string) => void;
  /** violation files are shown relative to it */
  cwd: string;
  github?: boolean;
  timeoutMs?: number;
  /** where fetched descriptor sets are cached (default: the user's cache; null: none) */
  cacheDir?: string | null;
  /** the report of the last check, for tests and --json */
  onReport?: (report: ContractReport) => void;
}

/** A deploy refused for breaking changes: exit 2, nothing rolled out. */
export class BreakingChangeError extends GsError {
  override name = "BreakingChangeError";
  constructor(
    message: string,
    readonly report: ContractReport,
  ) {
    super(message, {
      exit: EXIT.usage,
      code: "breaking_change",
      hint: "make the change compatible (add fields and rpcs, reserve removed numbers: docs/contracts.md), or pass --allow-breaking",
    });
  }
}

/** Whether the new build's .proto inputs differ from the running one's (unknown counts as changed). */
export function protoChanged(current: Artifact | undefined, next: Artifact): boolean {
  const before = current?.inputs?.proto;
  const after = next.inputs?.proto;
  return !before || !after || before !== after;
}

export function contractGate(opts: ContractGateOptions): DeployGate {
  return async (changed) => {
    const inProto = new Set(servicesInProto(opts.protoDir));
    const services = changed
      .filter((c) => inProto.has(c.service) && protoChanged(c.current, c.next))
      .map((c) => c.service);
    if (!services.length) return;
    const report = await checkContracts({
      protoDir: opts.protoDir,
      services,
      against: { kind: "fleet", nc: await opts.nats(), timeoutMs: opts.timeoutMs, cacheDir: opts.cacheDir },
    });
    opts.onReport?.(report);
    for (const s of report.services)
      if (s.status === "skipped") opts.write(`${s.service}: contract not checked: ${s.reason ?? "no schema"}`);
    if (!report.breaking) return;
    for (const line of violationLines(report, { cwd: opts.cwd, github: opts.github })) opts.write(line);
    const breaking = report.services.filter((s) => s.status === "breaking");
    const count = breaking.reduce((n, s) => n + s.violations.length, 0);
    const what = `${count} breaking change${count === 1 ? "" : "s"} in ${breaking.map((s) => s.service).join(", ")} against the running fleet`;
    if (opts.allowBreaking) {
      opts.write(`${what}: deploying anyway (--allow-breaking)`);
      return;
    }
    throw new BreakingChangeError(`${what}: nothing was rolled out`, report);
  };
}
