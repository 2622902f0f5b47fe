// The exporter's metrics (docs/metrics.md lists them): one prom-client Registry, set whole from each
// poll's sample, at once, so a scrape never mixes two polls. Every series of a sample replaces the
// last: a service, instance, server or stream that is gone is a series gone.
import { Counter, Gauge, Registry } from "prom-client";
import type { NatsLayer, NatsProblemKind } from "../nats-layer/nats-layer.js";
import { BucketHistogram } from "./bucket-histogram.js";
import type { FleetSample } from "./fleet-sample.js";
import { LATENCY_BUCKETS_SECONDS } from "./latency-buckets.js";

const PROBLEM_KINDS: readonly NatsProblemKind[] = [
  "server-down",
  "no-meta-leader",
  "no-leader",
  "replicas",
  "consumer-pending",
];

type EndpointLabel = "service" | "endpoint" | "instance";
type StreamLabel = "stream" | "kind" | "account";

export class FleetMetrics {
  readonly registry = new Registry();
  private readonly r = [this.registry];

  // requests, from each instance's micro stats: counters since the instance started
  private readonly requests = new Counter<EndpointLabel>({
    name: "gs_requests_total",
    help: "Requests an endpoint of a service instance answered (replies and error replies) since the instance started.",
    labelNames: ["service", "endpoint", "instance"],
    registers: this.r,
  });
  private readonly requestErrors = new Counter<EndpointLabel>({
    name: "gs_request_errors_total",
    help: "Error replies an endpoint of a service instance sent since the instance started.",
    labelNames: ["service", "endpoint", "instance"],
    registers: this.r,
  });
  private readonly duration = new BucketHistogram<EndpointLabel>(
    "gs_request_duration_seconds",
    "Time the service instance took to answer a request (service side, from its HDR histogram since it started).",
    LATENCY_BUCKETS_SECONDS,
    this.registry,
  );
  private readonly instanceInfo = new Gauge<"service" | "instance" | "version">({
    name: "gs_instance_info",
    help: "A service instance answering over NATS (1), with the version it reports.",
    labelNames: ["service", "instance", "version"],
    registers: this.r,
  });
  private readonly instanceStart = new Gauge<"service" | "instance">({
    name: "gs_instance_start_time_seconds",
    help: "When the service instance started, seconds since the epoch.",
    labelNames: ["service", "instance"],
    registers: this.r,
  });

  // the platform's counts joined with NATS's
  private readonly instances = new Gauge<"service" | "state">({
    name: "gs_instances",
    help: "Instances of a service by state: desired, running and pending (the platform), answering (over NATS).",
    labelNames: ["service", "state"],
    registers: this.r,
  });
  private readonly restarts = new Counter<"service">({
    name: "gs_service_restarts_total",
    help: "Unplanned instance exits of a service, as the platform counts them.",
    labelNames: ["service"],
    registers: this.r,
  });

  // the NATS layer
  private readonly serverUp = new Gauge<"server">({
    name: "gs_nats_server_up",
    help: "1 when the NATS server answers, 0 when it should and does not.",
    labelNames: ["server"],
    registers: this.r,
  });
  private readonly serverConnections = new Gauge<"server">({
    name: "gs_nats_server_connections",
    help: "Client connections of the NATS server.",
    labelNames: ["server"],
    registers: this.r,
  });
  private readonly serverSlowConsumers = new Counter<"server">({
    name: "gs_nats_server_slow_consumers_total",
    help: "Slow consumers the NATS server has seen since it started.",
    labelNames: ["server"],
    registers: this.r,
  });
  private readonly serverCpu = new Gauge<"server">({
    name: "gs_nats_server_cpu_ratio",
    help: "CPU the NATS server uses, in cores (1 = one core busy).",
    labelNames: ["server"],
    registers: this.r,
  });
  private readonly serverMemory = new Gauge<"server">({
    name: "gs_nats_server_memory_bytes",
    help: "Resident memory of the NATS server.",
    labelNames: ["server"],
    registers: this.r,
  });
  private readonly problems = new Gauge<"kind">({
    name: "gs_nats_problems",
    help: "What `gs status --check` counts as unhealthy in the NATS layer, by kind.",
    labelNames: ["kind"],
    registers: this.r,
  });
  private readonly metaLeader = new Gauge<"server">({
    name: "gs_jetstream_meta_leader",
    help: "1 for the server that leads the JetStream meta group (clustered JetStream).",
    labelNames: ["server"],
    registers: this.r,
  });
  private readonly streamMessages = new Gauge<StreamLabel>({
    name: "gs_jetstream_stream_messages",
    help: "Messages stored in the stream (kind=kv: a KV bucket).",
    labelNames: ["stream", "kind", "account"],
    registers: this.r,
  });
  private readonly streamBytes = new Gauge<StreamLabel>({
    name: "gs_jetstream_stream_bytes",
    help: "Bytes stored in the stream.",
    labelNames: ["stream", "kind", "account"],
    registers: this.r,
  });
  private readonly streamReplicas = new Gauge<StreamLabel>({
    name: "gs_jetstream_stream_replicas",
    help: "Replicas the stream is configured with.",
    labelNames: ["stream", "kind", "account"],
    registers: this.r,
  });
  private readonly streamReplicasCurrent = new Gauge<StreamLabel>({
    name: "gs_jetstream_stream_replicas_current",
    help: "Replicas of the stream that are current (the leader's view).",
    labelNames: ["stream", "kind", "account"],
    registers: this.r,
  });
  private readonly streamHasLeader = new Gauge<StreamLabel>({
    name: "gs_jetstream_stream_has_leader",
    help: "1 when a server leads the stream, 0 when none does.",
    labelNames: ["stream", "kind", "account"],
    registers: this.r,
  });
  private readonly consumerPending = new Gauge<"stream" | "consumer" | "account">({
    name: "gs_jetstream_consumer_pending",
    help: "Messages of the stream not yet delivered to the consumer.",
    labelNames: ["stream", "consumer", "account"],
    registers: this.r,
  });
  private readonly consumerAckPending = new Gauge<"stream" | "consumer" | "account">({
    name: "gs_jetstream_consumer_ack_pending",
    help: "Messages delivered to the consumer and not yet acknowledged.",
    labelNames: ["stream", "consumer", "account"],
    registers: this.r,
  });
  private readonly consumerRedelivered = new Gauge<"stream" | "consumer" | "account">({
    name: "gs_jetstream_consumer_redelivered",
    help: "Messages the consumer has had redelivered.",
    labelNames: ["stream", "consumer", "account"],
    registers: this.r,
  });

