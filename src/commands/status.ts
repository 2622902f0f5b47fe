import { Flags } from "@oclif/core";
import { BaseCommand } from "../base-command.js";
import { durationFlag, targetFlags } from "../flags.js";
import type { NatsLayer } from "../lib/nats-layer/nats-layer.js";
import { layerReport } from "../lib/nats-layer/layer-text.js";
import { NatsLayerReader } from "../lib/nats-layer/read-layer.js";
import { natsLayerAccess } from "../lib/nats-layer/target-access.js";
import { EXIT, GsError } from "../lib/output/errors.js";
import { liveFleetRecord } from "../lib/platform/local/fleet-record.js";
import { platformContext, type PlatformContext } from "../lib/platform/open-platform.js";
import { readLocalRedisLayer } from "../lib/redis-layer/local-redis.js";
import type { RedisLayer } from "../lib/redis-layer/redis-layer.js";
import { redisReport } from "../lib/redis-layer/redis-layer-text.js";
import { FleetStore } from "../lib/status/fleet-store.js";
import { openStatusFleet } from "../lib/status/open-status.js";
import { gatherStatus, reportHealthy, type StatusReport, type ViewAvailability } from "../lib/status/status.js";
import { statusNotes, statusTable } from "../lib/status/status-text.js";
import { snapshotUnhealthy } from "../lib/status/watch-output.js";
import { catchInterrupts } from "../lib/process/interrupt.js";
import { liveOutput } from "../lib/ui/live-output.js";
import { watchStatus } from "../lib/ui/status-watch.js";

/**
 * `platform` and `nats.available`: whether each view could be read (`reason` when not: the other is
 * shown alone, `--check` exits 5). `nats`: also the NATS layer (servers, JetStream, streams and KV
 * buckets, problems, notes); see docs/local-platform.md. `redis`: a local fleet's Redis Cluster
 * (`gs up --state redis`: each node's state, role, slots; problems), null without one; see docs/topology.md.
 */
export type StatusJson = Omit<StatusReport, "natsView"> & { nats: StatusNatsJson; redis: RedisLayer | null };
export type StatusNatsJson = NatsLayer & ViewAvailability;
export type { StatusWatchJson } from "../lib/status/watch-output.js";

export default class Status extends BaseCommand {
  static override summary =
    "Show each service's desired / running / pending instances and how many answer over NATS, and the NATS layer: servers, JetStream, streams and KV buckets (and a local fleet's Redis Cluster).";
  static override examples = [
    `<%= config.bin %> status`,
    `<%= config.bin %> status --json`,
    `<%= config.bin %> status --check   # exit 5 when unhealthy (a service, a NATS server, a stream, a consumer's backlog)`,
    `<%= config.bin %> status --json | jq .nats.problems   # what is wrong with the NATS layer`,
    `<%= config.bin %> status --json | jq '.redis.nodes[] | {name, role, slots}'   # gs up --state redis: the Redis Cluster`,
    `<%= config.bin %> status --watch   # the live dashboard (one line per change without a terminal)`,
    `<%= config.bin %> status --watch --json --interval 5s   # one JSON document per poll`,
  ];
  static override flags = {
    ...targetFlags,
    check: Flags.boolean({
      description:
        "Exit 5 when a service is below its desired count or silent on NATS, the platform or NATS cannot be read, or the NATS layer or a local Redis Cluster has a problem (with --watch: as of the last poll).",
    }),
    watch: Flags.boolean({
      char: "w",
      description: "Keep watching: a live dashboard on a terminal, one line per change otherwise, NDJSON with --json.",
    }),
    interval: durationFlag({ description: "With --watch: how often each source is polled.", default: 2000 }),
  };

