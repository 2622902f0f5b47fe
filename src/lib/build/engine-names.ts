// The image builders gs knows, apart from the engines themselves: flags name them, and every command
// loads flags, so this must not pull in execa.
export type EngineName = "docker" | "buildah";
export const ENGINE_NAMES: readonly EngineName[] = ["docker", "buildah"];
