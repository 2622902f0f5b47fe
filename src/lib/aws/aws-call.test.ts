// The AWS edge, driven through the real SDK clients (made by clients.ts, as gs makes them) against a
// local endpoint that answers with AWS's error shapes: every kind of failure becomes one AwsError
// that names the call's resource, with its code, exit code and next step.
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, UpdateServiceCommand } from "@aws-sdk/client-ecs";
import { GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { describe, expect, it } from "vitest";
import { awsError, awsOk, startAwsEndpoint } from "../../../test/support/aws-endpoint.js";
import { useAwsEndpoint } from "../../../test/support/aws-endpoint-hooks.js";
import { EXIT } from "../output/errors.js";
import { awsCall, type AwsCall } from "./aws-call.js";
import { AwsError } from "./aws-error.js";
import { createEcsClients, createSecretsManagerClient } from "./clients.js";

const CTX = { region: "us-east-1", target: "prod" };
const CLUSTER = "gaming-system-cluster";
const SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:gs/nats-creds-AbCdEf";
const FAST = { attempts: 3, baseMs: 1 };

const aws = useAwsEndpoint();

/** Point the SDK at the endpoint; one SDK attempt per call, so the retries counted are gs's own. */
function useEndpoint(opts: { credentials?: boolean; url?: string } = {}): void {
  aws.pointSdkAt(opts);
}

async function describeCluster(call: Partial<AwsCall> = {}): Promise<AwsError> {
  const { ecs } = await createEcsClients(CTX);
  const err = await awsCall(
    { api: "ecs:DescribeServices", cluster: CLUSTER, ...call },
    CTX,
    () => ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: ["auth-nats"] })),
    FAST,
  ).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(AwsError);
  return err as AwsError;
}

describe("the AWS edge: not found", () => {
  it("names a missing ECS cluster, its region and target, and what to fix in gs.yaml", async () => {
    useEndpoint();
    aws.answer = () => awsError("ClusterNotFoundException", "Cluster not found.");
    const err = await describeCluster();
    expect(err.message).toBe("ECS cluster gaming-system-cluster not found in us-east-1 (target prod)");
    expect(err.hint).toBe(
      "fix the cluster and region in gs.yaml (targets.prod), or use credentials of the account that has the cluster",
    );
    expect([err.code, err.exitCode, err.kind, err.awsCode]).toEqual([
      "ecs_cluster_not_found",
      EXIT.failed,
      "not_found",
      "ClusterNotFoundException",
    ]);
    expect(aws.endpoint.calls).toEqual([
      {
        service: "AmazonEC2ContainerServiceV20141113",
        operation: "DescribeServices",
        input: { cluster: CLUSTER, services: ["auth-nats"] },
      },
    ]);
  });

  it("names a missing ECS service and its cluster", async () => {
    useEndpoint();
    aws.answer = () => awsError("ServiceNotFoundException", "Service not found.");
    const { ecs } = await createEcsClients(CTX);
    const err = (await awsCall(
      { api: "ecs:UpdateService", cluster: CLUSTER, service: "auth-nats" },
      CTX,
      () => ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: "auth-nats", desiredCount: 3 })),
      FAST,
    ).catch((e: unknown) => e)) as AwsError;
    expect(err.message).toBe("ECS service auth-nats not found in cluster gaming-system-cluster (us-east-1)");
    expect(err.hint).toMatch(
      /^create the service in ECS .*serviceNameFormat \/ cluster in gs\.yaml \(targets\.prod\)$/,
    );
    expect(err.code).toBe("ecs_service_not_found");
  });

  it("names a task definition ECS cannot describe", async () => {
    useEndpoint();
    aws.answer = () => awsError("ClientException", "Unable to describe task definition.");
    const arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/auth-nats:41";
    const { ecs } = await createEcsClients(CTX);
    const err = (await awsCall(
      { api: "ecs:DescribeTaskDefinition", cluster: CLUSTER, taskDefinition: arn },
      CTX,
      () => ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn })),
      FAST,
    ).catch((e: unknown) => e)) as AwsError;
    expect(err.message).toBe(`ECS task definition ${arn} not found in us-east-1`);
    expect(err.code).toBe("ecs_task_definition_not_found");
  });

  it("names a missing secret, the target and the gs.yaml setting that points at it", async () => {
    useEndpoint();
    aws.answer = () =>
      awsError(
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret.",
        400,
        "com.amazonaws.secretsmanager",
      );
    const client = await createSecretsManagerClient(CTX);
    const err = (await awsCall(
      { api: "secretsmanager:GetSecretValue", secret: SECRET },
      CTX,
      () => client.send(new GetSecretValueCommand({ SecretId: SECRET })),
      FAST,
    ).catch((e: unknown) => e)) as AwsError;
    expect(err.message).toBe(
      `Secrets Manager secret ${SECRET} not found (target prod: targets.prod.nats.credentials.secretArn in gs.yaml)`,
    );
    expect(err.hint).toBe(
      "create the secret in us-east-1 of account 123456789012, or point targets.prod.nats.credentials.secretArn in gs.yaml at an existing one",
    );
    expect(err.code).toBe("secret_not_found");
    expect(err.message).not.toMatch(/can't find/);
  });
});

