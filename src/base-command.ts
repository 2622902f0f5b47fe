// One base for every command: --json (oclif's enableJsonFlag), --debug, output streams, and the one
// place errors become a single line (or a JSON error document) with the documented exit code.
import { Command, Flags, type Interfaces } from "@oclif/core";
import { EXIT, GsError, toGsError, type ExitCode } from "./lib/output/errors.js";
import { colorEnabled, outputMode, paint, type OutputMode } from "./lib/output/mode.js";

export type CommandFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof BaseCommand)["baseFlags"] & T["flags"]
>;

export interface ErrorJson {
  error: { code: string; message: string; hint?: string; exitCode: number };
}

export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true;

  static override baseFlags = {
    debug: Flags.boolean({ description: "Print stack traces and debug details.", helpGroup: "GLOBAL" }),
  };

  /** json, tty or plain: chosen once per command from --json, the TTY and CI. */
  protected get mode(): OutputMode {
    return outputMode({ json: this.jsonEnabled() });
  }

  protected get debugEnabled(): boolean {
    return this.argv.includes("--debug") || /(^|,)gs(\*|:|,|$)/.test(process.env.DEBUG ?? "");
  }

  /** Human output to stdout (suppressed under --json, where stdout holds only JSON). */
  protected out(text: string): void {
    if (!this.jsonEnabled()) process.stdout.write(text.endsWith("\n") ? text : text + "\n");
  }

  /** Progress and notes to stderr. */
  protected note(text: string): void {
    process.stderr.write(text.endsWith("\n") ? text : text + "\n");
  }

  protected get color(): ReturnType<typeof paint> {
    return paint(colorEnabled(process.stderr));
  }

  /** Finish successfully but with a non-zero exit (e.g. `status --check` found problems). */
  protected setExit(code: ExitCode): void {
    process.exitCode = code;
  }

  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<void> {
    err.message = oneLine(err.message ?? "");
    const gs = toGsError(err) ?? fromOclifError(err);
    if (!gs) {
      // a bug, not something the user can fix: still one line unless --debug
      process.exitCode = EXIT.failed;
      if (this.jsonEnabled())
        this.logJson({ error: { code: "internal", message: err.message, exitCode: EXIT.failed } } satisfies ErrorJson);
      else
        this.note(
          `${this.color("red", "error:")} ${err.message || String(err)} (this is a bug in gs; run with --debug for the stack trace)`,
        );
      if (this.debugEnabled) this.note(err.stack ?? "");
      return;
    }
    process.exitCode = gs.exitCode;
    if (this.jsonEnabled()) {
      this.logJson({
        error: {
          code: gs.opts.code ?? (gs.exitCode === EXIT.usage ? "bad_input" : "failed"),
          message: gs.message,
          hint: gs.hint,
          exitCode: gs.exitCode,
        },
      } satisfies ErrorJson);
    } else {
      this.note(`${this.color("red", "error:")} ${gs.message}${gs.hint ? ` — ${gs.hint}` : ""}`);
    }
    if (this.debugEnabled) this.note((gs.opts.cause as Error | undefined)?.stack ?? gs.stack ?? "");
  }
}

/** oclif wraps flag errors as "Parsing --flag \n\t<reason>\nSee more help with --help": make them one line. */
function oneLine(message: string): string {
  const parsing = /^Parsing (--[\w-]+)\s*\n\s*([\s\S]*?)(\nSee more help with --help)?$/.exec(message);
  if (parsing) return `${parsing[1]}: ${parsing[2]!.trim()}`;
  const lines = message.split("\n").map((l) => l.trim());
  if (/^Missing \d+ required args?:?$/.test(lines[0] ?? "")) {
    const end = lines.findIndex((l, i) => i > 0 && (!l || /^(Note:|See more|Alternatively)/.test(l)));
    const names = lines.slice(1, end < 0 ? undefined : end).map((l) => l.split(/\s{2,}/)[0]);
    return `${lines[0]!.replace(/:$/, "")}: ${names.join(", ")}`;
  }
  return message
    .replace(/\nSee more help with --help$/, "")
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .join(" ");
}

/** oclif's own parse errors (unknown flag, missing argument, bad option) are usage errors: exit 2. */
function fromOclifError(err: Error & { oclif?: { exit?: number } }): GsError | undefined {
  if (err.oclif?.exit === 0) return undefined;
  if (err.oclif || "parse" in err || /^--[\w-]+: /.test(err.message)) {
    const message = err.message.replace(/^Error:\s*/, "");
    return new GsError(message, { hint: "see --help", exit: EXIT.usage, code: "usage" });
  }
  return undefined;
}
