// What one poll of the fleet found, as the exporter turns it into metrics: each service instance's
// counters and latency buckets ($SRV.STATS), the platform's counts, the NATS layer, and how each
// source fared. Pure: built from the sources' answers.
import type { ServiceStats } from "@nats-io/services";
import type { NatsLayer } from "../nats-layer/nats-layer.js";
import type { ServiceDescription } from "../platform/platform.js";
import { latencyData } from "../nats/latency-data.js";
import type { LatencyBuckets } from "./latency-buckets.js";

export type SourceName = "platform" | "nats" | "nats_layer";
export const SOURCE_NAMES: readonly SourceName[] = ["platform", "nats", "nats_layer"];

export interface SourceState {
  /** the last poll of this source answered */
  up: boolean;
  /** how long that poll took */
  seconds: number;
  /** why it did not answer (one line) */
  error?: string;
}

export interface EndpointSample {
  name: string;
  subject: string;
  /** since the instance started (ADR-32 `num_requests`) */
  requests: number;
  errors: number;
  /** from the SDK's histogram totals; undefined for an instance without them */
  latency: LatencyBuckets | undefined;
}

export interface InstanceSample {
  /** the micro service instance id: a restarted process is a new instance, so its counters start anew */
  id: string;
  service: string;
  version: string;
  /** when the instance started (ms since the epoch); undefined when it did not say */
  startedMs: number | undefined;
  endpoints: EndpointSample[];
}

export interface FleetSample {
  /** the platform's services; undefined when the platform did not answer the last poll */
  platform: ServiceDescription[] | undefined;
  /** the instances that answered, and those that missed fewer than a few polls in a row (their last figures) */
  instances: InstanceSample[];
  /** instances answering $SRV.STATS in the last poll, per service */
  answering: Map<string, number>;
  /** undefined when not read (no reader, or it did not answer in time) */
  natsLayer: NatsLayer | undefined;
  /** how each source fared in the last poll (nats_layer only when the exporter reads it) */
  sources: Partial<Record<SourceName, SourceState>>;
}

/** The SDK's histogram totals of an endpoint (its `data`), when the instance keeps them. */
export function totalsHistogram(data: unknown): string | undefined {
  const hdr = latencyData(data)?.total.hdr;
  return hdr ? hdr : undefined;
}

/** One $SRV.STATS reply as an instance sample; `buckets` decodes an endpoint's histogram (cached by the caller). */
export function instanceSample(
  s: ServiceStats,
  buckets: (key: string, hdr: string) => LatencyBuckets | undefined,
): InstanceSample {
  const started = s.started ? Date.parse(s.started) : NaN;
  return {
    id: s.id,
    service: s.name,
    version: s.version,
    startedMs: Number.isFinite(started) ? started : undefined,
    endpoints: (s.endpoints ?? []).map((e) => {
      const hdr = totalsHistogram(e.data);
      return {
        name: e.name,
        subject: e.subject,
        requests: finite(e.num_requests),
        errors: finite(e.num_errors),
        latency: hdr ? buckets(`${s.id}\u0000${e.subject}`, hdr) : undefined,
      };
    }),
  };
}

const finite = (n: unknown): number => (typeof n === "number" && Number.isFinite(n) && n >= 0 ? n : 0);
