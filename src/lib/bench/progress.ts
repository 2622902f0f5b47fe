// Progress as text on stderr: a line every few seconds without a terminal (CI, pipes). On a terminal
// the Ink panel (ui/bench-live.ts) replaces it; the line rewritten in place is its fallback.
import { formatCount, formatDuration } from "../output/format.js";
import type { OutputMode } from "../output/mode.js";
import type { ProgressSnapshot } from "./run.js";

const PLAIN_EVERY_MS = 5000;

export class ProgressLine {
  private lastPlain = 0;
  private drawn = false;

  constructor(
    private readonly mode: OutputMode,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(s: ProgressSnapshot): void {
    if (this.mode === "json") return;
    const text = describe(s);
    if (this.mode === "tty") {
      this.stream.write(`\r\u001b[2K${text}`);
      this.drawn = true;
    } else if (s.elapsedMs - this.lastPlain >= PLAIN_EVERY_MS) {
      this.lastPlain = s.elapsedMs;
      this.stream.write(text + "\n");
    }
  }

  /** Clear the live line before the report is printed. */
  end(): void {
    if (this.drawn) this.stream.write("\r\u001b[2K");
    this.drawn = false;
  }
}

function describe(s: ProgressSnapshot): string {
  const warming = s.elapsedMs < s.warmupMs;
  const measured = Math.max(0, s.elapsedMs - s.warmupMs);
  const when = warming
    ? `warm-up ${formatDuration(s.elapsedMs)}/${formatDuration(s.warmupMs)}`
    : `${formatDuration(measured)}${s.plannedMs ? `/${formatDuration(s.plannedMs)}` : ""}`;
  return `${when}  ${formatCount(s.rps)} req/s  ${formatCount(s.ok)} ok  ${formatCount(s.errors)} errors  max ${formatDuration(s.maxMs)}`;
}
