// Why an instance stopped, in one line: its exit, and the most telling of its last log lines.
import type { ChildExit } from "./logged-child.js";

export function describeExit(exit: ChildExit): string {
  if (exit.error && exit.code === null && exit.signal === null) return `could not start: ${exit.error}`;
  if (exit.signal) return `was killed by ${exit.signal}`;
  return `exited with code ${exit.code}`;
}

/** The most telling of an instance's last lines: its error message rather than the stack under it. */
export function explainLines(lines: string[]): string | undefined {
  const telling = [...lines].reverse().find((l) => /^\s*(\w*Error|Uncaught)\b|"level":"(error|fatal)"/.test(l));
  if (telling) {
    const json = /^\s*\{/.test(telling) ? tryJson(telling) : undefined;
    if (json) {
      const err = json.err as { message?: string } | string | undefined;
      const detail = typeof err === "string" ? err : err?.message;
      return `${String(json.msg ?? "error")}${detail ? `: ${detail}` : ""}`;
    }
    return telling.trim();
  }
  return lines
    .filter((l) => !/^\s+at |^Node\.js v/.test(l))
    .at(-1)
    ?.trim();
}

function tryJson(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
