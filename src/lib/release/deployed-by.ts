// Who or what deployed a version, as `gs history` shows it: the CI run under GitHub Actions, else
// user@host. It becomes an ECS tag value, so it keeps to the characters tags allow.
import os from "node:os";

/** `octo/game run 123456 by alice`, or `alice@build-box` */
export function deployedBy(env: NodeJS.ProcessEnv = process.env): string {
  const who =
    env.GITHUB_ACTIONS === "true" && env.GITHUB_RUN_ID
      ? `${env.GITHUB_REPOSITORY ?? "github"} run ${env.GITHUB_RUN_ID}${env.GITHUB_ACTOR ? ` by ${env.GITHUB_ACTOR}` : ""}`
      : `${safeUser()}@${os.hostname()}`;
  return tagSafe(who);
}

function safeUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    // no passwd entry (some containers): the variables are all there is
    return process.env.USER ?? process.env.LOGNAME ?? "unknown";
  }
}

/** ECS tag values: letters, digits, spaces and `+ - = . _ : / @`, at most 256 characters. */
export function tagSafe(value: string): string {
  return value.replace(/[^\p{L}\p{N} +\-=._:/@]/gu, "_").slice(0, 256);
}
