// The container engines gs builds and pushes images with, through execa: docker (buildx) where a
// Docker engine answers, else buildah (daemonless; here as root with the vfs storage driver).
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa, type ExecaError } from "execa";
import { OperationError, UsageError, type GsErrorOptions } from "../output/errors.js";
import { ENGINE_NAMES, type EngineName } from "./engine-names.js";

export { ENGINE_NAMES, type EngineName } from "./engine-names.js";

/** Registry credentials for one push. Never printed, logged, or put on a command line. */
export interface RegistryAuth {
  username: string;
  password: string;
}

export interface EngineBuild {
  /** the staged build context */
  context: string;
  dockerfile: string;
  /** local reference to tag the image with, e.g. `localhost/gs/auth:3fa2b1c9d0e1` */
  tag: string;
  buildArgs: Record<string, string>;
}

export interface EnginePush {
  /** e.g. `123456789012.dkr.ecr.us-east-1.amazonaws.com/auth:3fa2b1c9d0e1` */
  remote: string;
  auth?: RegistryAuth;
  /** false for a plain-HTTP registry on loopback (tests) */
  tlsVerify: boolean;
}

export interface ImageEngine {
  readonly name: EngineName;
  build(b: EngineBuild): Promise<{ imageId: string }>;
  /** the image is in the engine's local storage */
  exists(ref: string): Promise<boolean>;
  /** push `local` as `p.remote`; returns the manifest digest the registry stored (`sha256:...`) */
  push(local: string, p: EnginePush): Promise<{ digest: string }>;
}

/** A build or push the engine refused: its last stderr lines say why. */
export class ImageEngineError extends OperationError {
  override name = "ImageEngineError";
  constructor(message: string, opts: GsErrorOptions = {}) {
    super(message, { code: "image_engine_failed", ...opts });
  }
}

function tail(text: string | undefined, lines = 6): string {
  return (text ?? "").trim().split("\n").slice(-lines).join(" | ");
}

function engineFailure(what: string, err: unknown, hint: string): ImageEngineError {
  const e = err as ExecaError;
  const detail = tail(typeof e.stderr === "string" ? e.stderr : undefined) || (e.shortMessage ?? String(err));
  return new ImageEngineError(`${what}: ${detail}`, { hint, cause: err });
}

/** A docker `config.json` / containers `auth.json` with one registry: the same format serves both. */
function writeAuthDir(host: string, auth: RegistryAuth): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "gs-auth-"));
  chmodSync(dir, 0o700);
  const file = path.join(dir, "config.json");
  const token = Buffer.from(`${auth.username}:${auth.password}`).toString("base64");
  writeFileSync(file, JSON.stringify({ auths: { [host]: { auth: token } } }), { mode: 0o600 });
  return dir;
}

