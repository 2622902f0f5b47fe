// A real image build and push: buildah (vfs storage, as root) builds a service image with the repo's
// Dockerfile from a base image made here (no pulls are possible: the host's node and its shared
// libraries on scratch), then pushes it to Debian's docker-registry on loopback; the manifest read
// back over the registry API must have the digest gs recorded.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildImages } from "./image.js";
import { BuildahEngine } from "./image-engine.js";
import { MANIFEST_TYPES, PlainRegistry } from "../registry/plain-registry.js";
import { pushImages } from "../registry/push.js";
import { freePort } from "../../../test/support/free-port.js";
import { repoRoot } from "../../../test/support/run-cli.js";

const BASE = "localhost/gs-test-node:20";
const has = (cmd: string) => {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};
// buildah's vfs driver needs root here (no user namespaces); CI runs as root
const canRun = has("buildah") && has("docker-registry") && process.getuid?.() === 0;

let tmp: string;
let storage: { root: string; runroot: string };
let registry: ChildProcess | undefined;
let port: number;

const buildah = (...args: string[]) =>
  execa("buildah", ["--storage-driver", "vfs", "--root", storage.root, "--runroot", storage.runroot, ...args]);

/** scratch + the host's node binary and the shared libraries it links: a base image without a pull. */
async function makeBaseImage(): Promise<void> {
  const rootfs = path.join(tmp, "rootfs");
  const node = realpathSync(process.execPath);
  const put = (file: string, at = file) => {
    mkdirSync(path.join(rootfs, path.dirname(at)), { recursive: true });
    copyFileSync(realpathSync(file), path.join(rootfs, at));
  };
  put(node, "/usr/local/bin/node");
  const libs = execFileSync("ldd", [node], { encoding: "utf8" }).match(/\/\S+\.so[\w.]*/g) ?? [];
  for (const lib of new Set(libs)) put(lib);
  mkdirSync(path.join(rootfs, "tmp"), { recursive: true });
  chmodSync(path.join(rootfs, "tmp"), 0o1777);
  const { stdout: c } = await buildah("from", "scratch");
  await buildah("copy", c, `${rootfs}/`, "/");
  await buildah("config", "--env", "PATH=/usr/local/bin:/usr/bin:/bin", c);
  await buildah("commit", "--format", "docker", c, BASE);
  await buildah("rm", c);
}

async function startRegistry(): Promise<void> {
  port = await freePort();
  const config = path.join(tmp, "registry.yml");
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(tmp, "registry-data")}\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  registry = spawn("/usr/bin/docker-registry", ["serve", config], { stdio: "ignore" });
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/v2/`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("docker-registry did not start");
}

describe.skipIf(!canRun)("image build and push (buildah, docker-registry)", () => {
  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), "gs-image-test-"));
    storage = { root: path.join(tmp, "storage"), runroot: path.join(tmp, "run") };
    await Promise.all([makeBaseImage(), startRegistry()]);
  }, 180_000);

  afterAll(() => {
    registry?.kill("SIGTERM");
    if (tmp && existsSync(tmp)) rmSync(tmp, { recursive: true, force: true });
  });

  const engine = () => new BuildahEngine({ storageDriver: "vfs", ...storage });
  const imageOptions = () => ({
    root: repoRoot,
    baseImage: BASE,
    bundle: {
      servicesDir: path.join(repoRoot, "services"),
      protoDir: path.join(repoRoot, "proto"),
      outDir: path.join(tmp, "builds"),
    },
  });

  it("builds a service image whose health check runs with node alone, as a non-root user", async () => {
    const [r] = await buildImages(["auth"], engine(), imageOptions());
    if (!r!.ok) throw r!.error;
    expect(r!.image.built).toBe(true);
    expect(r!.image.localRef).toMatch(/^localhost\/gs\/auth:[0-9a-f]{12}$/);

    const inspect = JSON.parse((await buildah("inspect", "--type", "image", r!.image.localRef)).stdout) as {
      Docker: { config: { User: string; Env: string[]; Healthcheck?: { Test: string[] }; Cmd: string[] } };
    };
    const cfg = inspect.Docker.config;
    expect(cfg.User).toBe("1000:1000");
    expect(cfg.Healthcheck?.Test).toEqual(["CMD", "node", "/app/service.mjs", "--health"]);
    expect(cfg.Cmd).toEqual(["node", "/app/service.mjs"]);
    expect(cfg.Env).toContain(`GS_SERVICE_VERSION=${r!.image.version}`);

    // the HEALTHCHECK command itself, inside the image: no NATS here, so "unhealthy", but it ran
    const { stdout: c } = await buildah("from", "--pull-never", r!.image.localRef);
    const run = await execa(
      "buildah",
      [
        "--storage-driver",
        "vfs",
        "--root",
        storage.root,
        "--runroot",
        storage.runroot,
        "run",
        "--isolation",
        "chroot",
        c,
        "--",
        "node",
        "/app/service.mjs",
        "--health",
      ],
      { reject: false },
    );
    await buildah("rm", c);
    expect(run.stdout).toMatch(/^unhealthy: no instance record at \/tmp\/gs-health.json/);
    expect(run.exitCode).toBe(1);
  }, 180_000);

  it("does not rebuild an image whose content hash is already built", async () => {
    const [r] = await buildImages(["auth"], engine(), imageOptions());
    expect(r!.ok && r!.image.built).toBe(false);
  }, 60_000);

  it("pushes to a registry and records the digest the registry serves", async () => {
    const host = `127.0.0.1:${port}`;
    const opts = {
      ...imageOptions(),
      registry: `${host}/gs`,
      target: new PlainRegistry(host),
      engine: engine(),
      createRepos: false,
    };
    const [r] = await pushImages(["auth"], opts);
    if (!r!.ok) throw r!.error;
    expect(r!.image).toMatchObject({ pushed: true, repository: "gs/auth" });
    expect(r!.image.uri).toBe(`${host}/gs/auth@${r!.image.digest}`);

    const res = await fetch(`http://${host}/v2/gs/auth/manifests/${r!.image.tag}`, {
      headers: { Accept: MANIFEST_TYPES },
    });
    expect(res.status).toBe(200);
    const body = Buffer.from(await res.arrayBuffer());
    expect(res.headers.get("docker-content-digest")).toBe(r!.image.digest);
    expect(`sha256:${createHash("sha256").update(body).digest("hex")}`).toBe(r!.image.digest);
    expect(JSON.parse(body.toString()).mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");

    // pushed once: the next push finds the tag and skips it
    const [again] = await pushImages(["auth"], opts);
    expect(again!.ok && again!.image).toMatchObject({ pushed: false, digest: r!.image.digest });
  }, 180_000);
});
