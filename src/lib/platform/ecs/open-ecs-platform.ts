// The ecs platform of a gs.yaml target, with its AWS clients (the SDK loads only here, lazily).
import { createEcsClients } from "../../aws/clients.js";
import { serviceSettings, type EcsTarget, type GsConfig } from "../../config/load.js";
import { deployedBy } from "../../release/deployed-by.js";
import { EcsPlatform, type EcsPlatformOptions } from "./ecs-platform.js";

export async function openEcsPlatform(
  cfg: GsConfig,
  targetName: string,
  target: EcsTarget,
  extra: Pick<EcsPlatformOptions, "rollback" | "crashLoopAfter" | "logLines"> = {},
): Promise<EcsPlatform> {
  const clients = await createEcsClients({ region: target.region, profile: target.profile });
  return new EcsPlatform({
    target: targetName,
    config: target,
    services: serviceSettings(cfg).map((s) => s.name),
    clients,
    deployedBy: deployedBy(),
    ...extra,
  });
}
