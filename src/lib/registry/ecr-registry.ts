// Amazon ECR: login through GetAuthorizationToken (the token stays in memory and goes to the engine
// through a 0600 auth file, never a command line or a log), existence through DescribeImages, and
// repositories created with scan on push and immutable tags.
import type { ECRClient } from "@aws-sdk/client-ecr";
import type { RegistryAuth } from "../build/image-engine.js";
import { awsCall, type AwsContext, type RetryPolicy } from "../aws/aws-call.js";
import { AwsError } from "../aws/aws-error.js";
import { OperationError } from "../output/errors.js";
import { ECR_REPOSITORY_SETTINGS, RepositoryMissingError, type ImageRegistry } from "./registry.js";

export class EcrRegistry implements ImageRegistry {
  readonly kind = "ecr" as const;
  readonly tlsVerify = true;
  private token?: { auth: RegistryAuth; expires: number };

  constructor(
    readonly host: string,
    private readonly client: ECRClient,
    private readonly ctx: AwsContext & { registryId: string },
    private readonly retry?: RetryPolicy,
  ) {}

  async auth(): Promise<RegistryAuth> {
    // ECR tokens last 12 hours; one is enough for every push of a run
    if (this.token && this.token.expires > Date.now() + 60_000) return this.token.auth;
    const { GetAuthorizationTokenCommand } = await import("@aws-sdk/client-ecr");
    const out = await awsCall(
      { api: "ecr:GetAuthorizationToken", registry: this.host },
      this.ctx,
      () => this.client.send(new GetAuthorizationTokenCommand({})),
      this.retry,
    );
    const data = out.authorizationData?.[0];
    const decoded = data?.authorizationToken ? Buffer.from(data.authorizationToken, "base64").toString("utf8") : "";
    const colon = decoded.indexOf(":");
    if (colon < 0)
      throw new OperationError("ECR returned no usable authorization token", {
        hint: "check that the registry in gs.yaml is an ECR registry of this account",
      });
    const auth = { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    this.token = { auth, expires: data?.expiresAt?.getTime() ?? Date.now() + 3_600_000 };
    return auth;
  }

  async find(repository: string, tag: string): Promise<string | undefined> {
    const { DescribeImagesCommand } = await import("@aws-sdk/client-ecr");
    try {
      const out = await awsCall(
        { api: "ecr:DescribeImages", repository: `${this.host}/${repository}`, tag },
        this.ctx,
        () =>
          this.client.send(
            new DescribeImagesCommand({
              registryId: this.ctx.registryId,
              repositoryName: repository,
              imageIds: [{ imageTag: tag }],
            }),
          ),
        this.retry,
      );
      return out.imageDetails?.[0]?.imageDigest;
    } catch (err) {
      // answers, not failures: the tag is not there yet, or the repository must be created (--create-repos)
      if (err instanceof AwsError && err.awsCode === "ImageNotFoundException") return undefined;
      if (err instanceof AwsError && err.awsCode === "RepositoryNotFoundException")
        throw new RepositoryMissingError(repository, this.host);
      throw err;
    }
  }

  async createRepository(repository: string): Promise<void> {
    const { CreateRepositoryCommand } = await import("@aws-sdk/client-ecr");
    try {
      await awsCall(
        { api: "ecr:CreateRepository", repository: `${this.host}/${repository}` },
        this.ctx,
        () =>
          this.client.send(
            new CreateRepositoryCommand({
              registryId: this.ctx.registryId,
              repositoryName: repository,
              ...ECR_REPOSITORY_SETTINGS,
            }),
          ),
        this.retry,
      );
    } catch (err) {
      // created meanwhile (another push, another CI job): what was asked for is there
      if (!(err instanceof AwsError && err.awsCode === "RepositoryAlreadyExistsException")) throw err;
    }
  }
}
