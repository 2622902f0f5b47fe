// The dashboard's list view as lines of text with ANSI styles: the Ink dashboard renders these lines,
// and `gs status --watch` writes the same lines as its first frame before Ink has loaded (Ink and
// React cost a few hundred ms to load and to render the first time; the table should not wait).
// No Ink or React here, on purpose.
import type { FleetSnapshot, ServiceRow } from "../status/fleet-snapshot.js";
import { clock, totalsLine } from "../status/watch-output.js";
import type { ViewState } from "./dashboard-keys.js";
import {
  COLUMN_GAP,
  fit,
  formatAge,
  formatPercent,
  formatRate,
  layoutColumns,
  type PlacedColumn,
} from "./fleet-columns.js";
import { orderRows, type SortKey } from "./fleet-order.js";
import { natsSectionLines, natsSectionMinLines, redisSectionLines, redisSectionMinLines } from "./nats-section.js";
import { renderLine, styled, type Segment } from "./styled-line.js";
import type { Theme } from "./theme.js";

export { renderLine, styled, type Segment, type TextStyle } from "./styled-line.js";

/** The title line, the totals line, and one line per source in trouble. */
export function headerLines(snap: FleetSnapshot, width: number, th: Theme): string[] {
  const lines: Segment[][] = [
    [
      ["gs status", { bold: true }],
      [
        `  target ${snap.target} (${snap.platformKind})  NATS ${snap.natsServer}  last poll ${snap.lastPollAt === null ? "-" : clock(snap.lastPollAt)}`,
      ],
    ],
  ];
  const t = snap.totals;
  const allGood = t.healthy === t.services && t.running === t.desired && !snap.natsDown;
  const rates =
    t.rps === null
      ? ""
      : ` · ${formatRate(t.rps)} req/s${t.errorRate === null ? "" : ` · ${formatPercent(t.errorRate)} errors`}`;
  lines.push([[totalsLine(snap), { color: th.of(allGood ? "green" : "yellow"), bold: true }], [rates]]);
  if (snap.natsUnavailable !== null)
    lines.push([
      [`NATS unavailable: ${snap.natsUnavailable} — showing the platform's view only`, { color: th.of("red") }],
    ]);
  else if (snap.natsDown)
    lines.push([[`NATS down: ${snap.natsServer} does not answer; reconnecting`, { color: th.of("red") }]]);
  const p = snap.sources.platform;
  if (p.stale)
    lines.push([
      [
        `platform unreachable: ${p.error ?? "no answer yet"}${p.ageMs !== null ? ` (data from ${formatAge(p.ageMs)} ago)` : ""}`,
        { color: th.of("red") },
      ],
    ]);
  for (const n of ["nats", "stats"] as const) {
    const h = snap.sources[n];
    if (h.stale && !snap.natsDown && h.ageMs !== null)
      lines.push([
        [
          `NATS ${n === "nats" ? "discovery" : "stats"} stale: ${h.error ?? ""} (data from ${formatAge(h.ageMs)} ago)`,
          { color: th.of("yellow") },
        ],
      ]);
  }
  return lines.map((l) => renderLine(l, width));
}

function rowLine(
  row: ServiceRow,
  cols: PlacedColumn[],
  snap: FleetSnapshot,
  th: Theme,
  selected: boolean,
  width: number,
): string {
  const segs: Segment[] = [[selected ? "› " : "  ", { color: th.of("cyan") }]];
  cols.forEach((c, i) => {
    const cell = c.col.cell(row, snap, th);
    if (i > 0) segs.push([COLUMN_GAP]);
    const name = selected && c.col.key === "name";
    segs.push([
      fit(cell.text, c.width, c.col.align),
      { color: c.stale ? undefined : cell.color, dim: c.stale || cell.dim, inverse: name, bold: name },
    ]);
  });
  return renderLine(segs, width);
}

export interface TableLinesOptions {
  snap: FleetSnapshot;
  rows: ServiceRow[];
  selected?: string;
  width: number;
  /** how many table rows fit */
  height: number;
  th: Theme;
}

