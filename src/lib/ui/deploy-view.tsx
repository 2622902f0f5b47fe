// The live view of `gs deploy` on a terminal: a header, one row per service (its stage, a bar for
// rollouts, the versions, what is happening or why it failed) and the totals. It renders snapshots of
// a DeployBoard; deploy-live.ts mounts it through live-output.ts. Loaded only through a dynamic
// import: Ink and React cost ~0.5 s to load, which the plain (CI) output should not pay.
import { Box, Text } from "ink";
import {
  FINAL_STAGES,
  type BoardRow,
  type BoardSnapshot,
  type BoardSummary,
  type Stage,
} from "../deploy/deploy-board.js";
import { formatDuration } from "../output/format.js";
import { fit, progressBar } from "./fleet-columns.js";
import { theme, type Colour, type Theme } from "./theme.js";
import { useTerminalSize } from "./terminal-size.js";

const STAGE_LABEL: Record<Stage, string> = {
  waiting: "waiting",
  checking: "checking",
  building: "building",
  pushing: "pushing",
  pushed: "pushed",
  present: "in registry",
  registering: "registering",
  "rolling-out": "rolling out",
  verifying: "verifying",
  deployed: "deployed",
  unchanged: "unchanged",
  "rolling-back": "rolling back",
  "rolled-back": "rolled back",
  failed: "failed",
  "not-started": "not started",
};

/** A mark beside the label, so the state reads without colour too. */
const STAGE_MARK: Record<Stage, string> = {
  waiting: "○",
  checking: "◐",
  building: "◐",
  pushing: "◐",
  pushed: "◑",
  present: "◑",
  registering: "◐",
  "rolling-out": "◐",
  verifying: "◐",
  deployed: "✔",
  unchanged: "●",
  "rolling-back": "↺",
  "rolled-back": "↺",
  failed: "✖",
  "not-started": "○",
};

const STAGE_COLOUR: Record<Stage, Colour> = {
  waiting: "gray",
  checking: "cyan",
  building: "cyan",
  pushing: "cyan",
  pushed: "cyan",
  present: "cyan",
  registering: "cyan",
  "rolling-out": "cyan",
  verifying: "cyan",
  deployed: "green",
  unchanged: "gray",
  "rolling-back": "yellow",
  "rolled-back": "yellow",
  failed: "red",
  "not-started": "yellow",
};

/** Which rows stay on screen first when the terminal is too short for all of them. */
function keepOrder(stage: Stage): number {
  if (stage === "failed" || stage === "rolled-back" || stage === "rolling-back") return 0;
  if (!FINAL_STAGES.has(stage) && stage !== "waiting") return 1;
  if (stage === "waiting" || stage === "not-started") return 2;
  return stage === "deployed" ? 3 : 4;
}

const GAP = "  ";
const INDENT = "  ";
const STAGE_WIDTH = Math.max(
  ...Object.keys(STAGE_LABEL).map((s) => `${STAGE_MARK[s as Stage]} ${STAGE_LABEL[s as Stage]}`.length),
);
/** the detail column gets at least this much before the versions are dropped */
const MIN_DETAIL = 20;

export interface RowLayout {
  name: number;
  bar: number;
  time: number;
  versions: number;
  detail: number;
}

/** `400ms`, `3.1s`, `12s`, `5m`; nothing measured yet is `0s` */
const duration = (ms: number) => (ms < 1 ? "0s" : formatDuration(ms));
/** a running clock, in whole seconds */
const ticking = (ms: number) => duration(Math.floor(ms / 1000) * 1000);

// a rollout the platform has stopped reports 0 desired: no bar then
const barText = (r: BoardRow) =>
  r.counts?.desired
    ? `[${progressBar(r.counts.running, r.counts.desired)}] ${r.counts.running}/${r.counts.desired}`
    : "";
const versionsText = (r: BoardRow) => (!r.to ? "" : r.from === r.to ? r.to : `${r.from ?? "nothing"} -> ${r.to}`);
function timeText(r: BoardRow, now: number): string {
  if (r.stage === "unchanged" || r.stage === "waiting" || r.stage === "not-started") return "";
  if (r.seconds !== null && FINAL_STAGES.has(r.stage)) return duration(r.seconds * 1000);
  return r.since === null ? "" : ticking(now - r.since);
}

/** Column widths for `width` columns: the detail takes what is left; the versions go first when it would get too little. */
function layoutRows(rows: BoardRow[], now: number, width: number): RowLayout {
  const name = Math.max(4, ...rows.map((r) => r.name.length));
  const bar = Math.max(0, ...rows.map((r) => barText(r).length));
  const time = Math.max(0, ...rows.map((r) => timeText(r, now).length));
  let versions = Math.max(0, ...rows.map((r) => versionsText(r).length));
  const fixed = () =>
    INDENT.length +
    name +
    [STAGE_WIDTH, bar, time, versions].reduce((n, w) => n + (w ? GAP.length + w : 0), 0) +
    GAP.length;
  if (width - fixed() < MIN_DETAIL) versions = 0;
  return { name, bar, time, versions, detail: Math.max(0, width - fixed()) };
}

