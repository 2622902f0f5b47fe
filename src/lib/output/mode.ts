// How to talk to the terminal: JSON, a live TTY, or plain lines (CI, pipes).
export type OutputMode = "json" | "tty" | "plain";

/**
 * Running under CI, by the same rule Ink uses (is-in-ci): CI or CONTINUOUS_INTEGRATION set to
 * anything but "0" or "false". The two must agree: under CI, Ink draws nothing until it unmounts,
 * so a live view chosen by a looser rule would show a blank screen.
 */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return ["CI", "CONTINUOUS_INTEGRATION"].some((k) => env[k] !== undefined && env[k] !== "0" && env[k] !== "false");
}

export function outputMode(opts: { json?: boolean; stream?: NodeJS.WriteStream; env?: NodeJS.ProcessEnv }): OutputMode {
  const env = opts.env ?? process.env;
  if (opts.json) return "json";
  const stream = opts.stream ?? process.stdout;
  if (!stream.isTTY || inCi(env) || env.TERM === "dumb") return "plain";
  return "tty";
}

export function colorEnabled(
  stream: NodeJS.WriteStream = process.stderr,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== "0") return true;
  return Boolean(stream.isTTY) && env.TERM !== "dumb";
}

const codes = {
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
  dim: [2, 22],
  bold: [1, 22],
} as const;
export type Style = keyof typeof codes;

export function paint(enabled: boolean): (style: Style, text: string) => string {
  return (style, text) => (enabled ? `\u001b[${codes[style][0]}m${text}\u001b[${codes[style][1]}m` : text);
}
