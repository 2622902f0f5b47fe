// The dashboard's NATS section, below the services table: a summary line, what is wrong (each
// problem `--check` counts), what limits the view (notes), the servers, then the streams and KV
// buckets as far as the terminal allows (those with a problem first). Plain styled lines, no Ink.
import { layerSummary, serverTable, streamTable, troubledStreams } from "../nats-layer/layer-text.js";
import type { NatsLayerView } from "../status/fleet-snapshot.js";
import { formatAge } from "./fleet-columns.js";
import { renderLine, styled, type Segment } from "./styled-line.js";
import type { Theme } from "./theme.js";

/** At most this many problem (and note) lines; the rest are counted. */
const MAX_LISTED = 4;

/** The section's lines, at most `maxLines` (the summary line always). */
export function natsSectionLines(view: NatsLayerView, width: number, th: Theme, maxLines: number): string[] {
  const layer = view.layer;
  const h = view.health;
  const title: Segment[] = [["NATS", { bold: true }]];
  // first, so a narrow terminal cuts the summary rather than the age of what it says
  if (h.stale && layer)
    title.push([
      `  stale: ${h.error ?? "no answer"}${h.ageMs !== null ? ` (data from ${formatAge(h.ageMs)} ago)` : ""}`,
      { color: th.of("yellow") },
    ]);
  if (!layer) title.push([`  ${h.error ? `not read: ${h.error}` : "reading the NATS layer..."}`, { dim: true }]);
  else {
    const bad = layer.problems.length > 0;
    title.push([
      `  ${layerSummary(layer)}`,
      { color: th.of(!layer.source ? "yellow" : bad ? "red" : "green"), dim: !layer.source },
    ]);
  }
  const lines = [renderLine(title, width)];
  if (!layer) return lines;

  const room = () => Math.max(0, maxLines - lines.length);
  const listed = (items: string[], mark: string, style: Segment[1]) => {
    const fit = Math.min(items.length, MAX_LISTED, room());
    const shown = items.length > fit && fit > 0 ? fit - 1 : fit;
    for (const t of items.slice(0, shown)) lines.push(renderLine([[`  ${mark} ${t}`, style]], width));
    if (shown < items.length && room() > 0)
      lines.push(styled(`  ${mark} … ${items.length - shown} more (gs status --json lists them)`, style));
  };
  listed(
    layer.problems.map((p) => p.message),
    "✖",
    { color: th.of("red") },
  );
  listed(layer.notes, "note:", { dim: true });

  // the servers table whole, or not at all
  const servers = serverTable(layer);
  if (layer.servers.length && room() >= servers.rows.length + 1) {
    lines.push(renderLine([[`  ${servers.header}`, { bold: true }]], width));
    for (const r of servers.rows)
      lines.push(renderLine([[`  ${r.text}`, { color: r.bad ? th.of("red") : undefined }]], width));
  }

  // streams with a problem first; when not all fit, the rest are counted on the last line
  const troubled = troubledStreams(layer);
  const ordered = [...layer.streams].sort((a, b) => Number(troubled.has(b.name)) - Number(troubled.has(a.name)));
  const streams = streamTable(ordered, (s) => troubled.has(s.name));
  if (ordered.length && room() >= 2) {
    const all = room() >= ordered.length + 1;
    const rows = all ? streams.rows : streams.rows.slice(0, Math.max(0, room() - 2));
    lines.push(renderLine([[`  ${streams.header}`, { bold: true }]], width));
    for (const r of rows)
      lines.push(renderLine([[`  ${r.text}`, { color: r.bad ? th.of("yellow") : undefined }]], width));
    const rest = ordered.length - rows.length;
    if (rest > 0) {
      const more = rest - [...troubled].filter((n) => !ordered.slice(0, rows.length).some((s) => s.name === n)).length;
      lines.push(
        styled(
          `  … ${rest} more stream${rest === 1 ? "" : "s"}${more === rest ? ", with a leader and their replicas" : ""}`,
          { dim: true },
        ),
      );
    }
  }
  return lines;
}

/** How many lines the section needs at least: the summary, and the problems and notes it lists. */
export function natsSectionMinLines(view: NatsLayerView): number {
  const l = view.layer;
  if (!l) return 1;
  return 1 + Math.min(l.problems.length, MAX_LISTED) + Math.min(l.notes.length, MAX_LISTED);
}