function Row(props: { row: BoardRow; layout: RowLayout; now: number; th: Theme }) {
  const { row, layout, now, th } = props;
  const stage = `${STAGE_MARK[row.stage]} ${STAGE_LABEL[row.stage]}`;
  const columns: [number, string, "left" | "right"][] = [
    [layout.bar, barText(row), "left"],
    [layout.time, timeText(row, now), "right"],
    [layout.versions, versionsText(row), "left"],
  ];
  const detail = layout.detail ? fit(row.detail, layout.detail).trimEnd() : "";
  let middle = columns
    .filter(([w]) => w > 0)
    .map(([w, text, align]) => GAP + fit(text, w, align))
    .join("");
  // trailing blanks cost Ink as much as text does
  if (!detail) middle = middle.trimEnd();
  const failing = row.stage === "failed" || row.stage === "rolled-back" || row.stage === "rolling-back";
  return (
    <Text wrap="truncate">
      {INDENT + fit(row.name, layout.name)}
      {GAP}
      <Text color={th.of(STAGE_COLOUR[row.stage])}>{middle || detail ? fit(stage, STAGE_WIDTH) : stage}</Text>
      {middle}
      {detail && GAP}
      {detail && <Text color={failing ? th.of(STAGE_COLOUR[row.stage]) : th.of("gray")}>{detail}</Text>}
    </Text>
  );
}

/** `n deployed · n rolling out ...` while it runs; the outcome once done. */
function totalsLine(s: BoardSummary, finished: boolean, elapsedMs: number): string {
  if (finished) {
    const skipped = s.notStarted ? `, ${s.notStarted} not started` : "";
    return `done in ${duration(elapsedMs)}: ${s.deployed} deployed, ${s.unchanged} unchanged, ${s.rolledBack} rolled back, ${s.failed} failed${skipped}`;
  }
  const parts: [number, string][] = [
    [s.deployed, "deployed"],
    [s.active, "in progress"],
    [s.waiting, "waiting"],
    [s.unchanged, "unchanged"],
    [s.rolledBack, "rolled back"],
    [s.failed, "failed"],
    [s.notStarted, "not started"],
  ];
  return parts
    .filter(([n]) => n > 0)
    .map(([n, w]) => `${n} ${w}`)
    .join(" · ");
}

export interface DeployViewProps {
  state: BoardSnapshot;
  color: boolean;
}

export function DeployView({ state, color }: DeployViewProps) {
  const { columns, rows: height } = useTerminalSize();
  const th = theme(color);
  const width = Math.max(20, columns - 1);
  const s = state.summary;
  // the live area must stay shorter than the terminal, or Ink clears the whole screen (and its scrollback) on each frame
  const room = Math.max(1, height - 5);
  let shown = state.rows;
  let hidden: BoardRow[] = [];
  if (state.rows.length > room) {
    const keep = new Set(
      [...state.rows].sort((a, b) => keepOrder(a.stage) - keepOrder(b.stage)).slice(0, Math.max(0, room - 1)),
    );
    shown = state.rows.filter((r) => keep.has(r));
    hidden = state.rows.filter((r) => !keep.has(r));
  }
  const layout = layoutRows(shown, state.now, width);
  // the last frame stays on screen: there, a reason its row had to cut is shown whole below the totals
  const cut = state.finished
    ? state.rows.filter(
        (r) =>
          (r.stage === "failed" || r.stage === "rolled-back") &&
          (!shown.includes(r) || r.detail.length > layout.detail),
      )
    : [];
  const bad = s.failed + s.rolledBack + s.notStarted > 0;
  const totals = totalsLine(s, state.finished, state.elapsedMs);
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate">
        <Text bold={color}>gs deploy</Text>
        {`  target ${state.target} (${state.platform})  ${s.services} service${s.services === 1 ? "" : "s"}  concurrency ${state.concurrency}  ${ticking(state.elapsedMs)}`}
      </Text>
      <Text> </Text>
      {shown.map((r) => (
        <Row key={r.name} row={r} layout={layout} now={state.now} th={th} />
      ))}
      {hidden.length > 0 && (
        <Text
          wrap="truncate"
          color={th.of("gray")}
        >{`${INDENT}… ${hidden.length} more: ${hiddenSummary(hidden)}`}</Text>
      )}
      <Text> </Text>
      <Text
        wrap="truncate"
        bold={color}
        color={th.of(bad ? (s.failed ? "red" : "yellow") : state.finished ? "green" : "cyan")}
      >
        {totals || "planning"}
      </Text>
      {cut.map((r) => (
        <Box key={r.name} paddingLeft={INDENT.length}>
          <Text
            wrap="wrap"
            color={th.of(STAGE_COLOUR[r.stage])}
          >{`${r.name} ${STAGE_LABEL[r.stage]}: ${r.detail}`}</Text>
        </Box>
      ))}
    </Box>
  );
}

function hiddenSummary(rows: BoardRow[]): string {
  const n = new Map<string, number>();
  for (const r of rows) n.set(STAGE_LABEL[r.stage], (n.get(STAGE_LABEL[r.stage]) ?? 0) + 1);
  return [...n].map(([label, count]) => `${count} ${label}`).join(", ");
}
