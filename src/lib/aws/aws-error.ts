// What AWS answered, as one line that names the resource and the next step. The SDK gives every
// service error its AWS error code as `name` (the protocol's `__type` / x-amzn-errortype): that
// code, not the English message, decides the kind.
import { EXIT, GsError, type GsErrorOptions } from "../output/errors.js";
import type { AwsCall, AwsContext } from "./aws-context.js";

export type AwsErrorKind =
  | "not_found"
  | "access_denied"
  | "throttled"
  | "credentials_expired"
  | "credentials_missing"
  | "credentials_invalid"
  | "invalid_request"
  | "unreachable"
  | "failed";

/** An AWS call that failed after retries; `awsCode` is AWS's error code, e.g. `ImageNotFoundException`. */
export class AwsError extends GsError {
  override name = "AwsError";
  constructor(
    message: string,
    readonly kind: AwsErrorKind,
    readonly awsCode: string,
    opts: GsErrorOptions,
  ) {
    super(message, opts);
  }
}

const THROTTLING = new Set([
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "ProvisionedThroughputExceededException",
  "SlowDown",
]);
const EXPIRED = new Set(["ExpiredTokenException", "ExpiredToken", "RequestExpired", "TokenRefreshRequired"]);
const BAD_CREDENTIALS = new Set([
  "UnrecognizedClientException",
  "InvalidClientTokenId",
  "InvalidSignatureException",
  "IncompleteSignature",
  "MissingAuthenticationToken",
  "SignatureDoesNotMatch",
]);
const ACCESS_DENIED = new Set(["AccessDeniedException", "AccessDenied", "UnauthorizedOperation"]);
const INVALID = new Set([
  "InvalidParameterException",
  "InvalidParameterValueException",
  "InvalidParameterCombination",
  "ValidationException",
  "ClientException",
  "InvalidRequestException",
  "MissingParameter",
]);
// raised by the SDK's credential chain, before any request
const NO_CREDENTIALS = new Set(["CredentialsProviderError", "TokenProviderError"]);
const NETWORK = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
]);

interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  $fault?: "client" | "server";
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
}

function isThrottling(err: unknown): boolean {
  const e = err as SdkError;
  return THROTTLING.has(e?.name ?? "") || e?.$retryable?.throttling === true || e?.$metadata?.httpStatusCode === 429;
}

/** Worth another attempt: throttling and AWS's own 5xx. */
export function isTransient(err: unknown): boolean {
  const e = err as SdkError;
  const status = e?.$metadata?.httpStatusCode ?? 0;
  return (
    isThrottling(err) || e?.name === "ServerException" || e?.name === "ServiceUnavailableException" || status >= 500
  );
}

/**
 * An AWS SDK error as an AwsError that names what `call` was about; errors that are not AWS's
 * (a TypeError: a bug) pass through unchanged, as do GsErrors.
 */
