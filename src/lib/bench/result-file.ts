// Saved results: --out writes one, --baseline reads one back.
import { readFileSync, writeFileSync } from "node:fs";
import { UsageError } from "../output/errors.js";
import type { BaselineFigures } from "./compare.js";
import type { BenchResult } from "./types.js";

export function writeResult(file: string, result: BenchResult): void {
  try {
    writeFileSync(file, JSON.stringify(result, null, 2) + "\n");
  } catch (err) {
    throw new UsageError(
      `cannot write --out ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      "check the path",
    );
  }
}

export function readBaseline(file: string): BaselineFigures {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      `cannot read --baseline ${file}: ${code ?? (err as Error).message}`,
      "save one with `gs bench ... --out FILE`",
    );
  }
  const d = doc as Partial<BenchResult> | null;
  if (typeof d?.throughput_rps !== "number" || typeof d.latency_ms?.p99 !== "number") {
    throw new UsageError(
      `--baseline ${file} is not a gs bench result (it needs throughput_rps and latency_ms.p99)`,
      "save one with `gs bench ... --out FILE`",
    );
  }
  return d as BaselineFigures;
}
