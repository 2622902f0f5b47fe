// A contract report as lines: each violation as `file:line:col  RULE  message` (clickable in editors and
// CI logs), one line per service, a summary; under GitHub Actions an `::error` annotation on the file
// and line of each violation, as deploys annotate their failures.
import path from "node:path";
import { escapeData, escapeProperty } from "../deploy/deploy-log.js";
import type { ContractReport, Violation } from "./breaking.js";

export interface ContractLineOptions {
  /** files are shown relative to this directory */
  cwd: string;
  /** GITHUB_ACTIONS: an ::error annotation per violation */
  github?: boolean;
}

/** The violation's file as the user reaches it from `cwd`, e.g. `proto/payment/v1/payment.proto`. */
export function violationFile(report: Pick<ContractReport, "protoDir">, v: Violation, cwd: string): string {
  return path.relative(cwd, path.join(report.protoDir, v.file)) || v.file;
}

/** The violations, one line each (and their annotations under GitHub Actions). */
export function violationLines(report: ContractReport, opts: ContractLineOptions): string[] {
  const out: string[] = [];
  for (const s of report.services)
    for (const v of s.violations) {
      const file = violationFile(report, v, opts.cwd);
      out.push(`${file}:${v.line}:${v.column}  ${v.rule}  ${v.message}`);
      if (opts.github)
        out.push(
          `::error file=${escapeProperty(file)},line=${v.line},col=${v.column},title=${escapeProperty(
            `breaking change (${s.service}): ${v.rule}`,
          )}::${escapeData(v.message)}`,
        );
    }
  return out;
}

/** One line per service and the verdict. */
export function summaryLines(report: ContractReport): string[] {
  const width = Math.max(7, ...report.services.map((s) => s.service.length));
  const against = report.against === "fleet" ? "the fleet" : report.against;
  const lines = report.services.map((s) => {
    const what =
      s.status === "breaking"
        ? `${s.violations.length} breaking change${s.violations.length === 1 ? "" : "s"}`
        : s.status === "skipped"
          ? `skipped: ${s.reason ?? ""}`
          : "compatible";
    const base =
      s.against && s.status !== "skipped"
        ? `  (${report.against === "fleet" ? "schema " : ""}${s.against.slice(0, 12)})`
        : "";
    return `${s.service.padEnd(width)}  ${what}${base}`;
  });
  const breaking = report.services.filter((s) => s.status === "breaking").length;
  const checked = report.services.filter((s) => s.status !== "skipped").length;
  lines.push(
    breaking
      ? `${breaking} of ${checked} checked ${checked === 1 ? "is" : "are"} incompatible with ${against}`
      : `${checked} checked, all compatible with ${against}`,
  );
  return lines;
}
