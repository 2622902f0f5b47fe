// Reading DATA for request/publish: JSON from the argument, a file or stdin, with line:column on errors;
// and --header pairs, as a record and as NATS headers. The bench worker bundle loads this module
// (toNatsHeaders): keep its imports light (no protobufjs, no proto registry).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { headers as natsHeaders, type MsgHdrs } from "@nats-io/transport-node";
import type { ParseError } from "jsonc-parser";
import { UsageError } from "../output/errors.js";

export interface DataInput {
  /** DATA argument */
  arg?: string;
  /** --data-file; `-` is stdin */
  file?: string;
  readStdin?: () => Buffer;
}

/** The raw bytes of DATA (empty when none was given). */
export function readData(input: DataInput): Buffer {
  if (input.arg !== undefined && input.file !== undefined) throw new UsageError("give DATA or --data-file, not both");
  if (input.file === "-") return (input.readStdin ?? (() => readFileSync(0)))();
  if (input.file !== undefined) {
    try {
      return readFileSync(input.file);
    } catch (err) {
      throw new UsageError(
        `cannot read --data-file ${input.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        "check the path",
      );
    }
  }
  return Buffer.from(input.arg ?? "", "utf8");
}

/** Parse DATA as JSON; an empty DATA is `{}`. Errors name the line and column. */
export function parseJsonData(bytes: Buffer, source = "DATA"): unknown {
  const text = bytes.toString("utf8");
  if (text.trim() === "") return {};
  if (text.includes("\u0000") || !Buffer.from(text, "utf8").equals(bytes)) {
    throw new UsageError(`${source} is not valid JSON: it contains binary data`, "use --raw to send bytes as they are");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // only bad JSON pays for loading the parser that locates the error
    const { parse: parseLenient, printParseErrorCode } = createRequire(import.meta.url)(
      "jsonc-parser",
    ) as typeof import("jsonc-parser");
    const errors: ParseError[] = [];
    try {
      parseLenient(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
    } catch {
      // the locating parser recurses: hostile nesting overflows its stack; JSON.parse's message will do
      errors.length = 0;
    }
    const first = errors[0];
    if (!first) throw new UsageError(`${source} is not valid JSON: ${(err as Error).message}`);
    const { line, column } = lineColumn(text, first.offset);
    const near = text.slice(first.offset, first.offset + 16).split("\n")[0];
    throw new UsageError(
      `${source} is not valid JSON at line ${line}, column ${column}: ${describeCode(printParseErrorCode(first.error))}${near ? ` near ${JSON.stringify(near)}` : ""}`,
      "fix the JSON (keys and strings need double quotes)",
    );
  }
  const depth = nestingDepth(value);
  if (depth > MAX_DATA_DEPTH) {
    throw new UsageError(
      `${source} is nested ${depth} levels deep; at most ${MAX_DATA_DEPTH} are accepted`,
      "flatten the JSON: no protobuf message of the fleet nests that deep",
    );
  }
  return value;
}

/** Deeper JSON cannot be a fleet message, and encoding it would recurse past the stack. */
export const MAX_DATA_DEPTH = 100;

/** How deeply arrays and objects nest in `value`, counted without recursion (stops past the limit). */
function nestingDepth(value: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (d + 1 > max) max = d + 1;
    if (max > MAX_DATA_DEPTH) return max;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}

function describeCode(code: string): string {
  return code.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const column = offset - before.lastIndexOf("\n");
  return { line, column };
}

/** `K=V` header flags into a record. */
export function parseHeaders(pairs: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf("=");
    if (i <= 0) throw new UsageError(`bad --header ${JSON.stringify(p)}: expected KEY=VALUE`);
    out[p.slice(0, i).trim()] = p.slice(i + 1);
  }
  return out;
}

/** A record of headers as NATS headers; undefined when there are none (so nothing is sent). */
export function toNatsHeaders(record: Record<string, string> = {}): MsgHdrs | undefined {
  const entries = Object.entries(record);
  if (entries.length === 0) return undefined;
  const h = natsHeaders();
  for (const [k, v] of entries) h.set(k, v);
  return h;
}