  async run(): Promise<StatusJson | undefined> {
    const { flags } = await this.parse(Status);
    const ctx = platformContext({ cwd: process.cwd(), config: flags.config, target: flags.target });
    const notUp = (err: unknown) =>
      flags.check && err instanceof GsError ? new GsError(err.message, { ...err.opts, exit: EXIT.unhealthy }) : err;
    if (flags.watch) return this.watch(ctx, flags.interval, flags.check, notUp);

    const fleet = await openStatusFleet(ctx).catch((err: unknown) => {
      throw notUp(err);
    });
    // the NATS layer is read while the platform and NATS discovery answer
    const layer = new NatsLayerReader(
      natsLayerAccess(ctx, fleet.opened ?? { nats: () => Promise.reject(fleet.nats) }),
      {
        maxConsumerPending: ctx.cfg.status.maxConsumerPending,
      },
    );
    let report: StatusReport;
    let nats: NatsLayer;
    let redis: RedisLayer | null;
    try {
      [report, nats, redis] = await Promise.all([
        gatherStatus({
          target: fleet.opened?.platform.target ?? ctx.targetName,
          describe: fleet.describe,
          nats: fleet.nats,
        }),
        layer.read(),
        ctx.target.platform === "local" ? readLocalRedisLayer(ctx.paths) : null,
      ]);
    } catch (err) {
      throw notUp(err);
    } finally {
      await layer.close();
      await fleet.close();
    }
    this.out(statusTable(report));
    const natsText = layerReport(nats);
    if (natsText.tables) this.out(`\n${natsText.tables}`);
    for (const line of statusNotes(report)) this.note(line);
    for (const line of natsText.lines) this.note(line);
    if (redis) {
      const redisText = redisReport(redis);
      this.out(`\n${redisText.table}`);
      for (const line of redisText.lines) this.note(line);
    }
    // where the local fleet's HTTP services (the gateway) listen
    if (ctx.target.platform === "local")
      for (const [name, s] of Object.entries(liveFleetRecord(ctx.paths)?.services ?? {}))
        if (s.url) this.note(`${name} listens on ${s.url}`);
    if (flags.check && (!reportHealthy(report) || nats.problems.length || redis?.problems.length))
      this.setExit(EXIT.unhealthy);
    const { natsView, ...rest } = report;
    return { ...rest, nats: { ...nats, ...natsView }, redis };
  }

  private async watch(
    ctx: PlatformContext,
    intervalMs: number,
    check: boolean,
    notUp: (e: unknown) => unknown,
  ): Promise<undefined> {
    // unlike a one-shot command, the watch keeps its NATS connection through outages (reconnecting
    // forever, on the local platform), so NATS going down shows as "NATS down" and the dashboard
    // recovers on its own when it comes back
    const fleet = await openStatusFleet(ctx, { name: "gs-status-watch", reconnect: true }).catch((err: unknown) => {
      throw notUp(err);
    });
    // a local fleet's dashboard reads its supervisor over NATS: without NATS there is nothing to poll
    if (!fleet.opened) throw notUp(fleet.nats);
    const opened = fleet.opened;
    // an ecs target whose NATS does not answer: the platform's view alone, with the reason
    const nc = fleet.nats instanceof GsError ? undefined : fleet.nats;
    const natsUnavailable = fleet.nats instanceof GsError ? fleet.nats.message : undefined;
    // shown in the header: the local fleet's first server, an ecs target's nats.url as written
    const natsServer = ctx.target.platform === "local" ? (opened.natsUrl ?? "").split(",")[0]! : (opened.natsUrl ?? "");
    const interrupt = catchInterrupts();
    // how long a layer's read may wait for answers: within the store's timeout per source (the interval, at most 5s)
    const layerWaitMs = Math.max(100, Math.min(intervalMs - 100, 1500));
    const natsLayer = new NatsLayerReader(natsLayerAccess(ctx, opened, { reconnect: true }), {
      maxConsumerPending: ctx.cfg.status.maxConsumerPending,
      maxWaitMs: layerWaitMs,
    });
    try {
      const store = new FleetStore({
        platform: opened.platform,
        nc,
        natsUnavailable,
        natsServer,
        intervalMs,
        natsLayer,
        // a local fleet's Redis Cluster (gs up --state redis); the feed reads null for a fleet without one
        ...(ctx.target.platform === "local"
          ? { redisLayer: { read: () => readLocalRedisLayer(ctx.paths, layerWaitMs) } }
          : {}),
      });
      const out = liveOutput({ json: this.jsonEnabled() });
      const last = await watchStatus({ out, store, signal: interrupt.signal });
      if (check && (!last || snapshotUnhealthy(last))) this.setExit(EXIT.unhealthy);
    } finally {
      interrupt.release();
      await natsLayer.close();
      await opened.close().catch(() => undefined);
    }
    return undefined;
  }
}
