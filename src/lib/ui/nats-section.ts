// The dashboard's NATS section, below the services table: a summary line, what is wrong (each
// problem `--check` counts), what limits the view (notes), the servers, then the streams and KV
// buckets as far as the terminal allows (those with a problem first). Under it, a local fleet's Redis
// Cluster the same way: summary, problems, nodes. Plain styled lines, no Ink.
import { layerSummary, serverTable, streamTable, troubledStreams } from "../nats-layer/layer-text.js";
import { redisReport, redisSummary } from "../redis-layer/redis-layer-text.js";
import type { NatsLayerView, RedisLayerView, SourceHealth } from "../status/fleet-snapshot.js";
import { formatAge } from "./fleet-columns.js";
import { renderLine, styled, type Segment } from "./styled-line.js";
import type { Theme } from "./theme.js";

/** At most this many problem (and note) lines; the rest are counted. */
const MAX_LISTED = 4;

/** The section's lines, at most `maxLines` (the summary line always). */
export function natsSectionLines(view: NatsLayerView, width: number, th: Theme, maxLines: number): string[] {
  const layer = view.layer;
  const lines = [
    titleLine("NATS", view.health, width, th, {
      reading: "reading the NATS layer...",
      summary: layer && layerSummary(layer),
      color: !layer?.source ? "yellow" : layer.problems.length ? "red" : "green",
      dim: !layer?.source,
    }),
  ];
  if (!layer) return lines;
  const room = () => Math.max(0, maxLines - lines.length);
  lines.push(...problemLines(layer.problems, width, th, room()));
  lines.push(...listed(layer.notes, "note:", { dim: true }, width, room()));

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

/**
 * A section's first line: its name, how stale it is (first, so a narrow terminal cuts the summary
 * rather than the age of what it says), its summary; `summary` null: nothing read yet.
 */
function titleLine(
  name: string,
  h: SourceHealth,
  width: number,
  th: Theme,
  o: { reading: string; summary: string | null; color: "yellow" | "red" | "green"; dim?: boolean },
): string {
  const title: Segment[] = [[name, { bold: true }]];
  if (h.stale && o.summary !== null)
    title.push([
      `  stale: ${h.error ?? "no answer"}${h.ageMs !== null ? ` (data from ${formatAge(h.ageMs)} ago)` : ""}`,
      { color: th.of("yellow") },
    ]);
  if (o.summary === null) title.push([`  ${h.error ? `not read: ${h.error}` : o.reading}`, { dim: true }]);
  else title.push([`  ${o.summary}`, { color: th.of(o.color), dim: o.dim }]);
  return renderLine(title, width);
}

/** Up to MAX_LISTED items (and `room`), each marked; the rest counted on the last line. */
function listed(items: string[], mark: string, style: Segment[1], width: number, room: number): string[] {
  const out: string[] = [];
  const fit = Math.min(items.length, MAX_LISTED, room);
  const shown = items.length > fit && fit > 0 ? fit - 1 : fit;
  for (const t of items.slice(0, shown)) out.push(renderLine([[`  ${mark} ${t}`, style]], width));
  if (shown < items.length && room > out.length)
    out.push(styled(`  ${mark} … ${items.length - shown} more (gs status --json lists them)`, style));
  return out;
}

/** What `--check` counts, marked red (as many as `room` allows; the rest counted). */
function problemLines(problems: { message: string }[], width: number, th: Theme, room: number): string[] {
  return listed(
    problems.map((p) => p.message),
    "✖",
    { color: th.of("red") },
    width,
    room,
  );
}

/** The Redis section: summary, problems, then the nodes table whole when it fits. */
export function redisSectionLines(view: RedisLayerView, width: number, th: Theme, maxLines: number): string[] {
  const layer = view.layer;
  const lines = [
    titleLine("Redis", view.health, width, th, {
      reading: "reading the Redis Cluster...",
      summary: layer && redisSummary(layer),
      color: layer?.problems.length ? "red" : "green",
    }),
  ];
  if (!layer) return lines;
  const room = () => Math.max(0, maxLines - lines.length);
  lines.push(...problemLines(layer.problems, width, th, room()));
  const [header, ...rows] = redisReport(layer).table.split("\n");
  if (rows.length && room() >= rows.length + 1) {
    lines.push(renderLine([[`  ${header}`, { bold: true }]], width));
    rows.forEach((r, i) =>
      lines.push(
        renderLine([[`  ${r}`, { color: layer.nodes[i]?.state === "down" ? th.of("red") : undefined }]], width),
      ),
    );
  }
  return lines;
}

/** How many lines the Redis section needs at least: the summary and the problems it lists. */
export function redisSectionMinLines(view: RedisLayerView): number {
  return 1 + Math.min(view.layer?.problems.length ?? 0, MAX_LISTED);
}

/** How many lines the section needs at least: the summary, and the problems and notes it lists. */
export function natsSectionMinLines(view: NatsLayerView): number {
  const l = view.layer;
  if (!l) return 1;
  return 1 + Math.min(l.problems.length, MAX_LISTED) + Math.min(l.notes.length, MAX_LISTED);
}
