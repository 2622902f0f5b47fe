// `gs bench` on a terminal: a small live panel above where the report will go. Loaded only on that
// path (bench-live.ts mounts it through live-output.ts); it takes no keys, so stdin stays cooked
// and Ctrl-C reaches the command as SIGINT, which stops the run early and still reports.
import { useEffect, useReducer } from "react";
import { Box, Text } from "ink";
import type { BenchFeed, LiveFigures } from "../bench/bench-feed.js";
import { describeLoad } from "../bench/report.js";
import { formatCount, formatDuration } from "../output/format.js";
import { theme, type Theme } from "./theme.js";

export const BAR_WIDTH = 30;
const SPARKS = "▁▂▃▄▅▆▇█";

export interface BenchViewProps {
  feed: Pick<BenchFeed, "subscribe" | "figures">;
  color: boolean;
  /** redraw this often between snapshots, so the bar moves smoothly; 0: only on news */
  tickMs?: number;
}

export function BenchView({ feed, color, tickMs = 200 }: BenchViewProps) {
  const [, redraw] = useReducer((n: number) => n + 1, 0);
  useEffect(() => feed.subscribe(redraw), [feed]);
  useEffect(() => {
    if (tickMs <= 0) return;
    const t = setInterval(redraw, tickMs);
    return () => clearInterval(t);
  }, [tickMs]);
  const f = feed.figures();
  if (!f) return null;
  const th = theme(color);
  return (
    <Box flexDirection="column">
      <PlanLine f={f} th={th} />
      <PhaseLine f={f} th={th} />
      <RateLine f={f} th={th} />
      <CountsLine f={f} th={th} />
    </Box>
  );
}

function PlanLine({ f, th }: { f: LiveFigures; th: Theme }) {
  const p = f.plan;
  return (
    <Text wrap="truncate">
      <Text bold={th.color}>bench {p.subject}</Text>
      {`  ${describeLoad({ mode: p.mode, rate: p.rate ?? 0, concurrency: p.concurrency ?? 0, workers: p.workers, connections: p.connections })}`}
    </Text>
  );
}

const PHASE_COLOUR = { starting: "gray", "warm-up": "cyan", measuring: "green" } as const;

function PhaseLine({ f, th }: { f: LiveFigures; th: Theme }) {
  const colour = th.of(PHASE_COLOUR[f.phase]);
  if (f.phase === "starting") {
    return (
      <Text wrap="truncate">
        <Text color={colour}>{"starting "}</Text>
        <Text color={th.of("gray")}>{` ${"░".repeat(BAR_WIDTH)}`}</Text>
        {` workers starting${f.plan.warmupMs > 0 ? `, then ${formatDuration(f.plan.warmupMs)} warm-up` : ""}`}
      </Text>
    );
  }
  const warmingUp = f.phase === "warm-up";
  const label = warmingUp ? "warm-up  " : "measuring";
  const filled = f.fraction === undefined ? 0 : Math.max(0, Math.min(BAR_WIDTH, Math.round(f.fraction * BAR_WIDTH)));
  const when =
    f.requestsDone !== undefined && f.plan.plannedMs === undefined
      ? `${formatCount(f.requestsDone)}/${formatCount(f.plan.requests ?? 0)} requests`
      : `${formatDuration(f.phaseMs)}${f.phaseTotalMs !== undefined ? `/${formatDuration(f.phaseTotalMs)}` : ""}`;
  const pct = f.fraction === undefined ? "" : `  ${Math.floor(Math.min(1, f.fraction) * 100)}%`;
  return (
    <Text wrap="truncate">
      <Text color={colour}>{label}</Text>{" "}
      {f.fraction !== undefined && (
        <>
          <Text color={colour}>{(warmingUp ? "▒" : "█").repeat(filled)}</Text>
          <Text color={th.of("gray")}>{"░".repeat(BAR_WIDTH - filled)}</Text>{" "}
        </>
      )}
      {when}
      {pct}
      {warmingUp && <Text color={colour}>{"  (not measured)"}</Text>}
    </Text>
  );
}

function RateLine({ f, th }: { f: LiveFigures; th: Theme }) {
  const rps = f.rps === undefined ? "-" : formatCount(f.rps);
  const open = f.plan.mode === "open";
  return (
    <Text wrap="truncate">
      <Text color={f.behind ? th.of("yellow") : undefined} bold={th.color}>
        {rps}
      </Text>
      {open ? ` of ${formatCount(f.plan.rate ?? 0)} req/s` : " req/s"}
      {open && f.rateRatio !== undefined && (
        <Text color={f.behind ? th.of("yellow") : undefined}>{` (${Math.floor(f.rateRatio * 100)}%)`}</Text>
      )}
      {f.behind && <Text color={th.of("yellow")}>{`  ▲ behind by ${Math.ceil((1 - f.rateRatio!) * 100)}%`}</Text>}
      {f.history.length > 0 && <Text color={th.of("cyan")}>{`  ${sparkline(f.history)}`}</Text>}
    </Text>
  );
}

function CountsLine({ f, th }: { f: LiveFigures; th: Theme }) {
  const done = f.ok + f.errors;
  return (
    <Text wrap="truncate">
      {`ok ${formatCount(f.ok)}  `}
      <Text
        color={f.errors > 0 ? th.of("red") : undefined}
      >{`errors ${formatCount(f.errors)}${f.errors > 0 && done > 0 ? ` (${((f.errors / done) * 100).toFixed(1)}%)` : ""}`}</Text>
      {`  max ${f.maxMs === undefined ? "-" : formatDuration(f.maxMs)}`}
    </Text>
  );
}

/** One block per value, scaled from 0 to the largest shown. */
export function sparkline(values: number[]): string {
  const top = Math.max(0, ...values);
  return values
    .map(
      (v) =>
        SPARKS[top > 0 ? Math.min(SPARKS.length - 1, Math.round((Math.max(0, v) / top) * (SPARKS.length - 1))) : 0],
    )
    .join("");
}
