// The dashboard table's columns and how they fit the terminal: each column has a priority, and a
// narrow terminal drops the least important ones first (the latest event, then the version ...).
// Columns fed by a stale source say so in their header, with the age of their data.
import { formatDuration } from "../output/format.js";
import type { FleetSnapshot, ServiceRow, SourceName } from "../status/fleet-snapshot.js";
import { HEALTH_LABEL, HEALTH_MARK, type Colour, type Theme } from "./theme.js";

export interface Cell {
  text: string;
  color?: Colour;
  dim?: boolean;
}

export interface Column {
  key: string;
  title: string;
  /** dropped first when the terminal is narrow: lowest priority; undefined = never dropped */
  priority?: number;
  align: "left" | "right";
  /** takes the width left over */
  flex?: boolean;
  source?: SourceName;
  cell(r: ServiceRow, s: FleetSnapshot, th: Theme): Cell;
}

export interface PlacedColumn {
  col: Column;
  width: number;
  title: string;
  stale: boolean;
}

const GAP = 2;
/** the selection marker before each row */
export const MARKER = 2;
const MIN_FLEX = 16;

export function formatRate(x: number | null): string {
  if (x === null) return "-";
  if (x < 10) return x.toFixed(1);
  return Math.round(x).toLocaleString("en-US");
}

export function formatPercent(x: number | null): string {
  if (x === null) return "-";
  if (x === 0) return "0%";
  const p = x * 100;
  return `${p < 0.1 ? p.toFixed(2) : p < 10 ? p.toFixed(1) : Math.round(p)}%`;
}

export function formatMs(x: number | null): string {
  return x === null ? "-" : formatDuration(x);
}

export function formatAge(ms: number): string {
  return ms < 60_000 ? `${Math.max(0, Math.round(ms / 1000))}s` : formatDuration(Math.round(ms / 1000) * 1000);
}

export function progressBar(running: number, desired: number, width = 6): string {
  const done = desired > 0 ? Math.max(0, Math.min(width, Math.round((running / desired) * width))) : width;
  return "█".repeat(done) + "░".repeat(width - done);
}

const natsDown = (s: FleetSnapshot) => s.natsDown;
const num = (x: number | null): string => (x === null ? "-" : String(x));

