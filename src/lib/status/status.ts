// `gs status`: the platform's view (desired / running / pending / restarts / version) joined with
// what NATS sees (instances answering $SRV.PING). "Running" but silent on NATS is the failure the
// seed's removed health checks could not see. The live dashboard reuses this.
import type { NatsConnection } from "@nats-io/transport-node";
import { discoverServices, type ServiceView } from "../nats/discovery.js";
import type { Platform, ServiceDescription, ServiceState } from "../platform/platform.js";

/** The platform's state, or `silent` when the platform runs instances that NATS does not hear. */
export type StatusState = ServiceState | "silent";

export interface ServiceStatus {
  name: string;
  desired: number;
  running: number;
  pending: number;
  /** instances answering over NATS (any version) */
  responding: number;
  version: string | null;
  restarts: number;
  state: StatusState;
}

export interface StatusReport {
  target: string;
  services: ServiceStatus[];
  totals: { services: number; healthy: number; desired: number; running: number };
}

/** Below its desired count on the platform, or fewer instances answering over NATS than desired. */
export function isUnhealthy(s: ServiceStatus): boolean {
  return s.running < s.desired || s.responding < s.desired;
}

export function joinStatus(target: string, platform: ServiceDescription[], nats: ServiceView[]): StatusReport {
  const byName = new Map(nats.map((v) => [v.name, v]));
  const services = platform.map((p): ServiceStatus => {
    const responding = byName.get(p.name)?.instances.length ?? 0;
    const silent =
      p.running > 0 && responding < Math.min(p.running, p.desired) && (p.state === "steady" || p.state === "degraded");
    return {
      name: p.name,
      desired: p.desired,
      running: p.running,
      pending: p.pending,
      responding,
      version: p.version ?? null,
      restarts: p.restarts,
      state: silent ? "silent" : p.state,
    };
  });
  return {
    target,
    services,
    totals: {
      services: services.length,
      healthy: services.filter((s) => !isUnhealthy(s)).length,
      desired: services.reduce((n, s) => n + s.desired, 0),
      running: services.reduce((n, s) => n + s.running, 0),
    },
  };
}

export async function gatherStatus(opts: {
  platform: Platform;
  nc: NatsConnection;
  services?: string[];
  natsWaitMs?: number;
}): Promise<{ report: StatusReport; platform: ServiceDescription[] }> {
  // NATS is asked while the platform answers; once the platform's count is in, discovery stops as
  // soon as that many instances answered instead of waiting out a quiet period
  let running: number | undefined;
  const described = opts.platform.describeServices(opts.services).then((p) => {
    running = p.reduce((n, s) => n + s.running, 0) || undefined;
    return p;
  });
  const [platform, nats] = await Promise.all([
    described,
    discoverServices(opts.nc, {
      timeoutMs: opts.natsWaitMs ?? 1000,
      stallMs: 200,
      expected: opts.services?.length ? undefined : () => running,
    }),
  ]);
  return { report: joinStatus(opts.platform.target, platform, nats), platform };
}
