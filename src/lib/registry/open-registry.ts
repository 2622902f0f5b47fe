// The registry of a target: ECR when the host is an ECR host, a plain v2 registry otherwise.
import { createEcrClient } from "../aws/clients.js";
import type { AwsContext } from "../aws/aws-call.js";
import { EcrRegistry } from "./ecr-registry.js";
import { PlainRegistry } from "./plain-registry.js";
import { parseEcrHost, repositoryOf, type ImageRegistry } from "./registry.js";

export async function openRegistry(registry: string, aws: Partial<AwsContext> = {}): Promise<ImageRegistry> {
  const { host } = repositoryOf(registry, "x");
  const ecr = parseEcrHost(host);
  if (!ecr) return new PlainRegistry(host);
  // the registry's own region wins: an image may live in another region than the cluster
  const ctx = { region: ecr.region, profile: aws.profile, target: aws.target, registryId: ecr.registryId };
  return new EcrRegistry(host, await createEcrClient(ctx), ctx);
}
