// The detail of one service: its instances with their own stats, deployments, recent events,
// stopped instances and why, and the last log lines. Sections are cut to the terminal's height.
import type { ReactNode } from "react";
import { Box, Text } from "ink";
import type { ServiceDetail } from "../status/fleet-snapshot.js";
import { fit, formatAge, formatMs, formatPercent, formatRate } from "./fleet-columns.js";
import { clock } from "../status/watch-output.js";
import { HEALTH_LABEL, HEALTH_MARK, type Theme } from "./theme.js";

const num = (x: number | null | undefined) => (x === null || x === undefined ? "-" : String(x));

type LineStyle = { color?: ReturnType<Theme["of"]>; dim?: boolean; bold?: boolean };

/** Adds one line to `out`, keyed `prefix` + its index; with `width`, longer text is cut there. */
function lineWriter(out: ReactNode[], prefix: string, width?: number) {
  return (s: string, opts: LineStyle = {}) =>
    out.push(
      <Text key={`${prefix}${out.length}`} wrap="truncate" color={opts.color} dimColor={opts.dim} bold={opts.bold}>
        {width !== undefined && s.length > width ? s.slice(0, width) : s || " "}
      </Text>,
    );
}

function table(headers: string[], rows: string[][], right: number[]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => fit(c, widths[i]!, right.includes(i) ? "right" : "left"))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}

/** The services log JSON lines: show level, message and the fields that are not on every line. */
export function readableLog(text: string): string {
  if (!text.startsWith("{")) return text;
  try {
    const {
      ts: _ts,
      level,
      msg,
      service: _s,
      instance: _i,
      version: _v,
      ...rest
    } = JSON.parse(text) as Record<string, unknown>;
    if (typeof msg !== "string") return text;
    const extra = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
    return [level, msg, ...extra].filter(Boolean).join(" ");
  } catch {
    return text;
  }
}

export function ServiceDetailView(props: {
  detail: ServiceDetail;
  now: number;
  width: number;
  height: number;
  th: Theme;
  keys: boolean;
}) {
  const { detail: d, now, width, th } = props;
  const r = d.row;
  const lines: ReactNode[] = [];
  const add = (node: ReactNode) => lines.push(node);
  const text = lineWriter(lines, "", width);
  const section = (title: string) => text(title, { bold: true });

  add(
    <Text key="title" wrap="truncate">
      <Text bold>{r.name}</Text>
      {"  "}
      <Text color={th.health(r.health)}>{`${HEALTH_MARK[r.health]} ${HEALTH_LABEL[r.health]}`}</Text>
      {r.why ? `  ${r.why}` : ""}
    </Text>,
  );
  text(
    `version ${r.version ?? "-"}  desired ${num(r.desired)}  running ${num(r.running)}  pending ${num(r.pending)}  restarts ${num(r.restarts)}  ` +
      `answering ${r.responding === null ? "NATS down" : r.responding}  req/s ${formatRate(r.rps)}  errors ${formatPercent(r.errorRate)}  avg ${formatMs(r.avgMs)}  p50 ${formatMs(r.p50Ms)}  p99 ${formatMs(r.p99Ms)}`,
    { dim: true },
  );
  text("");
  section("INSTANCES");
  const inst = table(
    ["ID", "STATE", "VERSION", "PID", "NATS", "REQ/S", "ERR%", "P50", "P99", "REQUESTS", "UP"],
    d.instances.map((i) => [
      i.id,
      i.state,
      i.version,
      num(i.pid),
      i.answering === null ? "?" : i.answering ? "yes" : "silent",
      formatRate(i.rps),
      formatPercent(i.errorRate),
      formatMs(i.p50Ms),
      formatMs(i.p99Ms),
      num(i.requests),
      i.startedAt ? formatAge(now - Date.parse(i.startedAt)) : "-",
    ]),
    [3, 5, 6, 7, 8, 9, 10],
  );
  inst.forEach((l, i) =>
    text(l, { dim: i === 0, color: i > 0 && d.instances[i - 1]!.answering === false ? th.of("yellow") : undefined }),
  );
  if (!d.instances.length) text("(none)", { dim: true });

  // per endpoint, over every instance: where in the service the time goes
  if (d.endpoints.length) {
    text("");
    section("ENDPOINTS (last minute)");
    table(
      ["SUBJECT", "REQUESTS", "ERRORS", "P50", "P99", "MAX"],
      d.endpoints.map((e) => [
        e.subject,
        String(e.latency.requests),
        String(e.latency.errors),
        formatMs(e.latency.p50Ms),
        formatMs(e.latency.p99Ms),
        formatMs(e.latency.maxMs),
      ]),
      [1, 2, 3, 4, 5],
    ).forEach((l, i) => text(l, { dim: i === 0 }));
  }

  const active = d.deployments.filter((x) => x.status !== "INACTIVE" || x.rolloutState === "FAILED").slice(0, 3);
  if (active.length) {
    text("");
    section("DEPLOYMENTS");
    for (const x of active) {
      const failed = x.rolloutState === "FAILED";
      text(
        `${x.id}  ${x.status.padEnd(8)} ${x.rolloutState.padEnd(11)} ${x.artifact.version}  ${x.running}/${x.desired} running${x.failed ? `, ${x.failed} failed` : ""}${x.reason ? ` — ${x.reason}` : ""}`,
        {
          color: failed ? th.of("red") : x.rolloutState === "IN_PROGRESS" ? th.of("cyan") : undefined,
        },
      );
    }
  }

  const tail: ReactNode[] = [];
  const tailText = lineWriter(tail, "t");
  tailText("");
  tailText("RECENT EVENTS", { bold: true });
  for (const e of d.events.slice(-6)) tailText(`${clock(Date.parse(e.at))}  ${e.message}`);
  if (!d.events.length) tailText("(none)", { dim: true });
  if (d.stopped.length) {
    tailText("");
    tailText("STOPPED", { bold: true });
    for (const s of d.stopped.slice(-4)) {
      const exit = s.exitCode !== null ? `exit ${s.exitCode}` : s.signal ? s.signal : "";
      tailText(`${clock(Date.parse(s.stoppedAt))}  ${s.id}  ${exit}  ${s.reason}`, { color: th.of("yellow") });
      const last = s.lastLines.at(-1);
      if (last) tailText(`          ${readableLog(last)}`, { dim: true });
    }
  }
  tailText("");
  tailText(`LOGS${d.logsError ? ` (${d.logsError})` : ""}`, { bold: true });
  for (const l of d.logs)
    tailText(`${l.at ? clock(Date.parse(l.at)) : "--:--:--"}  ${l.instance} | ${readableLog(l.text)}`, { dim: true });
  if (!d.logs.length) tailText(d.logsError ? "(unavailable)" : "(no lines in the last 30m)", { dim: true });

  // the instances first; events, stops and logs give way from the end when the terminal is short
  const room = Math.max(3, props.height - 2);
  const all = [...lines, ...tail].slice(0, room);
  return (
    <Box flexDirection="column">
      {all}
      <Text> </Text>
      <Text dimColor>{props.keys ? "esc back · q quit" : "ctrl-c quits"}</Text>
    </Box>
  );
}
