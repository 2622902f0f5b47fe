// One child process whose stdout and stderr go, line by line and time-stamped, to its log file,
// with its last lines kept in memory to explain an exit.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import path from "node:path";

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** the process could not be started at all */
  error?: string;
}

export interface SpawnOptions {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  logFile: string;
  /** how many last lines to keep */
  tail?: number;
  /** a node child with an IPC channel: the supervisor hands it a listening socket (sendHandle) */
  ipc?: boolean;
}

/** A log line as stored: `<ISO time> <text>`. */
export function formatLogLine(at: Date, text: string): string {
  return `${at.toISOString()} ${text}\n`;
}

export class LoggedChild {
  readonly exited: Promise<ChildExit>;
  readonly startedAt = Date.now();
  private readonly child: ChildProcess;
  private readonly log: WriteStream;
  private readonly tail: string[] = [];
  private readonly keep: number;
  private exit?: ChildExit;

  constructor(opts: SpawnOptions) {
    this.keep = opts.tail ?? 20;
    mkdirSync(path.dirname(opts.logFile), { recursive: true });
    this.log = createWriteStream(opts.logFile, { flags: "a" });
    this.log.on("error", () => undefined);
    // its own process group: a Ctrl-C in the terminal reaches the supervisor, which stops children in order
    this.child = spawn(opts.command, opts.args, {
      cwd: opts.cwd,
      env: opts.env,
      stdio: opts.ipc ? ["ignore", "pipe", "pipe", "ipc"] : ["ignore", "pipe", "pipe"],
      detached: true,
    });
    this.exited = new Promise<ChildExit>((resolve) => {
      let spawnError: string | undefined;
      this.child.once("error", (err) => {
        spawnError = err.message;
        // a process that never started emits no 'close'
        if (this.child.pid === undefined) finish({ code: null, signal: null, error: spawnError });
      });
      const finish = (e: ChildExit) => {
        if (this.exit) return;
        this.exit = e;
        this.log.end();
        resolve(e);
      };
      this.child.once("close", (code, signal) => finish({ code, signal, error: spawnError }));
    });
    this.pipe(this.child.stdout);
    this.pipe(this.child.stderr);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exit === undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  lastLines(): string[] {
    return [...this.tail];
  }

  /** Hand a socket handle to the child (it serves on the same socket as its siblings); false when it is gone. */
  sendHandle(message: object, handle: object): boolean {
    if (!this.running || !this.child.connected) return false;
    try {
      return this.child.send(message, handle as Parameters<ChildProcess["send"]>[1], undefined, () => undefined);
    } catch {
      return false;
    }
  }

  kill(signal: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      this.child.kill(signal);
    } catch {
      // gone already
    }
  }

  /** SIGTERM (the instance drains), SIGKILL after `graceMs`. */
  async stop(graceMs: number): Promise<ChildExit> {
    this.kill("SIGTERM");
    const timer = setTimeout(() => this.kill("SIGKILL"), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  private pipe(stream: NodeJS.ReadableStream | null): void {
    if (!stream) return;
    let partial = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      const parts = (partial + chunk).split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) this.line(line);
      // a runaway line without newline must not grow without bound
      if (partial.length > 64 * 1024) {
        this.line(partial);
        partial = "";
      }
    });
    stream.on("end", () => {
      if (partial) this.line(partial);
      partial = "";
    });
  }

  private line(text: string): void {
    const clean = text.replace(/\r$/, "");
    if (clean === "") return;
    this.log.write(formatLogLine(new Date(), clean));
    this.tail.push(clean.length > 2000 ? clean.slice(0, 2000) + "…" : clean);
    if (this.tail.length > this.keep) this.tail.shift();
  }
}
