// A local stand-in for the AWS APIs gs calls. ECS, ECR, CloudWatch Logs and Secrets Manager all speak
// awsJson1_1 (POST /, X-Amz-Target: <prefix>.<Operation>, a JSON body), so one HTTP server on 127.0.0.1
// answers them all, as the test says, with AWS's own error shapes: status, x-amzn-errortype and a body
// with __type and message. The real SDK clients — in this process, or in the built CLI through
// AWS_ENDPOINT_URL — meet real answers; nothing leaves the machine.
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface AwsRequest {
  /** the X-Amz-Target prefix: AmazonEC2ContainerServiceV20141113, secretsmanager, Logs_20140328, ... */
  service: string;
  /** e.g. DescribeServices */
  operation: string;
  input: Record<string, unknown>;
}

export type AwsReply = { status: number; body: unknown; errorType?: string };

/** A successful answer: the operation's output shape. */
export const awsOk = (body: unknown = {}): AwsReply => ({ status: 200, body });

/**
 * AWS's error answer: `type` is the AWS error code (ResourceNotFoundException, ThrottlingException,
 * ...). Most are HTTP 400 in these protocols; the namespace in __type is what AWS sends for the service.
 */
export const awsError = (type: string, message: string, status = 400, namespace = "com.amazonaws"): AwsReply => ({
  status,
  errorType: type,
  body: { __type: `${namespace}#${type}`, message },
});

/** Valid-looking fake static credentials (AWS's documentation example keys): they only ever reach 127.0.0.1. */
const FAKE_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
  AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
};

export interface AwsEndpoint {
  url: string;
  /** every request, in order */
  calls: AwsRequest[];
  /** env that sends every SDK client of these services here, with fake credentials and no other credential source */
  env(opts?: { credentials?: boolean }): Record<string, string>;
  stop(): Promise<void>;
}

/** Start the endpoint; `answer` is asked for every request (unknown ones should get an error reply). */
export async function startAwsEndpoint(
  answer: (req: AwsRequest) => AwsReply | Promise<AwsReply>,
): Promise<AwsEndpoint> {
  const calls: AwsRequest[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (d: string) => (body += d));
    req.on("end", async () => {
      const target = String(req.headers["x-amz-target"] ?? "");
      const dot = target.lastIndexOf(".");
      const call: AwsRequest = {
        service: target.slice(0, dot),
        operation: target.slice(dot + 1),
        input: body ? (JSON.parse(body) as Record<string, unknown>) : {},
      };
      calls.push(call);
      let reply: AwsReply;
      try {
        reply = await answer(call);
      } catch (err) {
        reply = awsError("InternalFailure", `test endpoint: ${(err as Error).message}`, 500);
      }
      res.writeHead(reply.status, {
        "content-type": "application/x-amz-json-1.1",
        "x-amzn-requestid": `00000000-0000-4000-8000-${String(calls.length).padStart(12, "0")}`,
        ...(reply.errorType ? { "x-amzn-errortype": `${reply.errorType}:http://internal.amazon.com/coral/` } : {}),
      });
      res.end(JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    calls,
    env: (opts = {}) => awsEnvFor(url, opts.credentials ?? true),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The SDK's endpoint and credential settings for a test: every service of gs at `url` (the
 * per-service variables too, so none set on the machine wins), static fake keys or none, and no
 * shared config files, instance metadata or container credentials to look for.
 */
export function awsEnvFor(url: string, credentials = true): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: url,
    AWS_ENDPOINT_URL_ECS: url,
    AWS_ENDPOINT_URL_ECR: url,
    AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: url,
    AWS_REGION: "us-east-1",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_CONFIG_FILE: "/nonexistent/gs-test/aws-config",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/gs-test/aws-credentials",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    ...(credentials ? FAKE_CREDENTIALS : {}),
  };
}

/** What must not reach the SDK in a test process: credentials and endpoints of the machine it runs on. */
export const AWS_ENV_TO_CLEAR = [
  "AWS_PROFILE",
  "AWS_DEFAULT_PROFILE",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_ROLE_ARN",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_MAX_ATTEMPTS",
  "AWS_RETRY_MODE",
];
