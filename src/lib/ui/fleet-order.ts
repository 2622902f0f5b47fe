// Which rows the dashboard lists, in which order: the name filter and the sort the `s` key cycles.
import { HEALTH_RANK, type ServiceRow } from "../status/fleet-snapshot.js";

export const SORTS = ["name", "state", "req/s", "errors"] as const;
export type SortKey = (typeof SORTS)[number];

export function nextSort(s: SortKey): SortKey {
  return SORTS[(SORTS.indexOf(s) + 1) % SORTS.length]!;
}

const desc = (a: number | null, b: number | null) => (b ?? -1) - (a ?? -1);

export function orderRows(rows: ServiceRow[], sort: SortKey, filter: string): ServiceRow[] {
  const f = filter.trim().toLowerCase();
  const shown = f ? rows.filter((r) => r.name.toLowerCase().includes(f)) : [...rows];
  const byName = (a: ServiceRow, b: ServiceRow) => a.name.localeCompare(b.name);
  const cmp: Record<SortKey, (a: ServiceRow, b: ServiceRow) => number> = {
    name: byName,
    state: (a, b) => HEALTH_RANK[a.health] - HEALTH_RANK[b.health] || byName(a, b),
    "req/s": (a, b) => desc(a.rps, b.rps) || byName(a, b),
    errors: (a, b) => desc(a.errorRate, b.errorRate) || desc(a.rps, b.rps) || byName(a, b),
  };
  return shown.sort(cmp[sort]);
}
