// The judgement of a canary from its figures and the baseline's, at each reading and at the end of the
// window. Rules, in order:
//   errors   the canary's error ratio above --max-error-rate: abort, judged at every reading once the
//            canary has --min-requests requests; before that, as soon as its errors alone exceed the
//            limit of --min-requests requests (no run of successes could bring it under).
//   p99      canary p99 / baseline p99 above --max-p99-ratio: abort, judged only when both groups have
//            --min-requests requests and more canary requests were slower than the limit than chance
//            explains (slowEnough: a p99 of a few hundred requests is a handful of them, and a fresh
//            process's GC pause or cold code is not a regression).
//            Differences under P99_FLOOR_MS are not judged (timer and scheduling noise on a fast rpc).
//            Before the end of the window only when conclusive: a tenth of the canary's requests slower.
//   traffic  at the end, fewer than --min-requests canary requests: abort, unless --promote-on-no-traffic.
// Otherwise, at the end: promote. Pure: the figures in, the decision and its reason (with figures) out.
import { formatDuration } from "../output/format.js";
import type { CanarySettings } from "./canary-options.js";
import { P99_FLOOR_MS, type CanaryFigures, type GroupFigures } from "./canary-stats.js";

export { P99_FLOOR_MS };
/** canary requests slower than the p99 limit needed to judge p99 at all */
export const MIN_SLOW = 5;

/**
 * Whether `slow` of `requests` canary requests slower than the limit are more than chance: a version as
 * fast as the baseline has at most 1% of its requests above the baseline's p99, and the limit is above
 * that, so the count is at most Binomial(requests, 1%). Judged slower only beyond that mean plus three
 * standard deviations (a good version is aborted well under 1% of the time; 6 of 300 slower is not
 * enough, 9 is) and never under MIN_SLOW. A truly slower version has most of its requests above.
 */
export function slowEnough(slow: number, requests: number): boolean {
  const chance = 0.01 * requests;
  return slow >= MIN_SLOW && slow > chance + 3 * Math.sqrt(chance * 0.99);
}
/** the share of canary requests slower than the limit that aborts before the end of the window */
export const EARLY_SLOW_SHARE = 0.1;

export type VerdictRule = "error_rate" | "p99_ratio" | "no_traffic" | "passed" | "failed_to_start" | "interrupted";

export type Verdict =
  { decision: "continue"; so_far: string } | { decision: "promote" | "abort"; rule: VerdictRule; reason: string };

export interface JudgeState {
  /** readings in a row at which the p99 rule failed, this one not counted */
  p99Streak: number;
}

const pct = (r: number | null) => (r === null ? "-" : `${(r * 100).toFixed(2)}%`);
const msText = (ms: number | null) => (ms === null ? "-" : formatDuration(ms));
const limitPct = (r: number) => `${+(r * 100).toFixed(3)}%`;

/** `3.10% (12 of 387)` */
function errorsText(g: GroupFigures): string {
  return `${pct(g.errorRate)} (${g.errors} of ${g.requests})`;
}

/** The p99 rule's state: judgeable or not, and whether it fails. */
function p99Check(
  f: CanaryFigures,
  s: CanarySettings,
): { ratio: number | null; fails: boolean; conclusive: boolean; text: string } {
  const { canary: c, baseline: b } = f;
  if (c.requests < s.minRequests || b.requests < s.minRequests || c.p99Ms === null || b.p99Ms === null)
    return { ratio: null, fails: false, conclusive: false, text: "p99 not compared yet" };
  const ratio = b.p99Ms > 0 ? c.p99Ms / b.p99Ms : c.p99Ms > 0 ? Infinity : 1;
  const fails = ratio > s.maxP99Ratio && c.p99Ms - b.p99Ms >= P99_FLOOR_MS && slowEnough(f.canarySlow, c.requests);
  const slow = f.slowLimitMs === null ? "" : `, ${f.canarySlow} of ${c.requests} slower than ${msText(f.slowLimitMs)}`;
  return {
    ratio,
    fails,
    conclusive: fails && f.canarySlow >= EARLY_SLOW_SHARE * c.requests,
    text: `p99 ${msText(c.p99Ms)} vs baseline ${msText(b.p99Ms)} (x${ratio.toFixed(2)}, limit x${s.maxP99Ratio}${slow})`,
  };
}

export function judge(
  f: CanaryFigures,
  s: CanarySettings,
  final: boolean,
  state: JudgeState,
): { verdict: Verdict; p99Failing: boolean } {
  const c = f.canary;
  const errLimit = `limit ${limitPct(s.maxErrorRate)}`;
  // before --min-requests: abort only when even all-successes up to it would leave the ratio above the limit;
  // from there on each reading has the evidence the user asked for
  const hopeless = c.errors > s.maxErrorRate * Math.max(c.requests, s.minRequests);
  const enough = c.requests >= s.minRequests;
  const p99 = p99Check(f, s);
  const abort = (rule: VerdictRule, reason: string) => ({
    verdict: { decision: "abort" as const, rule, reason },
    p99Failing: p99.fails,
  });
  if (hopeless || (enough && (c.errorRate ?? 0) > s.maxErrorRate))
    return abort(
      "error_rate",
      `canary error rate ${errorsText(c)} is above the ${errLimit} (baseline ${errorsText(f.baseline)})`,
    );
  if (p99.fails && (final || (p99.conclusive && state.p99Streak >= 1))) return abort("p99_ratio", `canary ${p99.text}`);
  if (!final)
    return {
      verdict: {
        decision: "continue",
        so_far: `error rate ${errorsText(c)}, ${p99.text}${enough ? "" : `, ${c.requests} of ${s.minRequests} requests`}`,
      },
      p99Failing: p99.fails,
    };
  if (!enough) {
    const why = `too little traffic: the canary served ${c.requests} requests in ${formatDuration(s.analysisMs)}, fewer than --min-requests ${s.minRequests}`;
    return s.promoteOnNoTraffic
      ? {
          verdict: { decision: "promote", rule: "no_traffic", reason: `${why}; promoted (--promote-on-no-traffic)` },
          p99Failing: false,
        }
      : abort("no_traffic", `${why} (pass --promote-on-no-traffic to promote anyway)`);
  }
  const p99Part =
    p99.ratio === null
      ? `p99 not compared (baseline served ${f.baseline.requests} requests, fewer than ${s.minRequests})`
      : p99.text;
  return {
    verdict: {
      decision: "promote",
      rule: "passed",
      reason: `canary error rate ${errorsText(c)} within the ${errLimit}; ${p99Part}`,
    },
    p99Failing: false,
  };
}