/** The column titles, the rows that fit (windowed around the selection) and what is not shown. */
export function tableLines(o: TableLinesOptions): string[] {
  const { snap, rows, selected, width, th } = o;
  const cols = layoutColumns(snap, rows, width, th);
  const height = Math.max(1, o.height);
  const at = Math.max(
    0,
    rows.findIndex((r) => r.name === selected),
  );
  // keep the selection in view, roughly centred once the list scrolls
  const start = rows.length <= height ? 0 : Math.max(0, Math.min(at - Math.floor(height / 2), rows.length - height));
  const visible = rows.slice(start, start + height);
  const title: Segment[] = [["  ", { bold: true }]];
  cols.forEach((c, i) =>
    title.push([
      (i === 0 ? "" : COLUMN_GAP) + fit(c.title, c.width, c.col.align),
      { bold: true, color: c.stale ? th.of("yellow") : undefined },
    ]),
  );
  const lines = [
    renderLine(title, width),
    ...visible.map((r) => rowLine(r, cols, snap, th, r.name === selected, width)),
  ];
  if (rows.length === 0)
    lines.push(
      styled(snap.services.length ? "  no service matches the filter" : "  waiting for the first answers...", {
        dim: true,
      }),
    );
  if (rows.length > height)
    lines.push(styled(`  ${start + 1}-${start + visible.length} of ${rows.length}`, { dim: true }));
  return lines;
}

export function keyHelpLine(o: {
  sort: SortKey;
  filter: string;
  filtering: boolean;
  keys: boolean;
  th: Theme;
  width: number;
}): string {
  if (o.filtering)
    return renderLine(
      [
        ["/", { color: o.th.of("cyan") }],
        [o.filter],
        [" ", { inverse: true }],
        ["   enter keep · esc clear", { dim: true }],
      ],
      o.width,
    );
  const f = o.filter ? `  filter "${o.filter}"` : "";
  const text = o.keys
    ? `↑↓ select · enter detail · / filter · s sort (${o.sort}) · q quit${f}`
    : `sort ${o.sort}${f} · ctrl-c quits`;
  return renderLine([[text, { dim: true }]], o.width);
}

/** Header lines + the blank under them: how many terminal rows the header takes. */
export function headerHeight(lines: string[]): number {
  return lines.length + 1;
}

export interface ListFrameOptions {
  snap: FleetSnapshot;
  view: ViewState;
  selected?: string;
  /** terminal size */
  columns: number;
  rows: number;
  keys: boolean;
  th: Theme;
}

/**
 * The NATS and Redis sections under the table (each after a blank line): the rows the services leave,
 * but at least their summaries, problems and notes, and never so much that fewer than 3 services show.
 */
function natsLines(snap: FleetSnapshot, services: number, avail: number, width: number, th: Theme): string[] {
  const view = snap.natsLayer;
  const redis = snap.redisLayer;
  if (!view && !redis) return [];
  // the Redis section's summary and problems are kept free first; the NATS section takes the rest
  const redisMin = redis ? 1 + redisSectionMinLines(redis) : 0;
  const budget = Math.min(
    Math.max(1 + (view ? natsSectionMinLines(view) : 0) + redisMin, avail - services),
    Math.max(2, avail - 3),
  );
  const nats = view ? ["", ...natsSectionLines(view, width, th, budget - 1 - redisMin)] : [];
  return redis ? [...nats, "", ...redisSectionLines(redis, width, th, budget - nats.length - 1)] : nats;
}

/** The whole list view, top to bottom. */
export function listFrame(o: ListFrameOptions): string[] {
  const width = Math.max(20, o.columns - 1);
  const header = headerLines(o.snap, width, o.th);
  // the live area must stay shorter than the terminal, or Ink clears the whole screen on each frame
  const avail = o.rows - headerHeight(header) - 4;
  const shown = orderRows(o.snap.services, o.view.sort, o.view.filter);
  const nats = natsLines(o.snap, shown.length, avail, width, o.th);
  const height = avail - nats.length;
  return [
    ...header,
    "",
    ...tableLines({ snap: o.snap, rows: shown, selected: o.selected, width, height, th: o.th }),
    ...nats,
    keyHelpLine({
      sort: o.view.sort,
      filter: o.view.filter,
      filtering: o.view.filtering,
      keys: o.keys,
      th: o.th,
      width,
    }),
  ];
}