  // the exporter itself
  private readonly sourceUp = new Gauge<"source">({
    name: "gs_exporter_source_up",
    help: "1 when the source (platform, nats, nats_layer) answered the exporter's last poll.",
    labelNames: ["source"],
    registers: this.r,
  });
  private readonly sourceSeconds = new Gauge<"source">({
    name: "gs_exporter_poll_duration_seconds",
    help: "How long the exporter's last poll of the source took.",
    labelNames: ["source"],
    registers: this.r,
  });
  private readonly lastPoll = new Gauge({
    name: "gs_exporter_last_poll_timestamp_seconds",
    help: "When the exporter's last poll of the fleet ended, seconds since the epoch.",
    registers: this.r,
  });

  /** Everything from one poll: synchronous, so no scrape sees half of it. */
  apply(sample: FleetSample, at = Date.now()): void {
    this.registry.resetMetrics();
    const histograms: Parameters<BucketHistogram<EndpointLabel>["set"]>[0][number][] = [];
    for (const i of sample.instances) {
      this.instanceInfo.set({ service: i.service, instance: i.id, version: i.version }, 1);
      if (i.startedMs !== undefined) this.instanceStart.set({ service: i.service, instance: i.id }, i.startedMs / 1000);
      for (const e of i.endpoints) {
        const labels = { service: i.service, endpoint: e.subject, instance: i.id };
        this.requests.inc(labels, e.requests);
        this.requestErrors.inc(labels, e.errors);
        if (e.latency)
          histograms.push({
            labels,
            cumulative: e.latency.cumulative,
            count: e.latency.count,
            sum: e.latency.sumSeconds,
          });
      }
    }
    this.duration.set(histograms);

    const services = new Set(sample.answering.keys());
    for (const p of sample.platform ?? []) {
      services.add(p.name);
      this.instances.set({ service: p.name, state: "desired" }, p.desired);
      this.instances.set({ service: p.name, state: "running" }, p.running);
      this.instances.set({ service: p.name, state: "pending" }, p.pending);
      this.restarts.inc({ service: p.name }, p.restarts);
    }
    // answering is known whenever NATS answered, also for a service the platform does not list
    if (sample.sources.nats?.up)
      for (const name of services)
        this.instances.set({ service: name, state: "answering" }, sample.answering.get(name) ?? 0);

    if (sample.natsLayer) this.applyNatsLayer(sample.natsLayer);

    for (const [source, state] of Object.entries(sample.sources)) {
      this.sourceUp.set({ source }, state.up ? 1 : 0);
      this.sourceSeconds.set({ source }, state.seconds);
    }
    this.lastPoll.set(at / 1000);
  }

  private applyNatsLayer(layer: NatsLayer): void {
    for (const s of layer.servers) {
      if (s.state === "unknown") continue;
      const labels = { server: s.name };
      this.serverUp.set(labels, s.state === "up" ? 1 : 0);
      if (s.connections !== null) this.serverConnections.set(labels, s.connections);
      if (s.slowConsumers !== null) this.serverSlowConsumers.inc(labels, s.slowConsumers);
      if (s.cpu !== null) this.serverCpu.set(labels, s.cpu / 100);
      if (s.memBytes !== null) this.serverMemory.set(labels, s.memBytes);
    }
    for (const kind of PROBLEM_KINDS) this.problems.set({ kind }, layer.problems.filter((p) => p.kind === kind).length);
    if (layer.jetstream?.metaLeader) this.metaLeader.set({ server: layer.jetstream.metaLeader }, 1);
    for (const st of layer.streams) {
      const labels = { stream: st.name, kind: st.kind, account: st.account };
      this.streamMessages.set(labels, st.messages);
      this.streamBytes.set(labels, st.bytes);
      this.streamReplicas.set(labels, st.replicas.expected);
      this.streamReplicasCurrent.set(labels, st.replicas.current);
      this.streamHasLeader.set(labels, st.leader ? 1 : 0);
      for (const c of st.consumers) {
        const cl = { stream: st.name, consumer: c.name, account: st.account };
        this.consumerPending.set(cl, c.pending);
        this.consumerAckPending.set(cl, c.ackPending);
        this.consumerRedelivered.set(cl, c.redelivered);
      }
    }
  }
}
