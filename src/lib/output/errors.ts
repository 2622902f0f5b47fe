// The one error family. Every error a user can cause is a GsError: one line saying what is wrong, a
// stable `code` (the --json contract), its exit code and a hint (the next step). The base command
// prints it as it is; anything that is not a GsError is a bug in gs.

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

export interface GsErrorOptions {
  /** the next step, e.g. "pass --server nats://host:port" */
  hint?: string;
  /** default EXIT.failed */
  exit?: ExitCode;
  /** stable, snake_case; default "bad_input" for exit 2, "failed" otherwise */
  code?: string;
  cause?: unknown;
}

export class GsError extends Error {
  override name = "GsError";
  readonly code: string;
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;

  constructor(
    message: string,
    readonly opts: GsErrorOptions = {},
  ) {
    super(message, { cause: opts.cause });
    this.exitCode = opts.exit ?? EXIT.failed;
    this.code = opts.code ?? (this.exitCode === EXIT.usage ? "bad_input" : "failed");
    this.hint = opts.hint;
  }
}

/** Bad flags, arguments, input data or configuration: exit 2, nothing was sent. */
export class UsageError extends GsError {
  override name = "UsageError";
  constructor(message: string, hint?: string, code = "bad_input", cause?: unknown) {
    super(message, { hint, exit: EXIT.usage, code, cause });
  }
}

/** Something outside gs failed (a server, a service, a child process, AWS): exit 1 unless said otherwise. */
export class OperationError extends GsError {
  override name = "OperationError";
}
