// The live view of `gs deploy --canary` on a terminal: per service, canary vs baseline (requests, error
// rate, p99) over the analysis so far, its progress through the window, and the verdict so far or the
// final one. Renders CanaryBoard snapshots; canary-live.ts mounts it through live-output.ts.
import { Box, Text } from "ink";
import type { CanaryPhase, CanaryRow, CanarySnapshot } from "../canary/canary-board.js";
import type { GroupFigures } from "../canary/canary-stats.js";
import { formatDuration } from "../output/format.js";
import { fit, progressBar } from "./fleet-columns.js";
import { useTerminalSize } from "./terminal-size.js";
import { theme, type Colour } from "./theme.js";

export interface CanaryViewProps {
  state: CanarySnapshot;
  color: boolean;
}

const PHASE_COLOUR: Record<CanaryPhase, Colour> = {
  waiting: "gray",
  starting: "cyan",
  analysing: "cyan",
  promoting: "cyan",
  promoted: "green",
  unchanged: "gray",
  aborted: "yellow",
  rolled_back: "yellow",
  failed: "red",
  not_started: "yellow",
};

const rate = (g?: GroupFigures) => (g?.errorRate == null ? "-" : `${(g.errorRate * 100).toFixed(2)}%`);
const p99 = (g?: GroupFigures) => (g?.p99Ms == null ? "-" : formatDuration(g.p99Ms));
const COLUMNS = ["SERVICE", "PHASE", "WINDOW", "CANARY req", "err", "p99", "BASELINE req", "err", "p99"];

function cells(r: CanaryRow): string[] {
  const c = r.figures?.canary;
  const b = r.figures?.baseline;
  const windowText = r.windowMs ? `${formatDuration(r.elapsedMs)}/${formatDuration(r.windowMs)}` : "-";
  return [
    r.service,
    r.phase.replace("_", " "),
    windowText,
    String(c?.requests ?? "-"),
    rate(c),
    p99(c),
    String(b?.requests ?? "-"),
    rate(b),
    p99(b),
  ];
}

export function CanaryView({ state, color }: CanaryViewProps) {
  const { columns } = useTerminalSize();
  const th = theme(color);
  const rows = state.rows.map(cells);
  const widths = COLUMNS.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return (
    <Box flexDirection="column">
      <Text bold={th.color} wrap="truncate">{`gs deploy --canary · target ${state.target}`}</Text>
      <Text color={th.of("gray")} wrap="truncate">
        {line(COLUMNS)}
      </Text>
      {state.rows.map((r, i) => (
        <Box key={r.service} flexDirection="column">
          <Text wrap="truncate">
            <Text color={th.of(PHASE_COLOUR[r.phase])}>{line(rows[i]!)}</Text>
            {r.phase === "analysing" && r.windowMs > 0 && (
              <Text color={th.of("cyan")}>{`  ${progressBar(r.elapsedMs, r.windowMs, 12)}`}</Text>
            )}
          </Text>
          {r.note && (
            <Text color={th.of("gray")} wrap="truncate">
              {`  ${fit(r.note, Math.max(20, columns - 2)).trimEnd()}`}
            </Text>
          )}
        </Box>
      ))}
    </Box>
  );
}
