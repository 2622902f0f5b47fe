// `gs status` (one-shot) as text: the services table, then the notes under it. A view that could not
// be read shows as `n/a` in its columns, with the reason in one note line.
import { formatDuration, renderTable } from "../output/format.js";
import type { StatusReport } from "./status.js";

/** what a column of a view that could not be read shows */
export const UNAVAILABLE = "n/a";

export function statusTable(r: StatusReport): string {
  const platform = (x: number | string | null) => (!r.platform.available ? UNAVAILABLE : x === null ? "-" : x);
  const nats = (x: number | string | null) => (!r.natsView.available ? UNAVAILABLE : x === null ? "-" : x);
  const ms = (x: number | null) => nats(x === null ? null : formatDuration(x));
  return renderTable(
    ["SERVICE", "DESIRED", "RUNNING", "PENDING", "RESPONDING", "RESTARTS", "VERSION", "STATE", "P50", "P99"],
    r.services.map((s) => [
      s.name,
      platform(s.desired),
      platform(s.running),
      platform(s.pending),
      nats(s.responding),
      platform(s.restarts),
      s.version ?? "-",
      platform(s.state),
      ms(s.p50Ms),
      ms(s.p99Ms),
    ]),
  );
}

/** The totals, then why a view is missing. */
export function statusNotes(r: StatusReport): string[] {
  const t = r.totals;
  const lines = [
    r.platform.available
      ? `${t.healthy}/${t.services} services healthy, ${t.running}/${t.desired} instances running (target ${r.target})`
      : `${t.services} services answer on NATS (target ${r.target})`,
  ];
  if (!r.platform.available) lines.push(`platform unavailable: ${r.platform.reason} — showing what NATS sees only`);
  if (!r.natsView.available) lines.push(`NATS unavailable: ${r.natsView.reason} — showing the platform's view only`);
  return lines;
}
