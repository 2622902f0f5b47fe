// `gs status`: the platform's view (desired / running / pending / restarts / version) joined with
// what NATS sees (instances answering $SRV.PING, and the last minute's latency from $SRV.STATS).
// "Running" but silent on NATS is the failure the seed's removed health checks could not see. Either
// view can be missing (NATS unreachable, the platform API failing): the other is still shown, with
// the reason, as that is when an operator needs it most.
import type { NatsConnection } from "@nats-io/transport-node";
import { discoverServices, type ServiceView } from "../nats/discovery.js";
import { GsError, OperationError } from "../output/errors.js";
import type { ServiceDescription, ServiceState } from "../platform/platform.js";

/** The platform's state, or `silent` when the platform runs instances that NATS does not hear. */
export type StatusState = ServiceState | "silent";

export interface ServiceStatus {
  name: string;
  /** the platform's counts: null when the platform view is unavailable (pending and restarts also when it cannot say) */
  desired: number | null;
  running: number | null;
  pending: number | null;
  /** instances answering over NATS (any version); null when the NATS view is unavailable */
  responding: number | null;
  version: string | null;
  restarts: number | null;
  /** null when the platform view is unavailable */
  state: StatusState | null;
  /** latency over the last minute, ms, from every instance's histograms merged; null without requests in it (or without NATS) */
  p50Ms: number | null;
  p99Ms: number | null;
}

/** Whether a view of the fleet could be read, and if not, why (one line). */
export interface ViewAvailability {
  available: boolean;
  reason?: string;
}

export interface StatusReport {
  target: string;
  services: ServiceStatus[];
  totals: { services: number; healthy: number; desired: number; running: number };
  /** the platform's view (ECS's services, the local supervisor) */
  platform: ViewAvailability;
  /** NATS's view (discovery and stats over the fleet's NATS) */
  natsView: ViewAvailability;
}

/** What the platform says of one service; a local fleet whose NATS is down only knows some of it (from its record). */
export type PlatformRow = Pick<ServiceStatus, "name" | "desired" | "running" | "pending" | "restarts" | "version"> & {
  desired: number;
  running: number;
  state: ServiceState | null;
};

export function platformRows(services: ServiceDescription[]): PlatformRow[] {
  return services.map((p) => ({
    name: p.name,
    desired: p.desired,
    running: p.running,
    pending: p.pending,
    restarts: p.restarts,
    version: p.version ?? null,
    state: p.state,
  }));
}

/** Below its desired count on the platform, or fewer instances answering over NATS than desired (as far as the views show). */
export function isUnhealthy(s: ServiceStatus): boolean {
  if (s.desired === null) return false;
  return (s.running !== null && s.running < s.desired) || (s.responding !== null && s.responding < s.desired);
}

/** Every view there and every service healthy: what `--check` asks. */
export function reportHealthy(r: StatusReport): boolean {
  return r.platform.available && r.natsView.available && !r.services.some(isUnhealthy);
}

/** Join the views; `platform` or `nats` undefined: that view is unavailable (the report says why). */
export function joinStatus(
  target: string,
  platform: PlatformRow[] | undefined,
  nats: ServiceView[] | undefined,
  why: { platform?: string; nats?: string } = {},
): StatusReport {
  const byName = new Map((nats ?? []).map((v) => [v.name, v]));
  const names = platform ? platform.map((p) => p.name) : [...byName.keys()].sort();
  const platformBy = new Map((platform ?? []).map((p) => [p.name, p]));
  const services = names.map((name): ServiceStatus => {
    const p = platformBy.get(name);
    const v = byName.get(name);
    const responding = nats ? (v?.instances.length ?? 0) : null;
    const silent =
      !!p &&
      responding !== null &&
      p.running > 0 &&
      responding < Math.min(p.running, p.desired) &&
      (p.state === "steady" || p.state === "degraded");
    return {
      name,
      desired: p?.desired ?? null,
      running: p?.running ?? null,
      pending: p?.pending ?? null,
      responding,
      version: p ? p.version : (v?.versions.at(-1) ?? null),
      restarts: p?.restarts ?? null,
      state: silent ? "silent" : (p?.state ?? null),
      p50Ms: v?.latency?.p50_ms ?? null,
      p99Ms: v?.latency?.p99_ms ?? null,
    };
  });
  const view = (ok: boolean, reason?: string): ViewAvailability =>
    ok ? { available: true } : { available: false, reason: reason ?? "no answer" };
  return {
    target,
    services,
    totals: {
      services: services.length,
      healthy: services.filter((s) => !isUnhealthy(s)).length,
      desired: services.reduce((n, s) => n + (s.desired ?? 0), 0),
      running: services.reduce((n, s) => n + (s.running ?? 0), 0),
    },
    platform: view(platform !== undefined, why.platform),
    natsView: view(nats !== undefined, why.nats),
  };
}

/** The error's one line, for a note; a bug (not a GsError) is not a reason to show less: it is thrown. */
function reasonOf(err: unknown): string {
  if (!(err instanceof GsError)) throw err;
  return err.message.split("\n")[0]!;
}

export interface GatherStatusOptions {
  target: string;
  /** the platform's services; a GsError it throws makes the platform view unavailable */
  describe: () => Promise<PlatformRow[]>;
  /** the fleet's NATS, or why it cannot be reached */
  nats: NatsConnection | GsError;
  natsWaitMs?: number;
}

/**
 * Both views at once. One missing leaves the other, with the reason; both missing is a failure
 * (nothing to show), reported with both reasons.
 */
export async function gatherStatus(opts: GatherStatusOptions): Promise<StatusReport> {
  // NATS is asked while the platform answers; once the platform's count is in, discovery stops as
  // soon as that many instances answered instead of waiting out a quiet period
  let running: number | undefined;
  const described = opts.describe().then(
    (p) => {
      running = p.reduce((n, s) => n + s.running, 0);
      return { rows: p };
    },
    (err: unknown) => {
      running = 0;
      return { error: reasonOf(err) };
    },
  );
  const nc = opts.nats;
  const [platform, nats] = await Promise.all([
    described,
    nc instanceof GsError
      ? undefined
      : discoverServices(nc, { timeoutMs: opts.natsWaitMs ?? 2000, stallMs: 200, expected: () => running }),
  ]);
  const natsReason = nc instanceof GsError ? reasonOf(nc) : undefined;
  if ("error" in platform && natsReason)
    throw new OperationError(
      `neither view of the fleet is available: platform: ${platform.error}; NATS: ${natsReason}`,
      {
        hint: (nc as GsError).hint ?? "check the target's AWS access and its nats.url in gs.yaml",
        code: "status_unavailable",
      },
    );
  return joinStatus(opts.target, "rows" in platform ? platform.rows : undefined, nats, {
    ...("error" in platform ? { platform: platform.error } : {}),
    ...(natsReason ? { nats: natsReason } : {}),
  });
}