describe("the AWS edge: access, credentials, limits", () => {
  it("says which call on which resource was denied, and what to grant", async () => {
    useEndpoint();
    const denied =
      "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecs:DescribeServices on resource: arn:aws:ecs:us-east-1:123456789012:service/gaming-system-cluster/auth-nats because no identity-based policy allows the ecs:DescribeServices action";
    aws.answer = () => awsError("AccessDeniedException", denied);
    const err = await describeCluster();
    expect(err.message).toBe(
      `AWS denied ecs:DescribeServices on ECS cluster gaming-system-cluster in us-east-1 (target prod): ${denied}`,
    );
    expect(err.hint).toBe("grant ecs:DescribeServices on that resource to the IAM role or user gs runs as");
    expect([err.code, err.exitCode]).toEqual(["aws_access_denied", EXIT.failed]);
  });

  it("retries throttling, then succeeds", async () => {
    useEndpoint();
    let n = 0;
    aws.answer = () =>
      ++n <= 2 ? awsError("ThrottlingException", "Rate exceeded") : awsOk({ services: [], failures: [] });
    const { ecs } = await createEcsClients(CTX);
    const out = await awsCall(
      { api: "ecs:DescribeServices", cluster: CLUSTER },
      CTX,
      () => ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: ["auth-nats"] })),
      FAST,
    );
    expect(out.services).toEqual([]);
    expect(aws.endpoint.calls).toHaveLength(3);
  });

  it("gives up on endless throttling with one line", async () => {
    useEndpoint();
    aws.answer = () => awsError("ThrottlingException", "Rate exceeded");
    const err = await describeCluster();
    expect(err.message).toBe(
      "AWS kept throttling ecs:DescribeServices on ECS cluster gaming-system-cluster in us-east-1 (target prod) after 3 attempts",
    );
    expect(err.code).toBe("aws_throttled");
    expect(aws.endpoint.calls).toHaveLength(3);
  });

  it("says the credentials have expired, never retrying them", async () => {
    useEndpoint();
    aws.answer = () => awsError("ExpiredTokenException", "The security token included in the request is expired");
    const err = await describeCluster();
    expect(err.message).toBe(
      "AWS credentials have expired: ecs:DescribeServices on ECS cluster gaming-system-cluster in us-east-1 (target prod)",
    );
    expect(err.hint).toMatch(/^refresh your AWS credentials \(e\.g\. `aws sso login`/);
    expect(err.code).toBe("aws_credentials_expired");
    expect(aws.endpoint.calls).toHaveLength(1);
  });

  it("says the credentials were rejected", async () => {
    useEndpoint();
    aws.answer = () =>
      awsError("UnrecognizedClientException", "The security token included in the request is invalid.");
    const err = await describeCluster();
    expect(err.message).toMatch(/^AWS rejected the credentials for ecs:DescribeServices on ECS cluster /);
    expect(err.code).toBe("aws_credentials_invalid");
  });

  it("says when there are no credentials at all, before sending anything", async () => {
    useEndpoint({ credentials: false });
    aws.answer = () => awsOk({ services: [], failures: [] });
    const err = await describeCluster();
    expect(err.message).toMatch(
      /^cannot load AWS credentials for ecs:DescribeServices on ECS cluster gaming-system-cluster in us-east-1 \(target prod\): /,
    );
    expect(err.hint).toMatch(/aws configure/);
    expect(err.code).toBe("aws_credentials_missing");
    expect(aws.endpoint.calls).toHaveLength(0);
  });
});

describe("the AWS edge: bad requests and outages", () => {
  it("reports a request AWS refuses as invalid as bad input (exit 2), naming the gs.yaml setting", async () => {
    useEndpoint();
    aws.answer = () =>
      awsError("InvalidParameterException", "Cluster name can only contain letters, numbers, and hyphens.");
    const err = await describeCluster();
    expect(err.message).toBe(
      "AWS rejected ecs:DescribeServices on ECS cluster gaming-system-cluster in us-east-1 (target prod) as invalid: Cluster name can only contain letters, numbers, and hyphens.",
    );
    expect(err.hint).toBe("check targets.prod.cluster and targets.prod.region in gs.yaml");
    expect([err.code, err.exitCode]).toEqual(["aws_invalid_request", EXIT.usage]);
  });

  it("retries AWS's own failures, then reports them as a failure, not a bug", async () => {
    useEndpoint();
    aws.answer = () => awsError("ServerException", "Service unavailable. Please try again later.", 500);
    const err = await describeCluster();
    expect(err.message).toBe(
      "AWS failed ecs:DescribeServices on ECS cluster gaming-system-cluster in us-east-1 (target prod): ServerException: Service unavailable. Please try again later.",
    );
    expect(err.code).toBe("aws_failed");
    expect(aws.endpoint.calls).toHaveLength(3);
  });

  it("says when AWS cannot be reached", async () => {
    // a port nothing listens on: the stopped endpoint of another test server
    const gone = await startAwsEndpoint(() => awsOk());
    await gone.stop();
    useEndpoint({ url: gone.url });
    const err = await describeCluster();
    expect(err.message).toMatch(
      /^cannot reach AWS for ecs:DescribeServices on ECS cluster gaming-system-cluster in us-east-1 \(target prod\): .*ECONNREFUSED/,
    );
    expect(err.code).toBe("aws_unreachable");
  });

  it("leaves errors that are not AWS's alone: they are bugs", async () => {
    const bug = new TypeError("cannot read properties of undefined");
    await expect(awsCall({ api: "ecs:DescribeServices" }, CTX, () => Promise.reject(bug), FAST)).rejects.toBe(bug);
  });
});
