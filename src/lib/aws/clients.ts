// AWS SDK clients, created in one place and handed to the lib modules that need them. The SDK is
// imported here lazily: it is large, and only the commands that talk to AWS should pay for loading it.
import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { ECRClient } from "@aws-sdk/client-ecr";
import type { ECSClient } from "@aws-sdk/client-ecs";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { AwsContext } from "./aws-context.js";

export interface EcsClients {
  ecs: ECSClient;
  logs: CloudWatchLogsClient;
}

/**
 * gs pins Node 20 (DESIGN, "Dependencies"); the SDK's multi-line "upgrade to Node 22" warning would
 * otherwise open every deploy's CI log. Set before the first client is made; a user's own value wins.
 */
export function quietSdkWarnings(env: NodeJS.ProcessEnv = process.env): void {
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
}

// the SDK's own retries stay on (network blips); awsCall adds the longer throttling backoff on top
const base = (ctx: AwsContext) => {
  quietSdkWarnings();
  return { region: ctx.region, ...(ctx.profile ? { profile: ctx.profile } : {}) };
};

export async function createEcsClients(ctx: AwsContext): Promise<EcsClients> {
  const [{ ECSClient }, { CloudWatchLogsClient }] = await Promise.all([
    import("@aws-sdk/client-ecs"),
    import("@aws-sdk/client-cloudwatch-logs"),
  ]);
  return { ecs: new ECSClient(base(ctx)), logs: new CloudWatchLogsClient(base(ctx)) };
}

export async function createEcrClient(ctx: AwsContext): Promise<ECRClient> {
  const { ECRClient } = await import("@aws-sdk/client-ecr");
  return new ECRClient(base(ctx));
}

export async function createSecretsManagerClient(ctx: AwsContext): Promise<SecretsManagerClient> {
  const { SecretsManagerClient } = await import("@aws-sdk/client-secrets-manager");
  return new SecretsManagerClient(base(ctx));
}
