// The exporter's metrics from a sample of the fleet: names, labels and values as Prometheus reads
// them, series that go with what is gone, counters that restart with a new instance, and the text
// passing promtool's own lint (`promtool check metrics`).
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { EndpointLatency } from "../../../services/sdk/latency.js";
import { service } from "../../../test/support/fleet-fixtures.js";
import type { NatsLayer } from "../nats-layer/nats-layer.js";
import { FleetMetrics } from "./fleet-metrics.js";
import type { FleetSample, InstanceSample } from "./fleet-sample.js";
import { latencyBuckets } from "./latency-buckets.js";

function decideEndpoint(requests: number, errors: number, latencyMs: number) {
  const e = new EndpointLatency(0);
  for (let i = 0; i < requests; i++) e.record(latencyMs * 1e6, i < errors);
  return {
    name: "Decide",
    subject: "npc-behavior.decide",
    requests,
    errors,
    latency: latencyBuckets(e.snapshot(1000).total.hdr),
  };
}

function instance(id: string, requests: number, errors = 0): InstanceSample {
  return {
    id,
    service: "npc-behavior",
    version: "0.1.0+abc",
    startedMs: 1_700_000_000_000,
    endpoints: [decideEndpoint(requests, errors, 0.3)],
  };
}

const layer: NatsLayer = {
  source: "system-account",
  servers: [
    {
      name: "n1",
      id: "N1",
      version: "2.10.0",
      state: "up",
      connections: 7,
      cpu: 12.5,
      memBytes: 1000,
      slowConsumers: 2,
      uptime: "1m",
    },
    {
      name: "n2",
      id: null,
      version: null,
      state: "down",
      connections: null,
      cpu: null,
      memBytes: null,
      slowConsumers: null,
      uptime: null,
    },
    {
      name: "n3",
      id: null,
      version: null,
      state: "unknown",
      connections: null,
      cpu: null,
      memBytes: null,
      slowConsumers: null,
      uptime: null,
    },
  ],
  jetstream: { clustered: true, metaLeader: "n1", clusterSize: 3 },
  streams: [
    {
      name: "EVENTS",
      kind: "stream",
      bucket: null,
      account: "APP",
      replicas: { expected: 3, current: 2, behind: ["n2"] },
      leader: "n1",
      messages: 42,
      bytes: 4200,
      consumers: [{ name: "orders", pending: 5, ackPending: 1, redelivered: 0 }],
    },
  ],
  notes: [],
  problems: [
    { kind: "server-down", subject: "n2", message: "server n2 is down" },
    { kind: "replicas", subject: "stream EVENTS", message: "stream EVENTS: 2/3 replicas current" },
  ],
};

function sample(over: Partial<FleetSample> = {}): FleetSample {
  return {
    platform: [service("npc-behavior", { desired: 3, running: 2, pending: 1, restarts: 4 })],
    instances: [instance("i1", 100, 5), instance("i2", 50)],
    answering: new Map([["npc-behavior", 2]]),
    natsLayer: layer,
    sources: {
      platform: { up: true, seconds: 0.01 },
      nats: { up: true, seconds: 0.2 },
      nats_layer: { up: true, seconds: 0.1 },
    },
    ...over,
  };
}

async function text(m: FleetMetrics): Promise<string> {
  return m.registry.metrics();
}

