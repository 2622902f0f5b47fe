// The AWS endpoint of test/support/aws-endpoint.ts as a test file uses it: vitest's hooks start and stop
// it, and each test says what it answers and points the SDK at it. Apart from aws-endpoint.ts, which
// the ECS simulator also loads outside vitest (bench/status-ecs.mjs).
import { afterAll, afterEach, beforeAll, vi } from "vitest";
import {
  AWS_ENV_TO_CLEAR,
  awsEnvFor,
  awsError,
  startAwsEndpoint,
  type AwsEndpoint,
  type AwsReply,
  type AwsRequest,
} from "./aws-endpoint.js";

export interface AwsEndpointInTests {
  /** the endpoint, once the file's beforeAll has started it */
  readonly endpoint: AwsEndpoint;
  /** what the endpoint answers; a test sets it before it calls (default: an error reply) */
  answer: (req: AwsRequest) => AwsReply;
  /**
   * Points this process's SDK clients at the endpoint (or `url`) for the current test, nothing of
   * the machine's AWS settings left; by default one SDK attempt per call, so the retries a test
   * counts are gs's own.
   */
  pointSdkAt(opts?: { url?: string; credentials?: boolean; sdkRetries?: boolean }): void;
}

/**
 * The endpoint for one test file: started before its tests, stopped after them; after each test its
 * calls are forgotten and the env stubs undone.
 */
export function useAwsEndpoint(): AwsEndpointInTests {
  let endpoint: AwsEndpoint | undefined;
  const handle: AwsEndpointInTests = {
    get endpoint() {
      if (!endpoint) throw new Error("the AWS endpoint starts in beforeAll: use it inside a test");
      return endpoint;
    },
    answer: () => awsError("UnknownOperationException", "no answer set"),
    pointSdkAt(opts = {}) {
      for (const k of AWS_ENV_TO_CLEAR) vi.stubEnv(k, undefined);
      for (const [k, v] of Object.entries(awsEnvFor(opts.url ?? handle.endpoint.url, opts.credentials ?? true)))
        vi.stubEnv(k, v);
      if (!opts.sdkRetries) vi.stubEnv("AWS_MAX_ATTEMPTS", "1");
    },
  };
  beforeAll(async () => {
    endpoint = await startAwsEndpoint((req) => handle.answer(req));
  });
  afterAll(async () => endpoint?.stop());
  afterEach(() => {
    vi.unstubAllEnvs();
    if (endpoint) endpoint.calls.length = 0;
  });
  return handle;
}
