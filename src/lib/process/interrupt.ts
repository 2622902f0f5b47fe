// The lifecycle of a long-running command (bench, logs, subscribe, status --watch, up), in one place,
// as natscli gets it from signal.NotifyContext: the first Ctrl-C (SIGINT) or SIGTERM aborts `signal`,
// so the command stops gracefully and still reports; a second one exits at once, with the shell's
// code for death by that signal (130 for SIGINT, 143 for SIGTERM); release() removes the handlers.
import { constants } from "node:os";

export type StopSignal = "SIGINT" | "SIGTERM";

export const STOP_SIGNALS: readonly StopSignal[] = ["SIGINT", "SIGTERM"];

/** The exit code of a second signal: 128 + its number, what a shell reports for a process it killed. */
export function interruptExitCode(sig: StopSignal): number {
  return 128 + constants.signals[sig];
}

export interface Interrupt {
  /** aborted by the first SIGINT or SIGTERM; its reason is the signal's name */
  readonly signal: AbortSignal;
  /** the signal that stopped the command, if one did */
  readonly received: StopSignal | undefined;
  /** call `stop` at the first signal, or now if it already came */
  onStop(stop: () => void): void;
  /** remove the handlers (the command is ending); safe to call more than once */
  release(): void;
}

/** What the handlers attach to: the process, or an emitter in tests. */
export interface SignalSource {
  on(event: StopSignal, listener: () => void): unknown;
  off(event: StopSignal, listener: () => void): unknown;
}

export interface InterruptOptions {
  source?: SignalSource;
  /** ends the process on a second signal (default process.exit) */
  exit?: (code: number) => void;
}

export function catchInterrupts(opts: InterruptOptions = {}): Interrupt {
  const source = opts.source ?? process;
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const abort = new AbortController();
  let received: StopSignal | undefined;
  // `on`, not `once`: the handler must stay while the command stops. Ink loads signal-exit, which
  // kills the process at a signal when only its own listeners are left.
  const handlers = STOP_SIGNALS.map((sig) => {
    const handler = () => {
      if (received === undefined) {
        received = sig;
        abort.abort(sig);
      } else {
        // process.exit still runs the 'exit' hooks: Ink's shows the cursor again
        exit(interruptExitCode(sig));
      }
    };
    source.on(sig, handler);
    return [sig, handler] as const;
  });
  let released = false;
  return {
    signal: abort.signal,
    get received() {
      return received;
    },
    onStop(stop) {
      if (abort.signal.aborted) stop();
      else abort.signal.addEventListener("abort", stop, { once: true });
    },
    release() {
      if (released) return;
      released = true;
      for (const [sig, handler] of handlers) source.off(sig, handler);
    },
  };
}