export const COLUMNS: Column[] = [
  { key: "name", title: "SERVICE", align: "left", cell: (r) => ({ text: r.name }) },
  {
    key: "state",
    title: "STATE",
    align: "left",
    source: "platform",
    cell: (r, _s, th) => {
      const label = `${HEALTH_MARK[r.health]} ${HEALTH_LABEL[r.health]}`;
      const text = r.progress
        ? `${label} ${progressBar(r.progress.running, r.progress.desired)} ${r.progress.running}/${r.progress.desired}`
        : label;
      return { text, color: th.health(r.health) };
    },
  },
  {
    key: "tasks",
    title: "TASKS",
    priority: 9,
    align: "right",
    source: "platform",
    cell: (r, _s, th) => ({
      text: r.desired === null ? "-" : `${r.running}/${r.desired}`,
      color: r.running !== null && r.desired !== null && r.running < r.desired ? th.of("yellow") : undefined,
    }),
  },
  {
    key: "pending",
    title: "PEND",
    priority: 4,
    align: "right",
    source: "platform",
    cell: (r) => ({ text: num(r.pending), dim: !r.pending }),
  },
  {
    key: "nats",
    title: "NATS",
    priority: 8,
    align: "right",
    source: "nats",
    cell: (r, s, th) => {
      if (s.natsUnavailable !== null) return { text: "n/a", color: th.of("red") };
      if (natsDown(s)) return { text: "down", color: th.of("red") };
      const short =
        r.responding !== null && r.desired !== null && r.responding < Math.min(r.desired, r.running ?? r.desired);
      return { text: num(r.responding), color: short ? th.of("yellow") : undefined };
    },
  },
  {
    key: "rps",
    title: "REQ/S",
    priority: 7,
    align: "right",
    source: "stats",
    cell: (r, s) => ({ text: natsDown(s) ? "-" : formatRate(r.rps) }),
  },
  {
    key: "errors",
    title: "ERR%",
    priority: 6,
    align: "right",
    source: "stats",
    cell: (r, s, th) => ({
      text: natsDown(s) ? "-" : formatPercent(r.errorRate),
      color: (r.errorRate ?? 0) > 0.01 ? th.of("red") : undefined,
    }),
  },
  // the last minute's percentiles over every instance (merged histograms): a mean hides the slow tail
  {
    key: "p50",
    title: "P50",
    priority: 4.5,
    align: "right",
    source: "stats",
    cell: (r, s) => ({ text: natsDown(s) ? "-" : formatMs(r.p50Ms) }),
  },
  {
    key: "p99",
    title: "P99",
    priority: 5,
    align: "right",
    source: "stats",
    cell: (r, s) => ({ text: natsDown(s) ? "-" : formatMs(r.p99Ms) }),
  },
  {
    key: "restarts",
    title: "RST",
    priority: 3,
    align: "right",
    source: "platform",
    cell: (r) => ({ text: num(r.restarts), dim: !r.restarts }),
  },
  {
    key: "version",
    title: "VERSION",
    priority: 2,
    align: "left",
    source: "platform",
    cell: (r) => ({ text: r.version ?? "-" }),
  },
  {
    key: "event",
    title: "LAST EVENT",
    priority: 1,
    align: "left",
    flex: true,
    source: "platform",
    cell: (r, s) => ({
      text: r.lastEvent ? `${formatAge(s.at - Date.parse(r.lastEvent.at))} ${r.lastEvent.message}` : "",
      dim: true,
    }),
  },
];

export function columnTitle(col: Column, s: FleetSnapshot): { title: string; stale: boolean } {
  if (!col.source) return { title: col.title, stale: false };
  const h = s.sources[col.source];
  if (!h.stale) return { title: col.title, stale: false };
  if (col.source !== "platform" && s.natsDown) return { title: col.title, stale: true };
  return { title: `${col.title} ${h.ageMs === null ? "?" : formatAge(h.ageMs)}`, stale: true };
}

/** The columns that fit `width`, with their widths; the flexible column takes what is left. */
export function layoutColumns(s: FleetSnapshot, rows: ServiceRow[], width: number, th: Theme): PlacedColumn[] {
  const placed = COLUMNS.map((col): PlacedColumn => {
    const { title, stale } = columnTitle(col, s);
    const natural = Math.max(title.length, ...rows.map((r) => col.cell(r, s, th).text.length));
    return { col, width: col.flex ? Math.max(MIN_FLEX, title.length) : natural, title, stale };
  });
  const total = (cs: PlacedColumn[]) => MARKER + cs.reduce((n, c) => n + c.width, 0) + GAP * (cs.length - 1);
  const shown = [...placed];
  while (total(shown) > width) {
    const droppable = shown
      .filter((c) => c.col.priority !== undefined)
      .sort((a, b) => a.col.priority! - b.col.priority!);
    if (!droppable.length) break;
    shown.splice(shown.indexOf(droppable[0]!), 1);
  }
  const over = total(shown) - width;
  if (over > 0) {
    // only the name and state are left: shorten the name
    const name = shown.find((c) => c.col.key === "name")!;
    name.width = Math.max(4, name.width - over);
  }
  const flex = shown.find((c) => c.col.flex);
  if (flex) flex.width += Math.max(0, width - total(shown));
  return shown;
}

export function fit(text: string, width: number, align: "left" | "right" = "left"): string {
  const t = text.length > width ? (width > 1 ? `${text.slice(0, width - 1)}…` : text.slice(0, width)) : text;
  return align === "right" ? t.padStart(width) : t.padEnd(width);
}

export const COLUMN_GAP = " ".repeat(GAP);
