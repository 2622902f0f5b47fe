// Fleets in known states for the dashboard's tests: FleetData as the store would hold it after a
// few polls, and a FleetFeed over it that a test can change. No network.
import { EndpointLatency } from "../../services/sdk/latency.js";
import type { DeploymentInfo, ServiceDescription } from "../../src/lib/platform/platform.js";
import { fleetLatency } from "../../src/lib/status/fleet-latency.js";
import {
  buildDetail,
  buildSnapshot,
  type FleetData,
  type FleetSnapshot,
  type ServiceDetail,
} from "../../src/lib/status/fleet-snapshot.js";
import type { FleetFeed } from "../../src/lib/status/fleet-store.js";
import type { DiscoveredInstance, InstanceCounters } from "../../src/lib/status/sources.js";
import type { Rates } from "../../src/lib/status/stats-rates.js";

export const NOW = Date.parse("2026-05-01T12:00:00Z");
const iso = (msAgo: number) => new Date(NOW - msAgo).toISOString();
const v1 = (name: string) =>
  `0.1.0+${name
    .padEnd(12, "0")
    .slice(0, 12)
    .replace(/[^0-9a-f]/g, "a")}`;

function deployment(service: string, over: Partial<DeploymentInfo> = {}): DeploymentInfo {
  return {
    id: `${service}-dep-0001`,
    service,
    status: "PRIMARY",
    artifact: { version: v1(service), hash: "0".repeat(12), ref: "x" },
    desired: 2,
    running: 2,
    pending: 0,
    failed: 0,
    rolloutState: "COMPLETED",
    createdAt: iso(3_600_000),
    updatedAt: iso(3_500_000),
    ...over,
  };
}

export function service(name: string, over: Partial<ServiceDescription> = {}): ServiceDescription {
  const running = over.running ?? 2;
  return {
    name,
    desired: 2,
    running,
    pending: 0,
    restarts: 0,
    version: v1(name),
    state: "steady",
    deployments: [deployment(name)],
    instances: Array.from({ length: running }, (_, i) => ({
      id: `${name}-00000${i}`,
      deploymentId: `${name}-dep-0001`,
      version: v1(name),
      state: "running" as const,
      natsId: `${name}-nats-${i}`,
      pid: 1000 + i,
      startedAt: iso(3_600_000),
    })),
    events: [{ at: iso(3_500_000), message: `2/2 running (${v1(name)})` }],
    stopped: [],
    ...over,
  };
}

export const NAMES = ["auth", "payment", "settings"];

/**
 * The last minute an instance reports for its one endpoint, made by the SDK's own tracker: 98
 * requests at 0.4 ms and 2 at 3 ms (p50 400µs, p99 3.00ms; merged over instances, the same).
 */
export function instanceWindow(fastMs = 0.4, slowMs = 3) {
  const e = new EndpointLatency(0);
  for (let i = 0; i < 100; i++) e.record((i < 98 ? fastMs : slowMs) * 1e6, false);
  return e.snapshot(30_000).window;
}

/** Every instance of the platform answering on NATS, each at `rps` with no errors and 0.5 ms on average (p50 400µs, p99 3ms). */
export function healthyFleet(rps = 50): FleetData {
  const platform = NAMES.map((n) => service(n));
  return fleetFrom(platform, rps);
}

export function fleetFrom(platform: ServiceDescription[], rps = 50, opts: { silent?: string[] } = {}): FleetData {
  const discovery: DiscoveredInstance[] = [];
  const counters: InstanceCounters[] = [];
  const rates = new Map<string, Rates | undefined>();
  for (const s of platform) {
    for (const i of s.instances) {
      if (!i.natsId || i.state !== "running" || opts.silent?.includes(i.id)) continue;
      discovery.push({ id: i.natsId, service: s.name, version: i.version });
      counters.push({
        id: i.natsId,
        service: s.name,
        requests: 10_000,
        errors: 0,
        processingNs: 10_000 * 500_000,
        windows: [{ subject: `${s.name}.get`, window: instanceWindow() }],
      });
      rates.set(i.natsId, { rps, eps: 0, errorRate: 0, avgMs: 0.5 });
    }
  }
  return {
    target: "local",
    platformKind: "local",
    natsServer: "nats://127.0.0.1:4222",
    natsConnected: true,
    platform,
    discovery,
    previousDiscovery: discovery,
    counters,
    rates,
    latency: fleetLatency(counters),
    sources: { platform: { okAt: NOW - 500 }, nats: { okAt: NOW - 400 }, stats: { okAt: NOW - 400 } },
  };
}

