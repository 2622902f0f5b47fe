// An event as a person reads it: one plain line (pipes, CI), or on a terminal a coloured head line
// and the event indented below it.
import type { Style } from "../output/mode.js";
import type { StoredEvent } from "./stored-event.js";

export function eventText(e: StoredEvent, opts: { pretty: boolean; color: (s: Style, t: string) => string }): string {
  const body = e.data ?? e.bytes ?? {};
  const head = `${e.time}  #${e.seq}  ${e.subject}`;
  if (!opts.pretty) return `${head}  ${JSON.stringify(body)}`;
  const note = e.type ? e.type : "no proto type: undecoded";
  return `${opts.color("cyan", head)}  ${opts.color("dim", note)}\n${JSON.stringify(body, null, 2)}`;
}
