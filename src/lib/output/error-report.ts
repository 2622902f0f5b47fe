// How an error reaches the user, in the two forms gs prints: one line on stderr, or under --json the
// document `{"error":{code,message,hint,exitCode}}` on stdout. The base command and the
// command-not-found hook both print through these, so the forms cannot drift apart.
import type { GsError } from "./errors.js";
import type { Style } from "./mode.js";

export interface ErrorJson {
  error: { code: string; message: string; hint?: string; exitCode: number };
}

export function errorJson(err: GsError): ErrorJson {
  return { error: { code: err.code, message: err.message, hint: err.hint, exitCode: err.exitCode } };
}

/** `error: what is wrong — what to do`. */
export function errorLine(err: GsError, color: (style: Style, text: string) => string): string {
  return `${color("red", "error:")} ${err.message}${err.hint ? ` — ${err.hint}` : ""}`;
}
