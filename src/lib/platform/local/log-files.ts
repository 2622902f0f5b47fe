// Instance logs of the local fleet: `.gs/logs/<service>/<instance>.log`, lines `<ISO time> <text>`.
import { existsSync, openSync, readdirSync, readSync, closeSync, statSync } from "node:fs";
import path from "node:path";
import type { LogLine, LogQuery } from "../platform.js";
import { sleep } from "./processes.js";

const FOLLOW_POLL_MS = 250;

function parseLine(service: string, instance: string, raw: string): LogLine | undefined {
  if (!raw) return undefined;
  const space = raw.indexOf(" ");
  const at = space > 0 ? raw.slice(0, space) : "";
  if (!/^\d{4}-\d\d-\d\dT/.test(at)) return { service, instance, at: "", text: raw };
  return { service, instance, at, text: raw.slice(space + 1) };
}

/** The log files of a service, optionally of the instances whose id starts with `instance`. */
export function instanceLogFiles(
  logsDir: string,
  service: string,
  instance?: string,
): { instance: string; file: string }[] {
  const dir = path.join(logsDir, service);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".log"))
    .map((f) => ({ instance: f.slice(0, -4), file: path.join(dir, f) }))
    .filter((e) => !instance || e.instance.startsWith(instance) || e.instance === `${service}-${instance}`);
}

/** Read from `offset` to the end of what is complete (up to the last newline). */
function readNew(file: string, offset: number): { text: string; next: number } {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return { text: "", next: offset };
  }
  if (size <= offset) return { text: "", next: size < offset ? 0 : offset };
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.alloc(size - offset);
    const n = readSync(fd, buf, 0, buf.length, offset);
    const text = buf.subarray(0, n).toString("utf8");
    const end = text.lastIndexOf("\n");
    if (end < 0) return { text: "", next: offset };
    return { text: text.slice(0, end), next: offset + Buffer.byteLength(text.slice(0, end + 1)) };
  } finally {
    closeSync(fd);
  }
}

/** The service's log lines from every instance, merged by time, oldest first; with `follow`, then new lines. */
export async function* readLogs(logsDir: string, service: string, query: LogQuery): AsyncGenerator<LogLine> {
  const offsets = new Map<string, number>();
  const batch = (): LogLine[] => {
    const lines: LogLine[] = [];
    for (const { instance, file } of instanceLogFiles(logsDir, service, query.instance)) {
      const { text, next } = readNew(file, offsets.get(file) ?? 0);
      offsets.set(file, next);
      if (!text) continue;
      for (const raw of text.split("\n")) {
        const line = parseLine(service, instance, raw);
        if (!line) continue;
        if (query.since !== undefined && line.at && Date.parse(line.at) < query.since) continue;
        lines.push(line);
      }
    }
    // ISO times sort as strings; the sort is stable, so one instance's lines keep their order
    return lines.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  };
  yield* batch();
  while (query.follow && !query.signal?.aborted) {
    await sleep(FOLLOW_POLL_MS);
    yield* batch();
  }
}
