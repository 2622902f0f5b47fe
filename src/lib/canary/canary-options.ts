// What a canary deploy is asked for: how many canary instances (N, or P% of the desired count), how long
// the analysis runs and the limits that judge it, from the flags, else the service's `canary:` in
// gs.yaml, else the defaults below. Every check here runs before anything starts.
import type { CanaryDefaults } from "../config/schema.js";
import { UsageError } from "../output/errors.js";
import { formatDuration, parseDuration } from "../output/format.js";

/** `--canary 1` (instances) or `--canary 25%` (of the desired count, rounded up). */
export type CanaryCount = { instances: number } | { percent: number };

/** What `--canary` asked for: a count, or (the flag without a value) each service's `canary.size` in gs.yaml, else 1. */
export type CanaryAsk = CanaryCount | { fromConfig: true };

/** The value a bare `--canary` stands for (see withOptionalValue). */
export const CANARY_FROM_CONFIG = "from-config";

/** The flag's value: a count, or CANARY_FROM_CONFIG. */
export function parseCanaryAsk(text: string): CanaryAsk {
  return text === CANARY_FROM_CONFIG ? { fromConfig: true } : parseCanaryCount(text);
}

/** One service's count: the flag's, else its gs.yaml `canary.size`, else 1 instance. */
export function resolveCanaryCount(ask: CanaryAsk, service: CanaryDefaults | undefined): CanaryCount {
  if (!("fromConfig" in ask)) return ask;
  return service?.size === undefined ? { instances: 1 } : parseCanaryCount(String(service.size));
}

/** The limits of one service's analysis, resolved. */
export interface CanarySettings {
  analysisMs: number;
  /** a fraction: 0.01 is 1% */
  maxErrorRate: number;
  maxP99Ratio: number;
  minRequests: number;
  promoteOnNoTraffic: boolean;
  /** how often $SRV.STATS is read */
  sampleMs: number;
}

export const CANARY_DEFAULTS = {
  analysisMs: 120_000,
  maxErrorRate: 0.01,
  maxP99Ratio: 1.5,
  minRequests: 200,
  promoteOnNoTraffic: false,
  sampleMs: 2_000,
} as const satisfies CanarySettings;

const COUNT_HINT = "pass a number of instances (e.g. --canary 1) or a percent of the desired count (e.g. --canary 25%)";

export function parseCanaryCount(text: string): CanaryCount {
  const t = text.trim();
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(t);
  if (pct) {
    const percent = Number(pct[1]);
    if (percent > 0 && percent < 100) return { percent };
    throw new UsageError(`bad canary percent "${text}": expected more than 0% and less than 100%`, COUNT_HINT);
  }
  if (/^\d+$/.test(t) && Number(t) >= 1) return { instances: Number(t) };
  throw new UsageError(`bad canary count "${text}"`, COUNT_HINT);
}

/** `1%`, `0.5%` -> 0.01, 0.005 */
export function parsePercent(text: string): number {
  const m = /^(\d+(?:\.\d+)?)%$/.exec(text.trim());
  const value = m ? Number(m[1]) : NaN;
  if (!(value >= 0 && value <= 100))
    throw new UsageError(`bad percent "${text}": use e.g. 1% or 0.5%`, undefined, "bad_percent");
  return value / 100;
}

export function parseRatio(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 1 || text.trim() === "")
    throw new UsageError(`bad ratio "${text}": use a number of at least 1, e.g. 1.5`, undefined, "bad_ratio");
  return value;
}

/** A duration from gs.yaml (the flags parse their own). */
export function parseAnalysis(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0)
    throw new UsageError(`bad analysis window "${text}": use e.g. 30s, 2m`, undefined, "bad_duration");
  return ms;
}

/** Flags win over the service's gs.yaml, which wins over the defaults. */
export function resolveCanarySettings(
  flags: Partial<CanarySettings>,
  service: CanaryDefaults | undefined,
  sampleMs: number = CANARY_DEFAULTS.sampleMs,
): CanarySettings {
  const s = service ?? {};
  const settings: CanarySettings = {
    analysisMs: flags.analysisMs ?? (s.analysis ? parseAnalysis(s.analysis) : CANARY_DEFAULTS.analysisMs),
    maxErrorRate: flags.maxErrorRate ?? (s.maxErrorRate ? parsePercent(s.maxErrorRate) : CANARY_DEFAULTS.maxErrorRate),
    maxP99Ratio: flags.maxP99Ratio ?? s.maxP99Ratio ?? CANARY_DEFAULTS.maxP99Ratio,
    minRequests: flags.minRequests ?? s.minRequests ?? CANARY_DEFAULTS.minRequests,
    promoteOnNoTraffic: flags.promoteOnNoTraffic ?? s.promoteOnNoTraffic ?? CANARY_DEFAULTS.promoteOnNoTraffic,
    sampleMs,
  };
  // one reading of $SRV.STATS is the starting point; judging needs at least one more
  if (settings.analysisMs < 2 * sampleMs)
    throw new UsageError(
      `analysis window ${formatDuration(settings.analysisMs)} is shorter than two polls of $SRV.STATS (every ${formatDuration(sampleMs)})`,
      `pass --analysis ${formatDuration(2 * sampleMs)} or more`,
      "analysis_too_short",
    );
  return settings;
}

/** The canary instances of a service that runs `desired`: fewer than desired, at least one. */
export function canaryInstances(count: CanaryCount, service: string, desired: number): number {
  const n = "instances" in count ? count.instances : Math.max(1, Math.ceil((desired * count.percent) / 100));
  if (n >= desired)
    throw new UsageError(
      `${service} runs ${desired} instance${desired === 1 ? "" : "s"}: a canary of ${n} would be as large as the service`,
      desired > 1
        ? `pass --canary ${desired - 1} or less, or scale ${service} up first (\`gs scale ${service} ${n + 1}\`)`
        : `scale ${service} up first (\`gs scale ${service} 2\`) or deploy without --canary`,
      "canary_too_large",
    );
  // RunTask starts at most 10 tasks per call
  if (n > 10) throw new UsageError(`a canary of ${n} instances is more than 10`, "pass --canary 10 or less");
  return n;
}
