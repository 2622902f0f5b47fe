// An ecs target's NATS credentials from Secrets Manager, through the real SDK client against a local
// endpoint with AWS's answers, and a real nats-server that requires the credentials.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsError, awsOk, type AwsReply } from "../../../test/support/aws-endpoint.js";
import { useAwsEndpoint } from "../../../test/support/aws-endpoint-hooks.js";
import { startNatsServer, type TestNatsServer } from "../../../test/support/nats-server.js";
import { AwsError } from "../aws/aws-error.js";
import type { EcsTarget } from "../config/load.js";
import { GsError } from "../output/errors.js";
import { NatsConnectError } from "./connect.js";
import { connectTargetNats } from "./target-nats.js";

const SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:gs/nats-creds-AbCdEf";
const PASSWORD = "s3cret-from-secrets-manager";

const aws = useAwsEndpoint();
let nats: TestNatsServer;

beforeAll(async () => {
  nats = await startNatsServer({ args: ["--user", "gs-deploy", "--pass", PASSWORD] });
});
afterAll(async () => {
  await nats?.stop();
});

function useEndpoint(): void {
  // the SDK keeps its default attempts here: these tests count no retries
  aws.pointSdkAt({ sdkRetries: true });
}

function target(secretArn = SECRET): EcsTarget {
  return {
    platform: "ecs",
    region: "us-east-1",
    cluster: "gaming-system-cluster",
    registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com",
    serviceNameFormat: "{service}-nats",
    confirm: true,
    nats: { url: nats.url, credentials: { secretArn } },
  };
}

const secretValue = (value: string): AwsReply =>
  awsOk({ ARN: SECRET, Name: "gs/nats-creds", VersionId: "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111", SecretString: value });

describe("an ecs target's NATS credentials in Secrets Manager", () => {
  it("fetches the secret and connects with the user and password it holds", async () => {
    useEndpoint();
    aws.answer = (req) =>
      req.operation === "GetSecretValue"
        ? secretValue(JSON.stringify({ user: "gs-deploy", password: PASSWORD }))
        : awsError("UnknownOperationException", req.operation);
    const nc = await connectTargetNats(target(), { targetName: "prod", root: "/", timeoutMs: 2000 });
    try {
      await nc.flush();
    } finally {
      await nc.close();
    }
    expect(aws.endpoint.calls).toEqual([
      { service: "secretsmanager", operation: "GetSecretValue", input: { SecretId: SECRET } },
    ]);
  });

  it("names the missing secret, its target and the gs.yaml setting, not AWS's bare sentence", async () => {
    useEndpoint();
    aws.answer = () =>
      awsError(
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret.",
        400,
        "com.amazonaws.secretsmanager",
      );
    const err = (await connectTargetNats(target(), { targetName: "prod", root: "/" }).catch(
      (e: unknown) => e,
    )) as AwsError;
    expect(err).toBeInstanceOf(AwsError);
    expect(err.message).toBe(
      `Secrets Manager secret ${SECRET} not found (target prod: targets.prod.nats.credentials.secretArn in gs.yaml)`,
    );
    expect(err.hint).toMatch(/^create the secret in us-east-1 of account 123456789012, or point /);
    expect(err.code).toBe("secret_not_found");
  });

  it("says which secret gs may not read", async () => {
    useEndpoint();
    aws.answer = () =>
      awsError(
        "AccessDeniedException",
        `User: arn:aws:sts::123456789012:assumed-role/ci/gs is not authorized to perform: secretsmanager:GetSecretValue on resource: ${SECRET}`,
      );
    const err = (await connectTargetNats(target(), { targetName: "prod", root: "/" }).catch(
      (e: unknown) => e,
    )) as AwsError;
    expect(err.message).toMatch(
      new RegExp(`^AWS denied secretsmanager:GetSecretValue on secret ${SECRET} in us-east-1 \\(target prod\\): `),
    );
    expect(err.hint).toBe("grant secretsmanager:GetSecretValue on that resource to the IAM role or user gs runs as");
  });

  it("refuses a secret that holds no credentials, naming it but never its value", async () => {
    useEndpoint();
    aws.answer = () => secretValue("not credentials: hunter2");
    const err = (await connectTargetNats(target(), { targetName: "prod", root: "/" }).catch(
      (e: unknown) => e,
    )) as GsError;
    expect(err).toBeInstanceOf(GsError);
    expect(err.message).toBe(`secret ${SECRET} holds no NATS credentials gs understands`);
    expect(`${err.message} ${err.hint}`).not.toContain("hunter2");
  });

  it("fails to connect with a wrong password without printing it", async () => {
    useEndpoint();
    aws.answer = () => secretValue(JSON.stringify({ user: "gs-deploy", password: "wrong-password" }));
    const err = (await connectTargetNats(target(), { targetName: "prod", root: "/", timeoutMs: 2000 }).catch(
      (e: unknown) => e,
    )) as NatsConnectError;
    expect(err).toBeInstanceOf(NatsConnectError);
    expect(err.code).toBe("nats_auth_failed");
    expect(err.hint).toMatch(/target prod/);
    expect(`${err.message} ${err.hint}`).not.toContain("wrong-password");
  });
});
