// `gs status --watch` on a terminal: the fleet table, live. Data comes from a FleetFeed (the polling
// store, or a fake in tests); this component only subscribes and renders. State changes are logged
// above the table in <Static>, so the live area stays the table.
import { useEffect, useReducer, useRef, useState } from "react";
import { Box, Static, Text, useApp, useInput, useStdin } from "ink";
import { SOURCES, type FleetSnapshot } from "../status/fleet-snapshot.js";
import type { FleetFeed } from "../status/fleet-store.js";
import { ChangeLog } from "../status/watch-output.js";
import { headerHeight, headerLines, listFrame } from "./fleet-lines.js";
import { currentRow, initialView, onKey } from "./dashboard-keys.js";
import { ServiceDetailView } from "./service-detail.js";
import { theme } from "./theme.js";
import { useTerminalSize } from "./terminal-size.js";

export interface DashboardProps {
  feed: FleetFeed;
  color: boolean;
  /** log state changes above the table (off in frame tests) */
  changeLog?: boolean;
}

/** What changes when a source brings news (not the ages, which move with the clock). */
function newsKey(s: FleetSnapshot): string {
  return `${s.natsDown} ${SOURCES.map((n) => `${s.sources[n].lastOkAt} ${s.sources[n].error}`).join(" ")}`;
}

interface Logged {
  id: number;
  text: string;
}

/** Lines that come styled from fleet-lines.ts: one <Text> per line costs Ink far less than one per cell. */
function Lines(props: { lines: string[] }) {
  return (
    <Box flexDirection="column">
      {props.lines.map((l, i) => (
        <Text key={i} wrap="truncate">
          {l || " "}
        </Text>
      ))}
    </Box>
  );
}

export function Dashboard({ feed, color, changeLog = true }: DashboardProps) {
  const { exit } = useApp();
  const { isRawModeSupported } = useStdin();
  const keys = isRawModeSupported === true;
  const { columns, rows } = useTerminalSize();
  const [, redraw] = useReducer((n: number) => n + 1, 0);
  const [state, dispatch] = useReducer(onKey, initialView);
  const [logged, setLogged] = useState<Logged[]>([]);
  const changes = useRef(new ChangeLog({ totals: false }));
  const primed = useRef(false);
  const rendered = useRef("");

  useEffect(() => {
    const unsubscribe = feed.subscribe(() => {
      redraw();
      if (!changeLog) return;
      const snap = feed.snapshot();
      if (snap.lastPollAt === null) return;
      const lines = changes.current.next(snap);
      // the first full poll only primes the log: the table already shows the starting state
      if (!primed.current) {
        primed.current = true;
        return;
      }
      if (lines.length) setLogged((l) => [...l, ...lines.map((text, i) => ({ id: l.length + i, text }))]);
    });
    // news that came between the first render and this subscription
    if (newsKey(feed.snapshot()) !== rendered.current) redraw();
    return unsubscribe;
  }, [feed, changeLog]);

  const snap = feed.snapshot();
  rendered.current = newsKey(snap);
  const { view } = state;
  const current = currentRow(state, snap.services);
  useEffect(() => feed.focus(view === "detail" ? current : undefined), [feed, view, current]);
  useEffect(() => {
    if (state.quit) exit();
  }, [state.quit, exit]);
  useInput((input, key) => dispatch({ input, key, rows: feed.snapshot().services }), { isActive: keys });

  const th = theme(color);
  const width = Math.max(20, columns - 1);
  const detail = view === "detail" && current ? feed.detail(current) : undefined;
  const header = detail ? headerLines(snap, width, th) : [];

  return (
    <>
      <Static items={logged}>{(l) => <Text key={l.id}>{l.text}</Text>}</Static>
      <Box flexDirection="column" width={width}>
        {detail ? (
          <>
            <Lines lines={[...header, ""]} />
            <ServiceDetailView
              detail={detail}
              now={snap.at}
              width={width}
              height={rows - headerHeight(header) - 1}
              th={th}
              keys={keys}
            />
          </>
        ) : (
          <Lines lines={listFrame({ snap, view: state, selected: current, columns, rows, keys, th })} />
        )}
      </Box>
    </>
  );
}
