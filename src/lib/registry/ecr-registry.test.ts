// ECR as gs opens it (openRegistry: the real client), against a local endpoint with AWS's answers:
// "no such tag" and "no such repository" are answers a push acts on; the rest are one-line errors.
import { describe, expect, it } from "vitest";
import { awsError, awsOk } from "../../../test/support/aws-endpoint.js";
import { useAwsEndpoint } from "../../../test/support/aws-endpoint-hooks.js";
import { AwsError } from "../aws/aws-error.js";
import { openRegistry } from "./open-registry.js";
import { RepositoryMissingError } from "./registry.js";

const HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const DIGEST = "sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

const aws = useAwsEndpoint();

async function registry() {
  aws.pointSdkAt();
  return openRegistry(`${HOST}/gaming`, { region: "us-east-1", target: "prod" });
}

describe("ECR through the AWS edge", () => {
  it("finds an image's digest by tag", async () => {
    const r = await registry();
    aws.answer = () =>
      awsOk({ imageDetails: [{ registryId: "123456789012", repositoryName: "gaming/auth", imageDigest: DIGEST }] });
    expect(await r.find("gaming/auth", "0.1.0-1a2b3c4d5e6f")).toBe(DIGEST);
    expect(aws.endpoint.calls[0]).toEqual({
      service: "AmazonEC2ContainerRegistry_V20150921",
      operation: "DescribeImages",
      input: {
        registryId: "123456789012",
        repositoryName: "gaming/auth",
        imageIds: [{ imageTag: "0.1.0-1a2b3c4d5e6f" }],
      },
    });
  });

  it("takes ImageNotFoundException as 'not pushed yet'", async () => {
    const r = await registry();
    aws.answer = () =>
      awsError(
        "ImageNotFoundException",
        "The image with imageId {imageDigest:'null', imageTag:'0.1.0-1a2b3c4d5e6f'} does not exist within the repository with name 'gaming/auth' in the registry with id '123456789012'",
      );
    expect(await r.find("gaming/auth", "0.1.0-1a2b3c4d5e6f")).toBeUndefined();
  });

  it("turns RepositoryNotFoundException into the error --create-repos acts on", async () => {
    const r = await registry();
    aws.answer = () =>
      awsError(
        "RepositoryNotFoundException",
        "The repository with name 'gaming/auth' does not exist in the registry with id '123456789012'",
      );
    const err = await r.find("gaming/auth", "0.1.0-1a2b3c4d5e6f").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RepositoryMissingError);
    expect((err as RepositoryMissingError).message).toBe(`repository gaming/auth does not exist in ${HOST}`);
  });

  it("creates a repository that another job created meanwhile without an error", async () => {
    const r = await registry();
    aws.answer = () =>
      awsError(
        "RepositoryAlreadyExistsException",
        "The repository with name 'gaming/auth' already exists in the registry with id '123456789012'",
      );
    await expect(r.createRepository("gaming/auth")).resolves.toBeUndefined();
    expect(aws.endpoint.calls[0]!.input).toMatchObject({
      repositoryName: "gaming/auth",
      imageTagMutability: "IMMUTABLE",
      imageScanningConfiguration: { scanOnPush: true },
    });
  });

  it("names the repository a push may not create", async () => {
    const r = await registry();
    aws.answer = () =>
      awsError(
        "AccessDeniedException",
        "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecr:CreateRepository",
      );
    const err = (await r.createRepository("gaming/auth").catch((e: unknown) => e)) as AwsError;
    expect(err).toBeInstanceOf(AwsError);
    expect(err.message).toMatch(
      new RegExp(
        `^AWS denied ecr:CreateRepository on ECR repository ${HOST}/gaming/auth in us-east-1 \\(target prod\\): `,
      ),
    );
    expect(err.code).toBe("aws_access_denied");
  });

  it("names the registry when logging in fails", async () => {
    const r = await registry();
    aws.answer = () => awsError("ExpiredTokenException", "The security token included in the request is expired");
    const err = (await r.auth().catch((e: unknown) => e)) as AwsError;
    expect(err.message).toBe(
      `AWS credentials have expired: ecr:GetAuthorizationToken on ECR registry ${HOST} in us-east-1 (target prod)`,
    );
  });
});
