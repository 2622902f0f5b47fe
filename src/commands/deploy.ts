import { Args, Flags } from "@oclif/core";
import { BaseCommand } from "../base-command.js";
import { durationFlag, targetFlags } from "../flags.js";
import { LocalBuilder } from "../lib/build/bundle.js";
import { deploy, deployExitCode, type DeployProgress, type DeployResult } from "../lib/deploy/deploy.js";
import { NatsVerifier } from "../lib/deploy/nats-verifier.js";
import { renderTable } from "../lib/output/format.js";
import { localContext } from "../lib/platform/local/local-context.js";
import { openLocalPlatform } from "../lib/platform/local/local-platform.js";

export type DeployJson = DeployResult;

export default class Deploy extends BaseCommand {
  static override summary = "Roll out the services whose build changed: new instances first, old ones drained once the new ones answer.";
  static override description =
    "Builds every service (or SERVICES), skips those whose content hash equals the running version, and rolls the others out in parallel. " +
    "New instances that crash or do not answer $SRV.PING with the new version within --timeout are stopped; the old ones keep serving. " +
    "Exit 3 when a service was rolled back, 4 when one timed out.";
  static override examples = [`<%= config.bin %> deploy`, `<%= config.bin %> deploy auth settings --json`, `<%= config.bin %> deploy --concurrency 8 --timeout 2m`];
  static override strict = false;
  static override args = { services: Args.string({ description: "Services to deploy (default: all in the fleet)." }) };
  static override flags = {
    ...targetFlags,
    concurrency: Flags.integer({ description: "Services rolled out at once.", default: 6, min: 1, max: 64 }),
    timeout: durationFlag({ description: "How long new instances of one service may take to become healthy.", default: 60_000 }),
  };

  async run(): Promise<DeployJson> {
    const { argv, flags } = await this.parse(Deploy);
    const services = (argv as string[]).filter(Boolean);
    // ecs deploys plug in here as another Platform and ArtifactBuilder; this build has the local one
    const ctx = localContext({ cwd: process.cwd(), config: flags.config, target: flags.target, command: "deploy" });
    const { platform, nc, close } = await openLocalPlatform(ctx.targetName, ctx.paths);
    let result: DeployResult;
    try {
      result = await deploy({
        platform,
        builder: new LocalBuilder({ servicesDir: ctx.servicesDir, protoDir: ctx.protoDir, outDir: ctx.paths.builds, salt: process.env.GS_BUILD_SALT }),
        verifier: nc ? new NatsVerifier(nc) : undefined,
        services,
        concurrency: flags.concurrency,
        timeoutMs: flags.timeout,
        onProgress: this.mode === "json" ? undefined : (p) => this.progress(p),
      });
    } finally {
      await close();
    }
    this.setExit(deployExitCode(result));
    this.out(
      renderTable(
        ["SERVICE", "ACTION", "FROM", "TO", "SECONDS"],
        result.services.map((s) => [s.name, s.action, s.from ?? "-", s.to ?? "-", s.seconds]),
      ),
    );
    for (const s of result.services) if (s.reason) this.note(`${this.color(s.action === "failed" ? "red" : "yellow", s.name)}: ${s.reason}`);
    return result;
  }

  private progress(p: DeployProgress): void {
    switch (p.kind) {
      case "plan":
        this.note(`${p.changed.length} to deploy${p.changed.length ? ` (${p.changed.join(", ")})` : ""}, ${p.unchanged.length} unchanged${p.failed.length ? `, ${p.failed.length} failed to build` : ""}`);
        break;
      case "rollout":
        this.note(`${p.service}: ${p.running}/${p.desired} new instances of ${p.to} healthy${p.failed ? `, ${p.failed} failed` : ""}`);
        break;
      case "rollback":
        this.note(`${p.service}: rolling back — ${p.reason}`);
        break;
      case "done":
        this.note(`${p.result.name}: ${p.result.action} in ${p.result.seconds}s`);
        break;
      default:
        break;
    }
  }
}
