// One base for every command: --json (oclif's enableJsonFlag), --debug, output streams, and the one
// place errors become a single line (or a JSON error document) with the documented exit code.
import { stripVTControlCharacters } from "node:util";
import { Command, Errors, Flags, type Interfaces } from "@oclif/core";
import { EXIT, GsError, UsageError, type ExitCode } from "./lib/output/errors.js";
import { errorJson, errorLine, type ErrorJson } from "./lib/output/error-report.js";
import { colorEnabled, paint, type OutputMode } from "./lib/output/mode.js";
import { liveOutput } from "./lib/ui/live-output.js";

export type CommandFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof BaseCommand)["baseFlags"] & T["flags"]
>;

// what oclif's parse generics are bounded by (its FlagOutput / ArgOutput, not exported)
type ParserOutputs = { [name: string]: unknown };

export type { ErrorJson };

export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true;

  static override baseFlags = {
    debug: Flags.boolean({ description: "Print stack traces and debug details.", helpGroup: "GLOBAL" }),
  };

  /** json, tty (a person reads stdout at a terminal) or plain: live-output.ts's choice, so there is one rule. */
  protected get mode(): OutputMode {
    const out = liveOutput({ json: this.jsonEnabled() });
    return out.renderer === "json" ? "json" : out.watched ? "tty" : "plain";
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

  /**
   * oclif's parse, with one change: a flag value that does not parse becomes one UsageError naming the
   * flag (oclif would prefix "Parsing --flag" and a help pointer to whatever the flag's parse threw).
   */
  protected override async parse<F extends ParserOutputs, B extends ParserOutputs, A extends ParserOutputs>(
    options?: Interfaces.Input<F, B, A>,
    argv?: string[],
  ): Promise<Interfaces.ParserOutput<F, B, A>> {
    const input = options ?? (this.ctor as unknown as Interfaces.Input<F, B, A>);
    let failure: GsError | undefined;
    const fail = (err: GsError) => void (failure ??= err);
    // a command class: its inherited statics (baseFlags, enableJsonFlag) do not spread, so each is named
    const named: Interfaces.Input<F, B, A> = {
      flags: namingFlags(input.flags, fail, this.helpHint),
      baseFlags: namingFlags(input.baseFlags, fail, this.helpHint),
      enableJsonFlag: input.enableJsonFlag,
      args: input.args,
      strict: input.strict,
      constraints: input.constraints,
      "--": input["--"],
      ...(input.context ? { context: input.context } : {}),
    };
    let parsed: Interfaces.ParserOutput<F, B, A>;
    try {
      parsed = await super.parse(named, argv);
    } catch (err) {
      // the flag's own problem came first; what followed from it (e.g. a required flag now unset) would mislead
      throw failure ?? err;
    }
    if (failure) throw failure;
    return parsed;
  }

  /** The next step after a usage error oclif found: this command's help. */
  private get helpHint(): string {
    return `see \`${[this.config.bin, ...(this.id ?? "").split(":")].filter(Boolean).join(" ")} --help\``;
  }

  protected override async catch(err: Error): Promise<void> {
    if (err instanceof Errors.ExitError) {
      process.exitCode = err.oclif.exit ?? EXIT.failed;
      return;
    }
    const gs = err instanceof GsError ? err : usageFromOclif(err, this.helpHint);
    if (!gs) {
      // a bug, not something the user can fix: still one line unless --debug
      process.exitCode = EXIT.failed;
      const message = oneLine(err.message ?? "") || String(err);
      if (this.jsonEnabled())
        this.logJson({ error: { code: "internal", message, exitCode: EXIT.failed } } satisfies ErrorJson);
      else
        this.note(
          `${this.color("red", "error:")} ${message} (this is a bug in gs; run with --debug for the stack trace)`,
        );
      if (this.debugEnabled) this.note(err.stack ?? "");
      return;
    }
    process.exitCode = gs.exitCode;
    if (this.jsonEnabled()) this.logJson(errorJson(gs));
    else this.note(errorLine(gs, this.color));
    if (this.debugEnabled) this.note((gs.cause as Error | undefined)?.stack ?? gs.stack ?? "");
  }
}

type FlagParse = (input: unknown, ctx: unknown, flag: unknown) => Promise<unknown>;

/** The flags with each parse wrapped: a value that does not parse is reported once, as `--name: why`. */
function namingFlags<T extends Interfaces.FlagInput | undefined>(
  flags: T,
  fail: (err: GsError) => void,
  helpHint: string,
): T {
  if (!flags) return flags;
  const wrapped = Object.entries(flags).map(([name, flag]) => {
    const parse = (flag as { parse?: FlagParse }).parse;
    if (typeof parse !== "function") return [name, flag];
    const named: FlagParse = async (input, ctx, opts) => {
      try {
        return await parse(input, ctx, opts);
      } catch (err) {
        // only input problems: anything else thrown by a parse function is a bug and stays one
        if (!(err instanceof GsError) && !(err instanceof Errors.CLIError)) throw err;
        fail(
          err instanceof GsError
            ? new GsError(`--${name}: ${err.message}`, {
                ...err.opts,
                hint: err.hint ?? helpHint,
                exit: EXIT.usage,
                cause: err,
              })
            : new UsageError(`--${name}: ${oneLine(err.message)}`, helpHint, "bad_flag_value", err),
        );
        return undefined;
      }
    };
    return [name, { ...flag, parse: named }];
  });
  return Object.fromEntries(wrapped) as T;
}

/**
 * oclif's own usage errors (unknown flag, missing or extra argument, a value not among a flag's
 * options), told apart by class and their structured fields: exit 2 with one line. Undefined when
 * `err` is not one (a bug).
 */
function usageFromOclif(err: Error, hint: string): GsError | undefined {
  if (!(err instanceof Errors.CLIError) || err instanceof Errors.ModuleLoadError) return undefined;
  const e = err as Errors.CLIError & { flags?: unknown; args?: unknown };
  // NonExistentFlagsError
  if (Array.isArray(e.flags)) {
    const flags = e.flags.map(String);
    return new UsageError(`unknown flag${flags.length > 1 ? "s" : ""} ${flags.join(", ")}`, hint, "unknown_flag", err);
  }
  if (Array.isArray(e.args)) {
    const args: unknown[] = e.args;
    // RequiredArgsError holds the argument definitions, UnexpectedArgsError the extra words
    if (args.every((a) => typeof a === "object" && a !== null && "name" in a)) {
      const names = args.map((a) => (a as { name: string }).name.toUpperCase());
      return new UsageError(
        `missing argument${names.length > 1 ? "s" : ""} ${names.join(", ")}`,
        hint,
        "missing_argument",
        err,
      );
    }
    return new UsageError(
      `unexpected argument${args.length > 1 ? "s" : ""}: ${args.map(String).join(" ")}`,
      hint,
      "unexpected_argument",
      err,
    );
  }
  // CLIParseError (it carries `parse`) ends its message with a pointer to --help, which the hint replaces
  const lines = stripVTControlCharacters(err.message)
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  if ("parse" in err && lines.length > 1) lines.pop();
  return new UsageError(lines.join(" "), hint, "usage", err);
}

/** Several lines as one, for the one-line contract. */
function oneLine(message: string): string {
  return message
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .join(" ");
}
