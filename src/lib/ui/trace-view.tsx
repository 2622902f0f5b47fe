// `gs trace` on a terminal: the waterfall, growing as spans come, its last frame kept. Loaded only on
// that path (trace-live.ts mounts it through live-output.ts); it takes no keys, so Ctrl-C reaches the
// command as SIGINT, which ends collection and keeps what came.
import { Box, Text } from "ink";
import { formatDuration } from "../output/format.js";
import {
  barOf,
  headline,
  shortInstance,
  statusText,
  type TraceSummary,
  type WaterfallRow,
} from "../trace/waterfall.js";
import { useTerminalSize } from "./terminal-size.js";
import { theme, type Theme } from "./theme.js";

export interface TraceViewProps {
  summary: TraceSummary | undefined;
  rows: readonly WaterfallRow[];
  /** ms across the bars: the end of the last span */
  total_ms: number;
  /** spans may still come, or the trace is final */
  phase: "collecting" | "done";
  color: boolean;
}

/** the narrowest bar area drawn, however narrow the terminal (Ink truncates the line) */
export const MIN_BAR = 12;

export function TraceView({ summary, rows, total_ms, phase, color }: TraceViewProps) {
  const { columns } = useTerminalSize();
  const th = theme(color);
  if (!summary) return null;
  const label = (r: WaterfallRow) => `${"  ".repeat(r.depth)}${r.kind === "publish" ? "publish " : ""}${r.subject}`;
  const who = (r: WaterfallRow) => (r.service === "gs" ? "gs" : `${r.service} ${shortInstance(r.instance)}`);
  const dur = (r: WaterfallRow) => formatDuration(r.duration_ms);
  const widest = (f: (r: WaterfallRow) => string) => Math.max(0, ...rows.map((r) => f(r).length));
  // labels, who served and the duration take at most two thirds of the width; the bars get the rest
  const wd = widest(dur);
  const wl = Math.max(10, Math.min(widest(label), Math.floor(columns * 0.4)));
  const ww = Math.max(6, Math.min(widest(who), Math.floor(columns * 0.25)));
  const bar = Math.max(MIN_BAR, columns - wl - ww - wd - 6);
  return (
    <Box flexDirection="column">
      <Text wrap="truncate">
        <Text bold={th.color}>{headline(summary)}</Text>
        {phase === "collecting" && <Text color={th.of("gray")}>{"  collecting spans…"}</Text>}
      </Text>
      {rows.map((r, i) => (
        <Row key={i} r={r} widths={[wl, ww, wd, bar]} total={total_ms} th={th} text={[label(r), who(r), dur(r)]} />
      ))}
      {rows.some((r) => r.status === "error") && <Errors rows={rows} th={th} />}
      <Text color={th.of("gray")} wrap="truncate">
        {`█ served  ░ caller waiting  ${formatDuration(total_ms)} across`}
      </Text>
    </Box>
  );
}

function Row(props: {
  r: WaterfallRow;
  widths: [number, number, number, number];
  total: number;
  th: Theme;
  text: [string, string, string];
}) {
  const { r, th, total } = props;
  const [wl, ww, wd, width] = props.widths;
  const [label, who, dur] = props.text;
  const b = barOf(r, total, width);
  const tone = r.status === "error" ? th.of("red") : r.kind === "publish" ? th.of("cyan") : th.of("green");
  return (
    <Text wrap="truncate">
      {fit(label, wl)}
      {"  "}
      <Text color={th.of("gray")}>{fit(who, ww)}</Text>
      {"  "}
      {dur.padStart(wd)}
      {"  "}
      {" ".repeat(b.lead)}
      <Text color={th.of("gray")}>{"░".repeat(b.before)}</Text>
      <Text color={tone}>{"█".repeat(b.body)}</Text>
      <Text color={th.of("gray")}>{"░".repeat(b.after)}</Text>
      {r.orphan && <Text color={th.of("yellow")}>{"  parent span missing"}</Text>}
    </Text>
  );
}

/** The error rows again, with their codes and messages, under the waterfall where they fit. */
function Errors({ rows, th }: { rows: readonly WaterfallRow[]; th: Theme }) {
  return (
    <Box flexDirection="column">
      {rows
        .filter((r) => r.status === "error")
        .map((r, i) => (
          <Text key={i} wrap="truncate" color={th.of("red")}>
            {`✖ ${r.subject} (${r.service}): ${statusText(r)}`}
          </Text>
        ))}
    </Box>
  );
}

/** `s` padded or cut to `n` columns, an ellipsis marking the cut. */
function fit(s: string, n: number): string {
  return s.length <= n ? s.padEnd(n) : `${s.slice(0, Math.max(0, n - 1))}…`;
}
