// The local platform as the CLI sees it: requests to the supervisor's control API over the fleet's
// NATS, and the instance log files under .gs/logs.
import type { NatsConnection } from "@nats-io/transport-node";
import { OperationError } from "../../output/errors.js";
import type {
  Artifact,
  DeploymentInfo,
  LogLine,
  LogQuery,
  Platform,
  ReleaseOutcome,
  ReleaseRecord,
  ServiceDescription,
  StartCanaryOptions,
  StartDeploymentOptions,
} from "../platform.js";
import {
  CONTROL_PREFIX,
  ControlError,
  type ControlOp,
  type ControlReply,
  type ControlRequests,
  type ControlResults,
} from "./control-protocol.js";
import { connectFailureText } from "../../nats/connect.js";
import { connectFleet, FLEET_CONNECT_TIMEOUT_MS } from "./fleet-connection.js";
import { liveFleetRecord, type FleetRecord } from "./fleet-record.js";
import { instanceLogFiles, readLogs } from "./log-files.js";
import type { LocalPaths } from "./paths.js";
import { appendRelease, readReleases, releaseRecords } from "./release-file.js";
import { deployedBy } from "../../release/deployed-by.js";

export const NOT_RUNNING_HINT = "start it with `gs up`";
/** tries of one control request before the supervisor counts as silent */
const CONTROL_ATTEMPTS = 3;

export class LocalPlatform implements Platform {
  readonly kind = "local" as const;

  constructor(
    readonly target: string,
    readonly paths: LocalPaths,
    private readonly nc?: NatsConnection,
    private readonly prefix = CONTROL_PREFIX,
  ) {}

  async describeServices(names?: string[]): Promise<ServiceDescription[]> {
    return (await this.call("status", { names })).services;
  }

  scale(service: string, desired: number): Promise<ServiceDescription> {
    return this.call("scale", { service, desired });
  }

  startDeployment(service: string, artifact: Artifact, opts: StartDeploymentOptions): Promise<DeploymentInfo> {
    return this.call("deploy", { service, artifact, timeoutMs: opts.timeoutMs });
  }

  describeDeployment(service: string, id: string): Promise<DeploymentInfo> {
    return this.call("deployment", { service, id });
  }

  stopDeployment(service: string, id: string, reason: string): Promise<DeploymentInfo> {
    return this.call("stop-deployment", { service, id, reason });
  }

  /** The supervisor runs every rollout to its end (health gate, deadline, rollback) whoever started it: taking one over is following it. */
  resumeDeployment(service: string, id: string): Promise<DeploymentInfo> {
    return this.describeDeployment(service, id);
  }

  startCanary(service: string, artifact: Artifact, opts: StartCanaryOptions): Promise<DeploymentInfo> {
    return this.call("canary", { service, artifact, count: opts.count, label: opts.label });
  }

  describeCanary(service: string, id: string): Promise<DeploymentInfo> {
    return this.call("canary-status", { service, id });
  }

  stopCanary(service: string, id: string, reason: string): Promise<DeploymentInfo> {
    return this.call("stop-canary", { service, id, reason });
  }

  /** .gs/history's lines for the service, with the deployments the running supervisor holds. */
  async history(service: string, limit: number): Promise<ReleaseRecord[]> {
    const [svc] = this.nc ? await this.describeServices([service]) : [];
    return releaseRecords(readReleases(this.paths.history, service), svc?.deployments ?? [], limit);
  }

  async recordOutcome(service: string, deployment: DeploymentInfo, outcome: ReleaseOutcome): Promise<void> {
    appendRelease(this.paths.history, service, deployment, outcome, deployedBy());
  }

  async *logs(service: string, query: LogQuery): AsyncGenerator<LogLine> {
    let q = query;
    if (query.instance && instanceLogFiles(this.paths.logs, service, query.instance).length === 0 && this.nc) {
      // maybe the NATS id of an instance (what `gs services` shows)
      const [svc] = await this.describeServices([service]);
      const inst = svc?.instances.find((i) => i.natsId === query.instance);
      if (inst) q = { ...query, instance: inst.id };
    }
    yield* readLogs(this.paths.logs, service, q);
  }

  /** Ask the supervisor to stop the fleet. */
  async down(): Promise<void> {
    await this.call("down", {});
  }

  private async call<K extends ControlOp>(op: K, body: ControlRequests[K]): Promise<ControlResults[K]> {
    if (!this.nc)
      throw new OperationError("the local fleet is not running", { hint: NOT_RUNNING_HINT, code: "not_running" });
    let reply: ControlReply<ControlResults[K]>;
    // a request lost with a NATS node that died, or sent while the supervisor reconnects, is sent again:
    // every operation is idempotent (a deploy of the version already rolling out answers that deployment)
    for (let attempt = 1; ; attempt++) {
      try {
        const msg = await this.nc.request(`${this.prefix}.${op}`, JSON.stringify(body), { timeout: 10_000 });
        reply = msg.json<ControlReply<ControlResults[K]>>();
        break;
      } catch (err) {
        if (attempt < CONTROL_ATTEMPTS && !this.nc.isClosed()) {
          await new Promise((r) => setTimeout(r, 250 * attempt));
          continue;
        }
        throw new OperationError(`the local fleet's supervisor does not answer (${(err as Error).message})`, {
          hint: "restart it with `gs down` then `gs up`",
          code: "supervisor_silent",
          cause: err,
        });
      }
    }
    if (reply.ok) return reply.result;
    const { message, ...error } = reply.error;
    throw new ControlError(message, error);
  }
}

export interface OpenedLocalPlatform {
  platform: LocalPlatform;
  nc?: NatsConnection;
  record?: FleetRecord;
  close(): Promise<void>;
}

export interface OpenLocalPlatformOptions {
  /** false: a fleet that is down still gives its logs (default true) */
  requireRunning?: boolean;
  /** the NATS connection's name (default "gs") */
  name?: string;
  /** keep reconnecting through NATS outages (`gs status --watch`) instead of failing */
  reconnect?: boolean;
}

/** Connect to the running local fleet; with `requireRunning: false` a fleet that is down still gives its logs. */
export async function openLocalPlatform(
  target: string,
  paths: LocalPaths,
  opts: OpenLocalPlatformOptions = {},
): Promise<OpenedLocalPlatform> {
  const record = liveFleetRecord(paths);
  if (!record) {
    if (opts.requireRunning !== false)
      throw new OperationError("the local fleet is not running", { hint: NOT_RUNNING_HINT, code: "not_running" });
    return { platform: new LocalPlatform(target, paths), close: async () => undefined };
  }
  let nc: NatsConnection;
  try {
    // the fleet's own connection settings: TLS and the operator key when it runs --secure
    nc = await connectFleet(record.nats, { name: opts.name ?? "gs", reconnect: opts.reconnect });
  } catch (err) {
    throw new OperationError(
      `cannot reach the local fleet's NATS at ${record.nats.url} (${connectFailureText(err, FLEET_CONNECT_TIMEOUT_MS)})`,
      {
        hint: "restart it with `gs down` then `gs up`",
        code: "nats_unreachable",
      },
    );
  }
  return { platform: new LocalPlatform(target, paths, nc, record.control.prefix), nc, record, close: () => nc.close() };
}
