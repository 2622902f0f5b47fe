// Where images go: an ECR registry (the ecs targets) or a plain registry without auth (a loopback
// registry in tests, a mirror). Both answer the same three questions for a push.
import type { RegistryAuth } from "../build/image-engine.js";
import { GsError } from "../output/errors.js";

export interface ImageRegistry {
  readonly kind: "ecr" | "plain";
  /** host[:port], e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com */
  readonly host: string;
  /** false: plain HTTP (loopback registries) */
  readonly tlsVerify: boolean;
  /** credentials for a push, or undefined when the registry needs none */
  auth(): Promise<RegistryAuth | undefined>;
  /** the manifest digest of `repository:tag`, or undefined when that tag is not there; RepositoryMissingError when the repository is not */
  find(repository: string, tag: string): Promise<string | undefined>;
  /** create the repository (ECR: scan on push, immutable tags); a no-op where repositories are implicit */
  createRepository(repository: string): Promise<void>;
}

/** How `--create-repos` creates an ECR repository: scan on push, immutable tags (what a plan shows and ECR is sent). */
export const ECR_REPOSITORY_SETTINGS = {
  imageScanningConfiguration: { scanOnPush: true },
  imageTagMutability: "IMMUTABLE",
} as const;

export class RepositoryMissingError extends GsError {
  override name = "RepositoryMissingError";
  constructor(
    readonly repository: string,
    host: string,
  ) {
    super(`repository ${repository} does not exist in ${host}`, {
      hint: "create it, or run with --create-repos",
      code: "repository_missing",
    });
  }
}

/** `registry` as gs.yaml gives it (`host[:port][/prefix]`) split into host and the repository of `service`. */
export function repositoryOf(registry: string, service: string): { host: string; repository: string } {
  const [host, ...prefix] = registry.split("/");
  return { host: host!, repository: [...prefix.filter(Boolean), service].join("/") };
}

const ECR_HOST = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

export function parseEcrHost(host: string): { registryId: string; region: string } | undefined {
  const m = ECR_HOST.exec(host);
  return m ? { registryId: m[1]!, region: m[2]! } : undefined;
}

/** Loopback registries speak plain HTTP, as Docker assumes for 127.0.0.0/8. */
export function isLoopbackHost(host: string): boolean {
  const name = host.replace(/:\d+$/, "");
  return name === "localhost" || /^127\.\d+\.\d+\.\d+$/.test(name) || name === "[::1]";
}

/** The full, digest-pinned reference ECS runs: `host/repository@sha256:...` */
export function pinnedUri(host: string, repository: string, digest: string): string {
  return `${host}/${repository}@${digest}`;
}
