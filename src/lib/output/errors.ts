// The error classes a user meets. Each carries one line saying what is wrong, a next step, and its
// exit code; the base command prints them (stack traces only with --debug). Anything else is a bug.

/** Exit codes, documented in the README. */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  rolledBack: 3,
  timedOut: 4,
  unhealthy: 5,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class GsError extends Error {
  override name = "GsError";
  constructor(
    message: string,
    readonly opts: { hint?: string; exit?: ExitCode; code?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
  }
  get exitCode(): ExitCode {
    return this.opts.exit ?? EXIT.failed;
  }
  get hint(): string | undefined {
    return this.opts.hint;
  }
}

/** Bad flags, arguments or input data: exit 2, nothing was sent. */
export class UsageError extends GsError {
  override name = "UsageError";
  constructor(message: string, hint?: string, code = "bad_input") {
    super(message, { hint, exit: EXIT.usage, code });
  }
}

/** Something outside gs failed (a server, a service, a child process): exit 1 unless said otherwise. */
export class OperationError extends GsError {
  override name = "OperationError";
}

/** Turn any thrown value into a GsError, keeping those that already are one. `hint`-bearing errors from lib adapters count as user errors. */
export function toGsError(err: unknown): GsError | undefined {
  if (err instanceof GsError) return err;
  const e = err as { hint?: unknown; message?: unknown; name?: string };
  if (err instanceof Error && typeof e.hint === "string") {
    const usage = e.name === "ConfigError" || e.name === "UsageError";
    return new GsError(err.message, { hint: e.hint, exit: usage ? EXIT.usage : EXIT.failed, cause: err });
  }
  return undefined;
}