export function translateAwsError(err: unknown, call: AwsCall, ctx: AwsContext, attempts = 1): unknown {
  if (err instanceof GsError || !(err instanceof Error)) return err;
  const e = err as SdkError;
  const code = e.name ?? "Error";
  const msg = (e.message ?? "").split("\n")[0]!.trim();
  const on = describeCall(call, ctx);
  const make = (kind: AwsErrorKind, message: string, opts: GsErrorOptions) =>
    new AwsError(message, kind, code, { cause: err, ...opts });

  if (NO_CREDENTIALS.has(code)) {
    // the chain's own words say which: none configured, or an SSO session that ended
    return make("credentials_missing", `cannot load AWS credentials${profileOf(ctx)} for ${on}: ${msg}`, {
      hint: `sign in (aws sso login${ctx.profile ? ` --profile ${ctx.profile}` : ""}) or configure credentials (aws configure, AWS_PROFILE, or OIDC in CI), then run the command again`,
      code: "aws_credentials_missing",
    });
  }
  if (EXPIRED.has(code)) {
    return make("credentials_expired", `AWS credentials${profileOf(ctx)} have expired: ${on}`, {
      hint: refreshHint(ctx),
      code: "aws_credentials_expired",
    });
  }
  if (BAD_CREDENTIALS.has(code)) {
    return make("credentials_invalid", `AWS rejected the credentials${profileOf(ctx)} for ${on}: ${msg}`, {
      hint: refreshHint(ctx),
      code: "aws_credentials_invalid",
    });
  }
  if (ACCESS_DENIED.has(code)) {
    return make("access_denied", `AWS denied ${on}: ${msg}`, {
      hint: `grant ${call.api} on that resource to the IAM role or user gs runs as${ctx.profile ? ` (profile ${ctx.profile})` : ""}`,
      code: "aws_access_denied",
    });
  }
  if (isThrottling(err)) {
    return make("throttled", `AWS kept throttling ${on} after ${attempts} attempts`, {
      hint: "wait a minute, or deploy fewer services at once (--concurrency)",
      code: "aws_throttled",
    });
  }
  const missing = notFound(code, call, ctx);
  if (missing) return make("not_found", missing.message, { hint: missing.hint, code: missing.code });
  if (INVALID.has(code)) {
    const setting = settingOf(call, ctx);
    return make("invalid_request", `AWS rejected ${on} as invalid: ${msg}`, {
      hint: setting ? `check ${setting} in gs.yaml` : `check ${subjectOf(call, ctx)} in the AWS console`,
      code: "aws_invalid_request",
      exit: EXIT.usage,
    });
  }
  if (NETWORK.has(e.code ?? "") || code === "TimeoutError") {
    return make("unreachable", `cannot reach AWS for ${on}: ${msg}`, {
      hint: "check the network (proxy, VPN), the region, and AWS_ENDPOINT_URL if it is set",
      code: "aws_unreachable",
    });
  }
  if (e.$fault || e.$metadata?.httpStatusCode) {
    return make("failed", `AWS failed ${on}: ${code}: ${msg}`, {
      hint: "run the command again; if it keeps failing, check the AWS service health for the region",
      code: "aws_failed",
    });
  }
  return err;
}

/** AWS's "does not exist" answers, per resource. */
function notFound(
  code: string,
  call: AwsCall,
  ctx: AwsContext,
): { message: string; hint: string; code: string } | undefined {
  const t = ctx.target;
  const from = t ? ` (target ${t})` : "";
  if (code === "ClusterNotFoundException") {
    return {
      message: `ECS cluster ${call.cluster ?? "?"} not found in ${ctx.region}${from}`,
      hint: `fix the cluster and region in gs.yaml${t ? ` (targets.${t})` : ""}, or use credentials of the account that has the cluster`,
      code: "ecs_cluster_not_found",
    };
  }
  if (code === "ServiceNotFoundException" || code === "ServiceNotActiveException") {
    const state = code === "ServiceNotActiveException" ? "is not active" : "not found";
    return {
      message: `ECS service ${call.service ?? "?"} ${state} in cluster ${call.cluster ?? "?"} (${ctx.region})`,
      hint: `create the service in ECS (gs deploys to existing services), or fix serviceNameFormat / cluster in gs.yaml${t ? ` (targets.${t})` : ""}`,
      code: "ecs_service_not_found",
    };
  }
  // ECS has no "task definition not found" code: describing a missing revision is a ClientException
  if (code === "ClientException" && call.api === "ecs:DescribeTaskDefinition") {
    return {
      message: `ECS task definition ${call.taskDefinition ?? "?"} not found in ${ctx.region}`,
      hint: `check the task definition of ${call.service ?? "the service"} in ECS (was the revision deregistered?)`,
      code: "ecs_task_definition_not_found",
    };
  }
  if (code === "RepositoryNotFoundException") {
    return {
      message: `ECR repository ${call.repository ?? "?"} not found${from}`,
      hint: `create it (gs push --create-repos), or fix the registry in gs.yaml${t ? ` (targets.${t}.registry)` : ""}`,
      code: "ecr_repository_not_found",
    };
  }
  if (code === "ImageNotFoundException") {
    return {
      message: `image ${call.repository ?? "?"}:${call.tag ?? "?"} not found in ECR`,
      hint: "push it first (gs push)",
      code: "ecr_image_not_found",
    };
  }
  if (code !== "ResourceNotFoundException") return undefined;
  if (call.secret) {
    const where = t ? `targets.${t}.nats.credentials.secretArn` : "nats.credentials.secretArn";
    const account = call.secret.split(":")[4];
    return {
      message: `Secrets Manager secret ${call.secret} not found${t ? ` (target ${t}: ${where} in gs.yaml)` : ""}`,
      hint: `create the secret in ${ctx.region}${account ? ` of account ${account}` : ""}, or point ${where} in gs.yaml at an existing one`,
      code: "secret_not_found",
    };
  }
  if (call.logStream) {
    return {
      message: `log stream ${call.logStream} not found in CloudWatch Logs group ${call.logGroup ?? "?"} (${ctx.region})`,
      hint: "the task may have stopped before it logged anything",
      code: "logs_stream_not_found",
    };
  }
  if (call.logGroup) {
    return {
      message: `CloudWatch Logs group ${call.logGroup} not found in ${ctx.region}`,
      hint: `create the log group, or fix awslogs-group in the task definition of ${call.service ?? "the service"}`,
      code: "logs_group_not_found",
    };
  }
  return { message: `${subjectOf(call, ctx)} not found`, hint: "check the name in gs.yaml", code: "aws_not_found" };
}

