// A registry without auth that speaks the Docker Registry HTTP API v2 (Debian's docker-registry in
// tests). Repositories exist implicitly; a tag's digest comes from a HEAD on its manifest.
import type { RegistryAuth } from "../build/image-engine.js";
import { OperationError } from "../output/errors.js";
import { isLoopbackHost, type ImageRegistry } from "./registry.js";

export const MANIFEST_TYPES = [
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
].join(", ");

export class PlainRegistry implements ImageRegistry {
  readonly kind = "plain" as const;
  readonly tlsVerify: boolean;
  constructor(readonly host: string) {
    this.tlsVerify = !isLoopbackHost(host);
  }

  get baseUrl(): string {
    return `${this.tlsVerify ? "https" : "http"}://${this.host}`;
  }

  async auth(): Promise<RegistryAuth | undefined> {
    return undefined;
  }

  async find(repository: string, tag: string): Promise<string | undefined> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}/v2/${repository}/manifests/${tag}`, {
        method: "HEAD",
        headers: { Accept: MANIFEST_TYPES },
      });
    } catch (err) {
      throw new OperationError(`registry ${this.host} does not answer: ${(err as Error).message}`, {
        hint: "check the target's registry in gs.yaml and that the registry is running",
        cause: err,
      });
    }
    if (res.status === 404) return undefined;
    if (!res.ok)
      throw new OperationError(`registry ${this.host} answered ${res.status} for ${repository}:${tag}`, {
        hint: "check the registry's logs",
      });
    return res.headers.get("docker-content-digest") ?? undefined;
  }

  async createRepository(): Promise<void> {
    // repositories are created by the first push
  }
}