export function rollingOutFleet(): FleetData {
  const next = "0.1.0+bbbbbbbbbbbb";
  const payment = service("payment", {
    state: "deploying",
    running: 3,
    pending: 1,
    deployments: [
      deployment("payment", {
        id: "payment-dep-0002",
        artifact: { version: next, hash: "b".repeat(12), ref: "x" },
        running: 1,
        pending: 1,
        rolloutState: "IN_PROGRESS",
        createdAt: iso(5000),
        updatedAt: iso(1000),
      }),
      deployment("payment", { status: "ACTIVE" }),
    ],
    version: next,
    events: [{ at: iso(5000), message: `deployment payment-dep-0002 started: ${v1("payment")} -> ${next}` }],
  });
  return fleetFrom([service("auth"), payment, service("settings")]);
}

export function degradedFleet(): FleetData {
  const settings = service("settings", {
    running: 1,
    pending: 1,
    restarts: 1,
    events: [{ at: iso(2000), message: "instance settings-000001 was killed by SIGKILL; restarting in 500ms" }],
    stopped: [
      {
        id: "settings-000001",
        version: v1("settings"),
        exitCode: null,
        signal: "SIGKILL",
        stoppedAt: iso(2000),
        reason: "was killed by SIGKILL",
        lastLines: ["listening"],
      },
    ],
  });
  // auth: the platform runs two, NATS hears one (twice in a row)
  return fleetFrom([service("auth"), service("payment"), settings], 50, { silent: ["auth-000001"] });
}

export function failingFleet(): FleetData {
  const payment = service("payment", {
    state: "crash-looping",
    running: 0,
    pending: 2,
    restarts: 7,
    events: [
      { at: iso(1000), message: "instance payment-000000 exited with code 1: Error: cannot load time zone data" },
    ],
  });
  payment.instances = [];
  const settings = service("settings", {
    deployments: [
      deployment("settings", {
        id: "settings-dep-0002",
        status: "INACTIVE",
        rolloutState: "FAILED",
        reason: "2 new instances exited with code 1",
        artifact: { version: "0.1.0+cccccccccccc", hash: "c".repeat(12), ref: "x" },
        createdAt: iso(60_000),
        updatedAt: iso(30_000),
      }),
      deployment("settings"),
    ],
  });
  return fleetFrom([service("auth"), payment, settings]);
}

export function natsDownFleet(): FleetData {
  const d = healthyFleet();
  return {
    ...d,
    natsConnected: false,
    sources: {
      ...d.sources,
      nats: { okAt: NOW - 9000, error: "NATS down" },
      stats: { okAt: NOW - 9000, error: "NATS down" },
    },
  };
}

/** An ecs target whose NATS address does not resolve: never connected, the platform's view alone. */
export function natsUnavailableFleet(): FleetData {
  const d = healthyFleet();
  const reason = "cannot connect to NATS at nats://nats.invalid:4222: host not found";
  const { discovery: _d, previousDiscovery: _p, counters: _c, rates: _r, latency: _l, ...rest } = d;
  return {
    ...rest,
    target: "prod",
    platformKind: "ecs",
    natsServer: "nats://nats.invalid:4222",
    natsConnected: false,
    natsUnavailable: reason,
    sources: { ...d.sources, nats: { error: reason }, stats: { error: reason } },
  };
}

export function platformDownFleet(): FleetData {
  const d = healthyFleet();
  return { ...d, sources: { ...d.sources, platform: { okAt: NOW - 14_000, error: "no answer within 2000ms" } } };
}

/** A FleetFeed over fixed data; `set` swaps the data and tells the subscribers. */
export class FakeFeed implements FleetFeed {
  focused: string | undefined;
  private readonly listeners = new Set<() => void>();
  constructor(
    public data: FleetData,
    public now = NOW,
  ) {}
  snapshot(): FleetSnapshot {
    return buildSnapshot(this.data, this.now);
  }
  detail(name: string): ServiceDetail | undefined {
    return buildDetail(this.data, name, this.now);
  }
  subscribe(l: () => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  focus(name: string | undefined): void {
    this.focused = name;
  }
  set(data: FleetData, now = this.now): void {
    this.data = data;
    this.now = now;
    for (const l of this.listeners) l();
  }
}
