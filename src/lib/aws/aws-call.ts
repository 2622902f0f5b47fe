// The one edge where gs calls AWS: every SDK `send` goes through awsCall, which retries throttling
// and AWS's 5xx with backoff and turns what is left into an AwsError naming the resource.
import type { AwsCall, AwsContext } from "./aws-context.js";
import { isTransient, translateAwsError } from "./aws-error.js";

export type { AwsCall, AwsContext } from "./aws-context.js";

export interface RetryPolicy {
  /** total attempts, first included */
  attempts: number;
  /** first backoff; doubles each retry, with jitter */
  baseMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseMs: 400 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Call AWS, retrying throttling and 5xx answers (a 22-service deploy polls hard enough to meet
 * ECS's rate limits) on top of the SDK's own retries, and translate what is left into an AwsError.
 */
export async function awsCall<T>(
  call: AwsCall,
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
      throw translateAwsError(err, call, ctx, attempt);
    }
  }
}
