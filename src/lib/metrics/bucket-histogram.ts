// A Prometheus histogram whose buckets are set whole, from counts kept elsewhere (each instance's HDR
// totals), where prom-client's Histogram only takes observations one at a time. It has what
// prom-client's Registry reads from a metric: name, help, type, get() and reset().
import type { Metric, Registry } from "prom-client";

export interface BucketSeries<L extends string> {
  labels: Record<L, string>;
  /** cumulative counts, one per bound */
  cumulative: readonly number[];
  count: number;
  sum: number;
}

interface SampleValue {
  metricName: string;
  labels: Record<string, string>;
  value: number;
}

export class BucketHistogram<L extends string> {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private series: readonly BucketSeries<L>[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    readonly bounds: readonly number[],
    registry: Registry,
  ) {
    // the Registry's type lists prom-client's own classes; at run time it reads only the members above
    registry.registerMetric(this as unknown as Metric);
  }

  /** Replace every series (an instance gone is a series gone). */
  set(series: readonly BucketSeries<L>[]): void {
    this.series = series;
  }

  reset(): void {
    this.series = [];
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: SampleValue[] }> {
    const values: SampleValue[] = [];
    for (const s of this.series) {
      this.bounds.forEach((le, i) =>
        values.push({
          metricName: `${this.name}_bucket`,
          labels: { ...s.labels, le: String(le) },
          value: s.cumulative[i]!,
        }),
      );
      values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le: "+Inf" }, value: s.count });
      values.push({ metricName: `${this.name}_sum`, labels: s.labels, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: s.labels, value: s.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
