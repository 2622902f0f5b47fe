// `gs kv` for a person: values as indented JSON on stdout, where they came from as a note on stderr.
import { formatCount } from "../output/format.js";
import type { KvEntryJson, KvGetResult, KvHistoryResult, KvLsResult } from "./state-query.js";

/** What stdout shows of a value: its JSON, or the undecoded bytes. */
function valueText(e: KvEntryJson, indent?: number): string {
  return JSON.stringify(e.value !== undefined ? e.value : (e.bytes ?? null), null, indent);
}

function redactedNote(e: KvEntryJson): string {
  return e.redacted?.length ? `; redacted: ${e.redacted.join(", ")}` : "";
}

export function lsNote(r: KvLsResult): string {
  const under = r.prefix !== undefined ? ` under ${r.prefix}` : "";
  return `${r.service}: ${formatCount(r.keys.length)} key${r.keys.length === 1 ? "" : "s"}${under} in ${r.store}`;
}

export function getText(r: KvGetResult): string {
  return valueText(r, 2);
}

export function getNote(r: KvGetResult): string {
  return `${r.service} ${r.key}: revision ${r.revision}${r.time ? `, ${r.time}` : ""}, ${r.store}${redactedNote(r)}`;
}

/** One line per revision, oldest first: `rev 3  2025-01-31T12:00:00.000Z  PUT  {...}`. */
export function historyLines(r: KvHistoryResult): string[] {
  const width = Math.max(...r.entries.map((e) => String(e.revision).length));
  return r.entries.map((e) =>
    [
      `rev ${String(e.revision).padStart(width)}`,
      e.time ?? "-",
      e.operation.padEnd(5),
      e.operation === "PUT" ? valueText(e) : "",
    ]
      .join("  ")
      .trimEnd(),
  );
}

export function historyNote(r: KvHistoryResult): string {
  const kept = r.historyKept
    ? `${r.entries.length} revision${r.entries.length === 1 ? "" : "s"} kept`
    : "Redis keeps no history: only the current revision is shown";
  const redacted = r.entries.flatMap((e) => e.redacted ?? []);
  return `${r.service} ${r.key}: ${kept}, ${r.store}${redacted.length ? `; redacted: ${[...new Set(redacted)].join(", ")}` : ""}`;
}
