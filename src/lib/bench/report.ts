// The human report: figures first, then errors by kind, payload sizes and the latency histogram.
import { formatBytes, formatCount, formatDuration } from "../output/format.js";
import type { Style } from "../output/mode.js";
import { describeKind } from "./error-kind.js";
import type { BenchMode, BenchResult, LatencyBucket, PayloadBytes } from "./types.js";

export interface ReportStyle {
  paint: (style: Style, text: string) => string;
  /** `█` on a terminal, `#` in plain output */
  bar: string;
  /** columns available for the histogram bars */
  barWidth?: number;
}

export function renderReport(r: BenchResult, style: ReportStyle): string {
  const { paint } = style;
  const warm = r.warmup_s ? ` after ${formatDuration(r.warmup_s * 1000)} warm-up` : "";
  const lines = [
    `${paint("bold", r.subject)}  ${describeLoad({ mode: r.mode, rate: r.rate_rps!, concurrency: r.concurrency!, workers: r.workers, connections: r.connections })}`,
    `${label("requests")}${formatCount(r.requests)} in ${formatDuration(r.seconds * 1000)}${warm}, ${r.errors ? paint("red", `${formatCount(r.errors)} errors`) : "0 errors"}`,
    `${label("throughput")}${paint("bold", formatCount(r.throughput_rps))} req/s`,
    `${label("latency")}p50 ${formatDuration(r.latency_ms.p50)}  p90 ${formatDuration(r.latency_ms.p90)}  p99 ${paint("bold", formatDuration(r.latency_ms.p99))}  p99.9 ${formatDuration(r.latency_ms.p999)}  max ${formatDuration(r.latency_ms.max)}`,
  ];
  if (r.errors) {
    const kinds = Object.entries(r.errors_by_kind).sort((a, b) => b[1] - a[1]);
    lines.push(`${label("errors")}${kinds.map(([k, n]) => `${describeKind(k)} ${formatCount(n)}`).join(" · ")}`);
  }
  const sizes = [sizeLine("request", r.payload_bytes), sizeLine("reply", r.reply_bytes)].filter(Boolean);
  if (sizes.length) lines.push(`${label("payload")}${sizes.join("; ")}`);
  if (r.seconds > 0) {
    const cores = r.generator_cpu.seconds / r.seconds;
    lines.push(
      paint(
        "dim",
        `${label("generator")}${cores.toFixed(1)} cores busy, ${formatDuration(r.generator_cpu.us_per_request / 1000)} CPU per request`,
      ),
    );
  }
  if (r.send_lag_ms && r.send_lag_ms.p99 > 5) {
    lines.push(
      paint(
        "yellow",
        `warning: the generator sent up to ${formatDuration(r.send_lag_ms.p99)} late (p99): the latencies include its own delay; add --workers or lower --rate`,
      ),
    );
  }
  if (r.latency_histogram.length)
    lines.push("", paint("dim", "latency histogram"), ...renderHistogram(r.latency_histogram, style));
  return lines.join("\n");
}

/** The load and how it is generated: `open loop at 10,000 req/s · 4 workers · 4 connections`. */
export function describeLoad(l: {
  mode: BenchMode;
  rate: number;
  concurrency: number;
  workers: number;
  connections: number;
}): string {
  const how =
    l.mode === "open"
      ? `open loop at ${formatCount(l.rate)} req/s`
      : `closed loop, ${formatCount(l.concurrency)} in flight`;
  return `${how} · ${l.workers} worker${l.workers === 1 ? "" : "s"} · ${l.connections} connection${l.connections === 1 ? "" : "s"}`;
}

function label(text: string): string {
  return text.padEnd(12);
}

function sizeLine(what: string, b: PayloadBytes): string | undefined {
  if (b.protobuf === null) return undefined;
  if (b.json === null) return `${what} ${formatBytes(b.protobuf)}`;
  const ratio = b.protobuf > 0 ? ` (JSON is ${(b.json / b.protobuf).toFixed(1)}x)` : "";
  return `${what} ${formatBytes(b.protobuf)} protobuf vs ${formatBytes(b.json)} JSON${ratio}`;
}

/** One bar per bucket, scaled to the fullest bucket, with its count and the cumulative percentage. */
export function renderHistogram(buckets: LatencyBucket[], style: ReportStyle): string[] {
  const total = buckets.reduce((n, b) => n + b.count, 0);
  const width = style.barWidth ?? 40;
  const most = Math.max(...buckets.map((b) => b.count), 1);
  const edges = buckets.map((b) => `${formatDuration(b.from_ms).padStart(7)} - ${formatDuration(b.to_ms).padEnd(7)}`);
  let cumulative = 0;
  return buckets.map((b, i) => {
    cumulative += b.count;
    const len = b.count === 0 ? 0 : Math.max(1, Math.round((b.count / most) * width));
    const pct = total ? `${((cumulative / total) * 100).toFixed(cumulative === total ? 0 : 2)}%` : "";
    return `${edges[i]} ${style.paint("cyan", style.bar.repeat(len).padEnd(width))} ${formatCount(b.count).padStart(9)}  ${style.paint("dim", pct.padStart(7))}`;
  });
}
