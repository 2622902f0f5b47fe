// The one edge where AWS SDK errors become gs errors: throttling is retried with backoff; expired
// or missing credentials, missing clusters and services become one line with a next step.
import { GsError, OperationError } from "../output/errors.js";

export interface AwsContext {
  region: string;
  profile?: string;
}

export interface RetryPolicy {
  /** total attempts, first included */
  attempts: number;
  /** first backoff; doubles each retry, with jitter */
  baseMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseMs: 400 };

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
]);

interface SdkError {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
}

export function isThrottling(err: unknown): boolean {
  const e = err as SdkError;
  return THROTTLING.has(e?.name ?? "") || e?.$retryable?.throttling === true || e?.$metadata?.httpStatusCode === 429;
}

function isTransient(err: unknown): boolean {
  const e = err as SdkError;
  const status = e?.$metadata?.httpStatusCode ?? 0;
  return (
    isThrottling(err) || e?.name === "ServerException" || e?.name === "ServiceUnavailableException" || status >= 500
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Call AWS, retrying throttling and 5xx answers (a 22-service deploy polls hard enough to meet
 * ECS's rate limits), and translate what is left into a GsError. `what` names the call for the message.
 */
export async function awsCall<T>(
  what: string,
  ctx: AwsContext,
  fn: () => Promise<T>,
  retry: RetryPolicy = DEFAULT_RETRY,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (isTransient(err) && attempt < retry.attempts) {
        const backoff = retry.baseMs * 2 ** (attempt - 1);
        await sleep(backoff / 2 + Math.random() * (backoff / 2));
        continue;
      }
      throw translateAwsError(err, what, ctx, attempt);
    }
  }
}

function profileHint(ctx: AwsContext): string {
  const p = ctx.profile ? ` --profile ${ctx.profile}` : "";
  return `refresh your AWS credentials (e.g. \`aws sso login${p}\`, or new keys in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN), then run the command again`;
}

/** Known AWS failures as one line with a next step; other errors pass through unchanged. */
export function translateAwsError(err: unknown, what: string, ctx: AwsContext, attempts = 1): unknown {
  if (err instanceof GsError) return err;
  const e = err as SdkError;
  const name = e?.name ?? "";
  const msg = (e?.message ?? String(err)).split("\n")[0]!;
  if (EXPIRED.has(name) || (/expired/i.test(msg) && /token|credential|session/i.test(msg))) {
    return new GsError(`AWS credentials have expired (${what})`, {
      hint: profileHint(ctx),
      code: "aws_credentials_expired",
      cause: err,
    });
  }
  if (name === "CredentialsProviderError" || name === "TokenProviderError" || /could not load credentials/i.test(msg)) {
    return new GsError(`no AWS credentials found${ctx.profile ? ` for profile ${ctx.profile}` : ""} (${what})`, {
      hint: `configure credentials (aws configure${ctx.profile ? ` --profile ${ctx.profile}` : ""}, AWS_PROFILE, or OIDC in CI), then run the command again`,
      code: "aws_credentials_missing",
      cause: err,
    });
  }
  if (BAD_CREDENTIALS.has(name)) {
    return new GsError(`AWS rejected the credentials (${what}): ${msg}`, {
      hint: profileHint(ctx),
      code: "aws_credentials_invalid",
      cause: err,
    });
  }
  if (name === "AccessDeniedException" || name === "AccessDenied") {
    return new GsError(`AWS denied ${what}: ${msg}`, {
      hint: "grant the missing IAM permission to the role or user gs runs as",
      code: "aws_access_denied",
      cause: err,
    });
  }
  if (name === "ClusterNotFoundException") {
    return new GsError(`ECS cluster not found in ${ctx.region} (${what})`, {
      hint: "check the target's cluster and region in gs.yaml",
      code: "ecs_cluster_not_found",
      cause: err,
    });
  }
  if (isThrottling(err)) {
    return new OperationError(`AWS kept throttling ${what} (${attempts} attempts)`, {
      hint: "wait a minute, or deploy fewer services at once (--concurrency)",
      code: "aws_throttled",
      cause: err,
    });
  }
  return err;
}
