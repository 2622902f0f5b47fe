// One line of the dashboard as text with ANSI styles, from styled pieces: what fleet-lines.ts and
// nats-section.ts build their lines with (and the Ink view prints as they are).
import type { Colour } from "./theme.js";

export interface TextStyle {
  color?: Colour;
  bold?: boolean;
  dim?: boolean;
  inverse?: boolean;
}

/** A piece of a line and its style. */
export type Segment = readonly [text: string, style?: TextStyle];

const FG: Record<Colour, number> = { red: 31, green: 32, yellow: 33, magenta: 35, cyan: 36, gray: 90 };

export function styled(text: string, s: TextStyle = {}): string {
  if (!text) return text;
  let open = "";
  let close = "";
  if (s.color) [open, close] = [`\u001b[${FG[s.color]}m`, "\u001b[39m"];
  if (s.bold) [open, close] = [`${open}\u001b[1m`, `\u001b[22m${close}`];
  if (s.dim) [open, close] = [`${open}\u001b[2m`, `\u001b[22m${close}`];
  if (s.inverse) [open, close] = [`${open}\u001b[7m`, `\u001b[27m${close}`];
  return open + text + close;
}

/** One line from its segments, cut to `width` columns (ending in "…" when cut), trailing blanks dropped. */
export function renderLine(segments: readonly Segment[], width: number): string {
  let left = width;
  let out = "";
  for (let i = 0; i < segments.length && left > 0; i++) {
    const [text, style] = segments[i]!;
    const rest = segments.slice(i + 1).reduce((n, [t]) => n + t.length, 0);
    const cut = text.length > left || (text.length === left && rest > 0);
    const piece = cut ? (left > 1 ? `${text.slice(0, left - 1)}…` : text.slice(0, left)) : text;
    left -= piece.length;
    out += styled(i === segments.length - 1 || cut ? piece.trimEnd() : piece, style);
    if (cut) break;
  }
  return out;
}
