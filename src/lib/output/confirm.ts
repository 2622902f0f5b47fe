// A y/N question on the terminal (stderr, so stdout stays the command's result). No prompt library:
// one line of readline is all a confirmation needs.
import { createInterface } from "node:readline";
import { inCi } from "./mode.js";

export interface ConfirmStreams {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
}

/** true only for an answer starting with y/Y; Enter, anything else, or a closed input is "no". */
export function confirm(
  question: string,
  streams: ConfirmStreams = { input: process.stdin, output: process.stderr },
): Promise<boolean> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: streams.input, output: streams.output, terminal: false });
    let answered = false;
    streams.output.write(`${question} [y/N] `);
    rl.once("line", (line) => {
      answered = true;
      rl.close();
      resolve(/^\s*y(es)?\s*$/i.test(line));
    });
    rl.once("close", () => {
      if (!answered) resolve(false);
    });
  });
}

/** A person can answer: stdin and stderr are terminals and no CI is set. */
export function canPrompt(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY) && !inCi(env);
}
