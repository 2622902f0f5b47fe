// A real pseudo-terminal for end-to-end tests: a private tmux server (-L) running one command in a
// session of a chosen size, its screen read back as text. The environment given is the command's
// own (a tmux server starts with the environment of whoever starts it).
import { execFileSync, spawnSync } from "node:child_process";
import { rmSync } from "node:fs";

export const hasTmux = spawnSync("tmux", ["-V"]).status === 0;

export interface Terminal {
  /** start `cmd` (a shell command line) in a fresh session */
  start(cmd: string, opts: { cwd: string; env: NodeJS.ProcessEnv; columns: number; rows: number }): void;
  /** tmux key names or text, as `send-keys` takes them */
  keys(...keys: string[]): void;
  /** what the terminal shows now */
  screen(): string;
  /** end the server and remove its socket file (which tmux leaves behind) */
  close(): void;
}

export function tmuxTerminal(name: string): Terminal {
  const socket = `${name}-${process.pid}`;
  const tmux = (...args: string[]) =>
    execFileSync("tmux", ["-L", socket, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  return {
    start(cmd, o) {
      execFileSync(
        "tmux",
        [
          "-L",
          socket,
          "-f",
          "/dev/null",
          "new-session",
          "-d",
          "-s",
          name,
          "-x",
          String(o.columns),
          "-y",
          String(o.rows),
          "-c",
          o.cwd,
          cmd,
        ],
        { env: o.env },
      );
    },
    keys: (...keys) => void tmux("send-keys", "-t", name, ...keys),
    screen: () => tmux("capture-pane", "-p", "-t", name),
    close() {
      try {
        const file = tmux("display-message", "-p", "#{socket_path}").trim();
        tmux("kill-server");
        if (file) rmSync(file, { force: true });
      } catch {
        // no server: the test did not get to start it, or its session already ended
      }
    },
  };
}

/** The environment of a user at a terminal: none of CI's variables, nor gs settings from the test run's own. */
export function terminalEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", ...extra };
  for (const k of ["CI", "GITHUB_ACTIONS", "GS_TARGET", "GS_CONFIG", "GS_HOME", "NATS_URL"]) delete env[k];
  return env;
}