/** `ecs:DescribeServices on ECS cluster c in us-east-1 (target prod)` */
function describeCall(call: AwsCall, ctx: AwsContext): string {
  return `${call.api} on ${subjectOf(call, ctx)}${ctx.target ? ` (target ${ctx.target})` : ""}`;
}

/** The resources a call names, most specific first. */
function subjectOf(call: AwsCall, ctx: AwsContext): string {
  const parts: string[] = [];
  if (call.secret) parts.push(`secret ${call.secret}`);
  if (call.repository)
    parts.push(call.tag ? `image ${call.repository}:${call.tag}` : `ECR repository ${call.repository}`);
  else if (call.registry) parts.push(`ECR registry ${call.registry}`);
  if (call.logGroup)
    parts.push(call.logStream ? `log stream ${call.logStream} of ${call.logGroup}` : `log group ${call.logGroup}`);
  if (call.taskDefinition) parts.push(`task definition ${call.taskDefinition}`);
  if (call.service) parts.push(`ECS service ${call.service}${call.cluster ? ` of cluster ${call.cluster}` : ""}`);
  else if (call.cluster) parts.push(`ECS cluster ${call.cluster}`);
  return `${parts.length ? parts.join(", ") : "AWS"} in ${ctx.region}`;
}

/** Where gs.yaml sets what the call names, for a hint. */
function settingOf(call: AwsCall, ctx: AwsContext): string | undefined {
  const at = ctx.target ? `targets.${ctx.target}.` : "";
  if (call.secret) return `${at}nats.credentials.secretArn`;
  if (call.repository || call.registry) return `${at}registry`;
  if (call.taskDefinition || call.logGroup) return undefined;
  if (call.service) return `${at}serviceNameFormat and ${at}cluster`;
  if (call.cluster) return `${at}cluster and ${at}region`;
  return undefined;
}

function profileOf(ctx: AwsContext): string {
  return ctx.profile ? ` of profile ${ctx.profile}` : "";
}

function refreshHint(ctx: AwsContext): string {
  const p = ctx.profile ? ` --profile ${ctx.profile}` : "";
  return `refresh your AWS credentials (e.g. \`aws sso login${p}\`, or new keys in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN), then run the command again`;
}
