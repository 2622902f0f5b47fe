// The CI gate: compare a run with a saved result and name every figure that got worse by more than allowed.
import type { BenchResult, Regression, RegressionReport } from "./types.js";

export type BaselineFigures = Pick<BenchResult, "throughput_rps" | "latency_ms"> &
  Partial<Pick<BenchResult, "subject" | "mode">>;

/** `10%`, `10` or `2.5%` as a percentage. */
export function parsePercent(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*%?$/.exec(text.trim());
  return m ? Number(m[1]) : undefined;
}

/** Throughput may not fall, and p99 may not rise, by more than maxPct percent. */
export function compareWithBaseline(
  current: BaselineFigures,
  baseline: BaselineFigures,
  maxPct: number,
  file: string,
): RegressionReport {
  const compared: Regression[] = [];
  if (baseline.throughput_rps > 0) {
    compared.push({
      figure: "throughput_rps",
      baseline: baseline.throughput_rps,
      current: current.throughput_rps,
      worse_by_pct: pct((baseline.throughput_rps - current.throughput_rps) / baseline.throughput_rps),
    });
  }
  if (baseline.latency_ms.p99 > 0) {
    compared.push({
      figure: "latency_ms.p99",
      baseline: baseline.latency_ms.p99,
      current: current.latency_ms.p99,
      worse_by_pct: pct((current.latency_ms.p99 - baseline.latency_ms.p99) / baseline.latency_ms.p99),
    });
  }
  const regressed = compared.filter((c) => c.worse_by_pct > maxPct);
  return { baseline_file: file, max_regression_pct: maxPct, ok: regressed.length === 0, regressed, compared };
}

/** One line per regressed figure: `throughput_rps regressed 23.4% (12000 -> 9190 req/s), more than the allowed 10%`. */
export function describeRegression(r: Regression, maxPct: number): string {
  const unit = r.figure === "throughput_rps" ? " req/s" : " ms";
  return `${r.figure} regressed ${r.worse_by_pct}% (${r.baseline} -> ${r.current}${unit}), more than the allowed ${maxPct}%`;
}

const pct = (x: number) => Math.round(x * 1000) / 10;
