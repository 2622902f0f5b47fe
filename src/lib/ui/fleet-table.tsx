// The live area of the dashboard: header, totals, the service table (windowed to the terminal's
// height around the selection) and the key help.
import { Box, Text } from "ink";
import type { FleetSnapshot, ServiceRow } from "../status/fleet-snapshot.js";
import { clock, totalsLine } from "../status/watch-output.js";
import { COLUMN_GAP, fit, formatAge, formatPercent, formatRate, layoutColumns, type PlacedColumn } from "./fleet-columns.js";
import type { SortKey } from "./fleet-order.js";
import type { Theme } from "./theme.js";

export function Header(props: { snap: FleetSnapshot; width: number; th: Theme }) {
  const { snap, th } = props;
  const problems: { text: string; color?: ReturnType<Theme["of"]> }[] = [];
  if (snap.natsDown) problems.push({ text: `NATS down: ${snap.natsServer} does not answer; reconnecting`, color: th.of("red") });
  const p = snap.sources.platform;
  if (p.stale) problems.push({ text: `platform unreachable: ${p.error ?? "no answer yet"}${p.ageMs !== null ? ` (data from ${formatAge(p.ageMs)} ago)` : ""}`, color: th.of("red") });
  for (const n of ["nats", "stats"] as const) {
    const h = snap.sources[n];
    if (h.stale && !snap.natsDown && h.ageMs !== null) problems.push({ text: `NATS ${n === "nats" ? "discovery" : "stats"} stale: ${h.error ?? ""} (data from ${formatAge(h.ageMs)} ago)`, color: th.of("yellow") });
  }
  const t = snap.totals;
  const allGood = t.healthy === t.services && t.running === t.desired && !snap.natsDown;
  const rates = t.rps === null ? "" : ` · ${formatRate(t.rps)} req/s${t.errorRate === null ? "" : ` · ${formatPercent(t.errorRate)} errors`}`;
  return (
    <Box flexDirection="column">
      <Text wrap="truncate">
        <Text bold>gs status</Text>
        {`  target ${snap.target} (${snap.platformKind})  NATS ${snap.natsServer}  last poll ${snap.lastPollAt === null ? "-" : clock(snap.lastPollAt)}`}
      </Text>
      <Text wrap="truncate">
        <Text color={th.of(allGood ? "green" : "yellow")} bold>
          {totalsLine(snap)}
        </Text>
        {rates}
      </Text>
      {problems.map((pr) => (
        <Text key={pr.text} wrap="truncate" color={pr.color}>
          {pr.text}
        </Text>
      ))}
    </Box>
  );
}

function Row(props: { row: ServiceRow; cols: PlacedColumn[]; snap: FleetSnapshot; th: Theme; selected: boolean }) {
  const { row, cols, snap, th, selected } = props;
  return (
    <Text wrap="truncate">
      <Text color={th.of("cyan")}>{selected ? "› " : "  "}</Text>
      {cols.map((c, i) => {
        const cell = c.col.cell(row, snap, th);
        // the last column is not padded: trailing blanks cost Ink as much as text does
        const text = i === cols.length - 1 ? fit(cell.text, c.width, c.col.align).trimEnd() : fit(cell.text, c.width, c.col.align);
        return (
          <Text key={c.col.key} color={c.stale ? undefined : cell.color} dimColor={c.stale || cell.dim} inverse={selected && c.col.key === "name"} bold={selected && c.col.key === "name"}>
            {i === 0 ? text : COLUMN_GAP + text}
          </Text>
        );
      })}
    </Text>
  );
}

export interface TableProps {
  snap: FleetSnapshot;
  rows: ServiceRow[];
  selected?: string;
  width: number;
  /** how many table rows fit */
  height: number;
  th: Theme;
}

export function FleetTable(props: TableProps) {
  const { snap, rows, selected, width, th } = props;
  const cols = layoutColumns(snap, rows, width, th);
  const height = Math.max(1, props.height);
  const at = Math.max(0, rows.findIndex((r) => r.name === selected));
  // keep the selection in view, roughly centred once the list scrolls
  const start = rows.length <= height ? 0 : Math.max(0, Math.min(at - Math.floor(height / 2), rows.length - height));
  const visible = rows.slice(start, start + height);
  return (
    <Box flexDirection="column">
      <Text wrap="truncate" bold>
        {"  "}
        {cols.map((c, i) => (
          <Text key={c.col.key} color={c.stale ? th.of("yellow") : undefined}>
            {(i === 0 ? "" : COLUMN_GAP) + (i === cols.length - 1 ? c.title : fit(c.title, c.width, c.col.align))}
          </Text>
        ))}
      </Text>
      {visible.map((r) => (
        <Row key={r.name} row={r} cols={cols} snap={snap} th={th} selected={r.name === selected} />
      ))}
      {rows.length === 0 && <Text dimColor>{snap.services.length ? "  no service matches the filter" : "  waiting for the first answers..."}</Text>}
      {rows.length > height && <Text dimColor>{`  ${start + 1}-${start + visible.length} of ${rows.length}`}</Text>}
    </Box>
  );
}

export function KeyHelp(props: { sort: SortKey; filter: string; filtering: boolean; keys: boolean; th: Theme }) {
  const { sort, filter, filtering, keys, th } = props;
  if (filtering) {
    return (
      <Text wrap="truncate">
        <Text color={th.of("cyan")}>/</Text>
        {filter}
        <Text inverse> </Text>
        <Text dimColor>{"   enter keep · esc clear"}</Text>
      </Text>
    );
  }
  const f = filter ? `  filter "${filter}"` : "";
  return (
    <Text wrap="truncate" dimColor>
      {keys ? `↑↓ select · enter detail · / filter · s sort (${sort}) · q quit${f}` : `sort ${sort}${f} · ctrl-c quits`}
    </Text>
  );
}