function registryHost(ref: string): string {
  return ref.replace(/^docker:\/\//, "").split("/")[0]!;
}

export interface BuildahOptions {
  /** default vfs: works unprivileged-kernel sandboxes and in containers without overlay support */
  storageDriver?: string;
  /** separate image storage (tests), passed as --root / --runroot */
  root?: string;
  runroot?: string;
}

export class BuildahEngine implements ImageEngine {
  readonly name = "buildah" as const;
  constructor(private readonly opts: BuildahOptions = {}) {}

  private get global(): string[] {
    const g = ["--storage-driver", this.opts.storageDriver ?? "vfs"];
    if (this.opts.root) g.push("--root", this.opts.root);
    if (this.opts.runroot) g.push("--runroot", this.opts.runroot);
    return g;
  }

  async build(b: EngineBuild): Promise<{ imageId: string }> {
    const dir = mkdtempSync(path.join(os.tmpdir(), "gs-iid-"));
    const iidfile = path.join(dir, "iid");
    const args = [
      ...this.global,
      "bud",
      "--format",
      "docker",
      "--layers",
      "-f",
      b.dockerfile,
      "-t",
      b.tag,
      "--iidfile",
      iidfile,
    ];
    for (const [k, v] of Object.entries(b.buildArgs)) args.push("--build-arg", `${k}=${v}`);
    try {
      await execa("buildah", [...args, b.context]);
      return { imageId: readFileSync(iidfile, "utf8").trim() };
    } catch (err) {
      throw engineFailure(
        `buildah could not build ${b.tag}`,
        err,
        "fix the Dockerfile or the base image, then build again",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async exists(ref: string): Promise<boolean> {
    const r = await execa(
      "buildah",
      [...this.global, "inspect", "--type", "image", "--format", "{{.FromImageID}}", ref],
      { reject: false },
    );
    return r.exitCode === 0;
  }

  async push(local: string, p: EnginePush): Promise<{ digest: string }> {
    const dir = mkdtempSync(path.join(os.tmpdir(), "gs-push-"));
    const digestFile = path.join(dir, "digest");
    const authDir = p.auth ? writeAuthDir(registryHost(p.remote), p.auth) : undefined;
    const args = [...this.global, "push", "--digestfile", digestFile, `--tls-verify=${p.tlsVerify}`];
    if (authDir) args.push("--authfile", path.join(authDir, "config.json"));
    try {
      await execa("buildah", [...args, local, `docker://${p.remote}`]);
      return { digest: readFileSync(digestFile, "utf8").trim() };
    } catch (err) {
      throw engineFailure(
        `buildah could not push ${p.remote}`,
        err,
        "check that the registry is reachable and the credentials allow pushing",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
      if (authDir) rmSync(authDir, { recursive: true, force: true });
    }
  }
}

export class DockerEngine implements ImageEngine {
  readonly name = "docker" as const;

  async build(b: EngineBuild): Promise<{ imageId: string }> {
    const dir = mkdtempSync(path.join(os.tmpdir(), "gs-iid-"));
    const iidfile = path.join(dir, "iid");
    const args = ["buildx", "build", "--load", "-f", b.dockerfile, "-t", b.tag, "--iidfile", iidfile];
    for (const [k, v] of Object.entries(b.buildArgs)) args.push("--build-arg", `${k}=${v}`);
    try {
      await execa("docker", [...args, b.context]);
      return { imageId: readFileSync(iidfile, "utf8").trim() };
    } catch (err) {
      throw engineFailure(
        `docker could not build ${b.tag}`,
        err,
        "fix the Dockerfile or the base image, then build again",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async exists(ref: string): Promise<boolean> {
    const r = await execa("docker", ["image", "inspect", "--format", "{{.Id}}", ref], { reject: false });
    return r.exitCode === 0;
  }

  async push(local: string, p: EnginePush): Promise<{ digest: string }> {
    // a throwaway DOCKER_CONFIG: the ECR token never lands in ~/.docker/config.json
    const authDir = p.auth ? writeAuthDir(registryHost(p.remote), p.auth) : undefined;
    const env = authDir ? { DOCKER_CONFIG: authDir } : {};
    try {
      await execa("docker", ["tag", local, p.remote]);
      const r = await execa("docker", ["push", p.remote], { env });
      const digest = /digest: (sha256:[0-9a-f]{64})/.exec(r.stdout)?.[1];
      if (!digest) throw new ImageEngineError(`docker pushed ${p.remote} but did not report its digest`);
      return { digest };
    } catch (err) {
      if (err instanceof ImageEngineError) throw err;
      throw engineFailure(
        `docker could not push ${p.remote}`,
        err,
        "check that the registry is reachable and the credentials allow pushing",
      );
    } finally {
      if (authDir) rmSync(authDir, { recursive: true, force: true });
    }
  }
}

async function works(cmd: string, args: string[]): Promise<boolean> {
  const r = await execa(cmd, args, { reject: false, timeout: 5000 });
  return r.exitCode === 0;
}

/** A Docker CLI alone is not enough: the engine must answer and buildx must be there. */
export function dockerWorks(): Promise<boolean> {
  return works("docker", ["info", "--format", "{{.ServerVersion}}"]).then(
    async (ok) => ok && (await works("docker", ["buildx", "version"])),
  );
}

export function buildahWorks(): Promise<boolean> {
  return works("buildah", ["--version"]);
}

/** The engine to use: `choice` (--engine) if it works, else docker where its engine answers, else buildah. */
export async function selectEngine(choice?: EngineName, buildah: BuildahOptions = {}): Promise<ImageEngine> {
  if (choice && !ENGINE_NAMES.includes(choice))
    throw new UsageError(`unknown engine "${choice}"`, `use --engine ${ENGINE_NAMES.join(" or ")}`);
  if (choice === "docker") {
    if (await dockerWorks()) return new DockerEngine();
    throw new OperationError("docker cannot build here: no Docker engine answers `docker info`, or buildx is missing", {
      hint: "start Docker (with the buildx plugin), or use --engine buildah",
    });
  }
  if (choice === "buildah") {
    if (await buildahWorks()) return new BuildahEngine(buildah);
    throw new OperationError("buildah not found", {
      hint: "install it with `apt-get install buildah`, or use --engine docker",
    });
  }
  if (await dockerWorks()) return new DockerEngine();
  if (await buildahWorks()) return new BuildahEngine(buildah);
  throw new OperationError("no image builder: no Docker engine answers and buildah is not installed", {
    hint: "start Docker (with buildx), or install buildah with `apt-get install buildah`",
  });
}