describe("the fleet's metrics", () => {
  it("exports requests, errors and the latency histogram per service, endpoint and instance", async () => {
    const m = new FleetMetrics();
    m.apply(sample(), 1_700_000_100_000);
    const t = await text(m);
    const i1 = 'service="npc-behavior",endpoint="npc-behavior.decide",instance="i1"';
    expect(t).toContain("# TYPE gs_requests_total counter");
    expect(t).toContain(`gs_requests_total{${i1}} 100`);
    expect(t).toContain(`gs_request_errors_total{${i1}} 5`);
    expect(t).toContain("# TYPE gs_request_duration_seconds histogram");
    expect(t).toContain(`gs_request_duration_seconds_bucket{${i1},le="0.00025"} 0`);
    expect(t).toContain(`gs_request_duration_seconds_bucket{${i1},le="0.0005"} 100`);
    expect(t).toContain(`gs_request_duration_seconds_bucket{${i1},le="+Inf"} 100`);
    expect(t).toContain(`gs_request_duration_seconds_count{${i1}} 100`);
    expect(t).toMatch(new RegExp(`gs_request_duration_seconds_sum\\{${i1}\\} 0\\.0(29|30)`));
    expect(t).toContain('gs_instance_info{service="npc-behavior",instance="i2",version="0.1.0+abc"} 1');
    expect(t).toContain('gs_instance_start_time_seconds{service="npc-behavior",instance="i1"} 1700000000');
    expect(t).toContain("gs_exporter_last_poll_timestamp_seconds 1700000100");
  });

  it("exports the platform's counts beside the instances answering over NATS", async () => {
    const m = new FleetMetrics();
    m.apply(
      sample({
        answering: new Map([
          ["npc-behavior", 2],
          ["rogue", 1],
        ]),
      }),
    );
    const t = await text(m);
    expect(t).toContain('gs_instances{service="npc-behavior",state="desired"} 3');
    expect(t).toContain('gs_instances{service="npc-behavior",state="running"} 2');
    expect(t).toContain('gs_instances{service="npc-behavior",state="pending"} 1');
    expect(t).toContain('gs_instances{service="npc-behavior",state="answering"} 2');
    // a service that answers without being on the platform still shows
    expect(t).toContain('gs_instances{service="rogue",state="answering"} 1');
    expect(t).toContain('gs_service_restarts_total{service="npc-behavior"} 4');
  });

  it("leaves out what a source that did not answer would have said, and says which source it was", async () => {
    const m = new FleetMetrics();
    m.apply(
      sample({
        platform: undefined,
        instances: [],
        answering: new Map(),
        natsLayer: undefined,
        sources: {
          platform: { up: false, seconds: 5, error: "timed out" },
          nats: { up: false, seconds: 0, error: "NATS is disconnected" },
          nats_layer: { up: false, seconds: 1.5 },
        },
      }),
    );
    const t = await text(m);
    expect(t).not.toMatch(/^gs_instances\{/m);
    expect(t).not.toMatch(/^gs_requests_total\{/m);
    expect(t).not.toMatch(/^gs_nats_server_up\{/m);
    expect(t).toContain('gs_exporter_source_up{source="platform"} 0');
    expect(t).toContain('gs_exporter_source_up{source="nats"} 0');
    expect(t).toContain('gs_exporter_source_up{source="nats_layer"} 0');
    expect(t).toContain('gs_exporter_poll_duration_seconds{source="platform"} 5');
  });

  it("exports the NATS layer: servers up or down (not unknown ones), problems by kind, streams and consumers", async () => {
    const m = new FleetMetrics();
    m.apply(sample());
    const t = await text(m);
    expect(t).toContain('gs_nats_server_up{server="n1"} 1');
    expect(t).toContain('gs_nats_server_up{server="n2"} 0');
    expect(t).not.toContain('server="n3"');
    expect(t).toContain('gs_nats_server_connections{server="n1"} 7');
    expect(t).toContain('gs_nats_server_slow_consumers_total{server="n1"} 2');
    expect(t).toContain('gs_nats_server_cpu_ratio{server="n1"} 0.125');
    expect(t).toContain('gs_nats_server_memory_bytes{server="n1"} 1000');
    expect(t).toContain('gs_nats_problems{kind="server-down"} 1');
    expect(t).toContain('gs_nats_problems{kind="replicas"} 1');
    expect(t).toContain('gs_nats_problems{kind="no-leader"} 0');
    expect(t).toContain('gs_jetstream_meta_leader{server="n1"} 1');
    const ev = 'stream="EVENTS",kind="stream",account="APP"';
    expect(t).toContain(`gs_jetstream_stream_messages{${ev}} 42`);
    expect(t).toContain(`gs_jetstream_stream_bytes{${ev}} 4200`);
    expect(t).toContain(`gs_jetstream_stream_replicas{${ev}} 3`);
    expect(t).toContain(`gs_jetstream_stream_replicas_current{${ev}} 2`);
    expect(t).toContain(`gs_jetstream_stream_has_leader{${ev}} 1`);
    expect(t).toContain('gs_jetstream_consumer_pending{stream="EVENTS",consumer="orders",account="APP"} 5');
    expect(t).toContain('gs_jetstream_consumer_ack_pending{stream="EVENTS",consumer="orders",account="APP"} 1');
  });

  it("drops the series of an instance that is gone, and starts a restarted one's counters anew under its new id", async () => {
    const m = new FleetMetrics();
    m.apply(sample());
    m.apply(sample({ instances: [instance("i1", 120, 5), instance("i3", 7)] }));
    const t = await text(m);
    expect(t).toContain('gs_requests_total{service="npc-behavior",endpoint="npc-behavior.decide",instance="i1"} 120');
    expect(t).toContain('gs_requests_total{service="npc-behavior",endpoint="npc-behavior.decide",instance="i3"} 7');
    expect(t).not.toContain('instance="i2"');
  });

  it("passes promtool's lint of the exposition format", async () => {
    const probe = spawnSync("promtool", ["--version"], { encoding: "utf8" });
    if (probe.error) throw new Error("promtool not found: apt-get install prometheus (scripts/install-system-deps.sh)");
    const m = new FleetMetrics();
    m.apply(sample());
    const lint = spawnSync("promtool", ["check", "metrics"], { input: await text(m), encoding: "utf8" });
    expect(lint.stdout + lint.stderr).toBe("");
    expect(lint.status).toBe(0);
  });
});
