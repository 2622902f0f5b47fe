// What each key does, as a reducer over the dashboard's view state: keys that arrive together in one
// read (a fast typist, a paste, tmux send-keys) each see the state the previous one left.
import type { Key } from "ink";
import type { ServiceRow } from "../status/fleet-snapshot.js";
import { nextSort, orderRows, type SortKey } from "./fleet-order.js";

export interface ViewState {
  view: "list" | "detail";
  /** the selected service's name (kept by name, so a re-sort keeps it) */
  selected?: string;
  sort: SortKey;
  filter: string;
  filtering: boolean;
  quit: boolean;
}

export const initialView: ViewState = { view: "list", sort: "name", filter: "", filtering: false, quit: false };

export interface KeyAction {
  input: string;
  key: Partial<Key>;
  rows: ServiceRow[];
}

/** The selected row among those shown: the remembered one if still shown, else the first. */
export function currentRow(s: ViewState, rows: ServiceRow[]): string | undefined {
  const shown = orderRows(rows, s.sort, s.filter);
  return shown.find((r) => r.name === s.selected)?.name ?? shown[0]?.name;
}

export function onKey(s: ViewState, { input, key, rows }: KeyAction): ViewState {
  // Ink hands over plain characters that arrived in one read as one string
  if (input.length > 1 && !key.ctrl && !key.meta)
    return [...input].reduce((st, ch) => onKey(st, { input: ch, key: {}, rows }), s);
  if (s.filtering) {
    if (key.return) return { ...s, filtering: false };
    if (key.escape) return { ...s, filter: "", filtering: false };
    if (key.backspace || key.delete) return { ...s, filter: s.filter.slice(0, -1) };
    if (input && !key.ctrl && !key.meta && /^[\w .-]+$/.test(input)) return { ...s, filter: s.filter + input };
    return s;
  }
  if (input === "q") return { ...s, quit: true };
  if (s.view === "detail") return key.escape || key.leftArrow || key.backspace ? { ...s, view: "list" } : s;
  const shown = orderRows(rows, s.sort, s.filter);
  const current = currentRow(s, rows);
  const at = Math.max(
    0,
    shown.findIndex((r) => r.name === current),
  );
  const move = (n: number): ViewState => ({
    ...s,
    selected: shown[Math.max(0, Math.min(shown.length - 1, at + n))]?.name,
  });
  if (key.upArrow || input === "k") return move(-1);
  if (key.downArrow || input === "j") return move(1);
  if (key.pageUp) return move(-10);
  if (key.pageDown) return move(10);
  if (key.return) return current ? { ...s, selected: current, view: "detail" } : s;
  if (input === "/") return { ...s, filtering: true };
  if (input === "s") return { ...s, sort: nextSort(s.sort) };
  if (key.escape) return { ...s, filter: "" };
  return s;
}
