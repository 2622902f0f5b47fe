import { Flags } from "@oclif/core";
import { BaseCommand } from "../base-command.js";
import { durationFlag, targetFlags } from "../flags.js";
import { checkConfigServices } from "../lib/config/service-names.js";
import { renderTable } from "../lib/output/format.js";
import { localContext } from "../lib/platform/local/local-context.js";
import { upLocalFleet, type UpProgress } from "../lib/platform/local/local-fleet.js";
import { runSupervisorProcess } from "../lib/platform/local/supervisor-main.js";
import { catchInterrupts } from "../lib/process/interrupt.js";

export interface UpJson {
  target: string;
  alreadyUp: boolean;
  detached: boolean;
  nats: { url: string };
  /** TLS required (mutual) and one NATS user per service with least-privilege permissions */
  secure: boolean;
  /** `url`: where an HTTP service (the gateway) listens, one loopback port shared by its instances */
  services: {
    name: string;
    desired: number;
    running: number;
    version: string | null;
    state: string;
    url?: string;
  }[];
  /** `--state redis`: the Redis Cluster's nodes (null on JetStream KV) */
  redis: { nodes: { name: string; port: number }[] } | null;
}

export default class Up extends BaseCommand {
  static override summary =
    "Start the local fleet: nats-server with JetStream and every service as supervised processes.";
  static override description =
    "Builds each service (esbuild, content-hashed), starts nats-server on free loopback ports and each service at its desired count, " +
    "restarts instances that exit, and stays in the foreground until Ctrl-C. Everything lives in .gs/.";
  static override examples = [
    `<%= config.bin %> up`,
    `<%= config.bin %> up --detach`,
    `<%= config.bin %> up --services auth,settings --replicas 1 --cluster 3`,
    `<%= config.bin %> up --detach --secure --cluster 3`,
    `<%= config.bin %> up --detach --cluster 5 --state redis --redis-shards 3   # the production topology`,
  ];
  static override flags = {
    ...targetFlags,
    detach: Flags.boolean({
      char: "d",
      description: "Run in the background; return once every service answers over NATS.",
    }),
    cluster: Flags.string({
      description: "nats-server nodes: 1, or 3 or 5 for a JetStream cluster with R3 streams (default: the target's).",
      options: ["1", "3", "5"],
    }),
    state: Flags.string({
      description:
        "Where every service keeps its state: jetstream (KV buckets) or redis (a Redis Cluster of redis-server processes, each primary with a replica) (default: the target's).",
      options: ["jetstream", "redis"],
    }),
    "redis-shards": Flags.integer({
      description:
        "With --state redis: the Redis Cluster's primaries, each with a replica (default: the target's, else 3).",
      min: 3,
      max: 9,
    }),
    services: Flags.string({ description: "Only these services, comma-separated." }),
    secure: Flags.boolean({
      description:
        "Mutual TLS on every connection and route (a local CA under .gs/secure), and one NATS user per service allowed only its own subjects.",
    }),
    replicas: Flags.integer({ description: "Desired count of every service (default: gs.yaml's).", min: 0, max: 100 }),
    timeout: durationFlag({ description: "How long to wait for every service to answer.", default: 120_000 }),
    // internal: what `--detach` runs in the background
    supervisor: Flags.string({ hidden: true }),
  };

  async run(): Promise<UpJson> {
    const { flags } = await this.parse(Up);
    if (flags.supervisor) {
      this.setExit((await runSupervisorProcess(flags.supervisor)) as 0 | 1);
      return undefined as never;
    }
    const ctx = localContext({ cwd: process.cwd(), config: flags.config, target: flags.target, command: "up" });
    const services = flags.services
      ?.split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    // before anything starts, and even when the fleet is already up
    if (services) checkConfigServices(services, ctx.cfg);
    const progress = this.mode === "json" ? undefined : (p: UpProgress) => this.note(describeProgress(p));
    // the first Ctrl-C or SIGTERM stops what was started (or the running fleet), a second exits at once
    const interrupt = catchInterrupts();
    try {
      const r = await upLocalFleet(
        ctx,
        {
          services,
          replicas: flags.replicas,
          cluster: flags.cluster ? (Number(flags.cluster) as 1 | 3 | 5) : undefined,
          state: flags.state as "jetstream" | "redis" | undefined,
          redisShards: flags["redis-shards"],
          secure: flags.secure,
          detach: flags.detach,
          timeoutMs: flags.timeout,
          signal: interrupt.signal,
        },
        progress,
      );
      const json: UpJson = {
        target: r.target,
        alreadyUp: r.alreadyUp,
        detached: r.detached,
        nats: r.nats,
        secure: r.secure,
        services: r.services.map((s) => ({
          name: s.name,
          desired: s.desired,
          running: s.running,
          version: s.version ?? null,
          state: s.state,
          ...(s.url ? { url: s.url } : {}),
        })),
        redis: r.redis ?? null,
      };
      if (r.alreadyUp) {
        const mismatch =
          flags.secure && !r.secure ? "; it runs without --secure: `gs down`, then `gs up --secure`" : "";
        this.note(
          `the local fleet is already up (nats ${r.nats.url}, supervisor pid ${r.supervisorPid})${mismatch} — see \`gs status\`, or stop it with \`gs down\``,
        );
        return json;
      }
      this.out(
        renderTable(
          ["SERVICE", "RUNNING", "DESIRED", "VERSION"],
          json.services.map((s) => [s.name, s.running, s.desired, s.version ?? "-"]),
        ),
      );
      for (const s of json.services) if (s.url) this.note(`${s.name} listens on ${s.url}`);
      if (r.redis)
        this.note(
          `Redis Cluster: ${r.redis.nodes.length} nodes on ${r.redis.nodes.map((n) => `127.0.0.1:${n.port}`).join(",")}`,
        );
      if (r.detached || !r.supervisor) {
        this.note(`the local fleet is up on ${r.nats.url} — \`gs status\` shows it, \`gs down\` stops it`);
        return json;
      }
      const supervisor = r.supervisor;
      this.note(`the local fleet is up on ${r.nats.url} — Ctrl-C stops it`);
      // a signal while the fleet started ended upLocalFleet; from here on it stops the fleet
      interrupt.onStop(() => void supervisor.stop());
      await supervisor.done;
      return json;
    } finally {
      interrupt.release();
    }
  }
}

function describeProgress(p: UpProgress): string {
  switch (p.kind) {
    case "build":
      return `built ${p.service} ${p.version} (${p.built}/${p.total})`;
    case "starting":
      return `starting ${p.services} services, ${p.instances} instances`;
    case "waiting":
      return `${p.running}/${p.desired} instances answering, ${p.ready}/${p.total} services ready`;
    case "event":
      return p.line;
  }
}
