// AWS SDK clients, created in one place and handed to the lib modules that need them. The SDK is
// imported here lazily: it is large, and only the commands that talk to AWS should pay for loading it.
import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { ECRClient } from "@aws-sdk/client-ecr";
import type { ECSClient } from "@aws-sdk/client-ecs";
import type { AwsContext } from "./aws-call.js";

export interface EcsClients {
  ecs: ECSClient;
  logs: CloudWatchLogsClient;
}

// the SDK's own retries stay on (network blips); awsCall adds the longer throttling backoff on top
const base = (ctx: AwsContext) => ({ region: ctx.region, ...(ctx.profile ? { profile: ctx.profile } : {}) });

export async function createEcsClients(ctx: AwsContext): Promise<EcsClients> {
  const [{ ECSClient }, { CloudWatchLogsClient }] = await Promise.all([import("@aws-sdk/client-ecs"), import("@aws-sdk/client-cloudwatch-logs")]);
  return { ecs: new ECSClient(base(ctx)), logs: new CloudWatchLogsClient(base(ctx)) };
}

export async function createEcrClient(ctx: AwsContext): Promise<ECRClient> {
  const { ECRClient } = await import("@aws-sdk/client-ecr");
  return new ECRClient(base(ctx));
}
