// `gs nosuch`: oclif's default is a multi-line " ›   Error: command nosuch not found". gs answers as
// for any other bad input: one line with the closest commands, exit 2, or the JSON error document.
import type { Hook } from "@oclif/core";
import { closestNames } from "@gs/fleet/sdk/closest-names";
import { errorJson, errorLine } from "../lib/output/error-report.js";
import { UsageError } from "../lib/output/errors.js";
import { colorEnabled, paint } from "../lib/output/mode.js";

const hook: Hook<"command_not_found"> = async function (opts) {
  const spaced = (id: string) => id.replaceAll(":", " ");
  const known = opts.config.commandIDs.filter((id) => !opts.config.findCommand(id)?.hidden).map(spaced);
  const asked = spaced(opts.id);
  const close = closestNames(asked, known);
  const err = new UsageError(
    `unknown command ${asked}${close.length ? ` (did you mean ${close.join(", ")}?)` : ""}`,
    `see \`${opts.config.bin} --help\` for the commands`,
    "unknown_command",
  );
  process.exitCode = err.exitCode;
  if (opts.argv?.includes("--json")) process.stdout.write(JSON.stringify(errorJson(err), null, 2) + "\n");
  else process.stderr.write(errorLine(err, paint(colorEnabled(process.stderr))) + "\n");
  return err.code;
};

export default hook;
