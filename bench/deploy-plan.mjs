#!/usr/bin/env node
// bench/deploy-plan: `gs deploy --dry-run` over all 22 services with nothing changed (budget: <= 5 s,
// reads only), the same for a real `gs deploy --yes` with nothing changed, both also as a ratio to
// `node -e 0`; then the wall time of a parallel build of the 22 service images with buildah.
//
// AWS is simulated over HTTP: a small awsJson1.1 endpoint (AWS_ENDPOINT_URL) answering ECS and ECR
// the way a fleet that already runs every current image would, and recording every call, so the
// built CLI runs as a user runs it (its own process, its bundled SDK, real HTTP requests).
// The image build runs in-process through the TypeScript sources (tsx), with buildah's vfs storage in
// a temporary folder and a base image made locally (no pulls here), as src/lib/build/image.test.ts does.
//
// Needs `npm run build` first. BUILD_COUNT=n builds only n services and extrapolates (said so in the
// result); BUILD_COUNT=0 skips the build part. RUNS sets the timing runs (default 7).
import { execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { measureInterleaved, record, root, round, timeRun } from "./lib.mjs";

// a snapshot of the built CLI: a rebuild of dist/ while the bench runs cannot break a run
const cli = mkdtempSync(path.join(os.tmpdir(), "gs-bench-cli-"));
for (const f of ["bin", "dist", "package.json", "oclif.manifest.json"])
  cpSync(path.join(root, f), path.join(cli, f), { recursive: true });
symlinkSync(path.join(root, "node_modules"), path.join(cli, "node_modules"));
const GS = path.join(cli, "bin/run.js");
process.on("exit", () => rmSync(cli, { recursive: true, force: true }));

const runs = Number(process.env.RUNS ?? 7);
const BUDGET_MS = 5000;
const REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const READS = new Set(["DescribeServices", "DescribeTaskDefinition", "DescribeImages", "ListTasks", "DescribeTasks"]);

// ---- the simulated AWS endpoint ------------------------------------------------------------------

/** fleet service -> { version, tag, inputs, digest }; empty: the fleet runs images gs never made */
const fleet = new Map();
const calls = [];
const epoch = (d = new Date("2026-01-01T00:00:00Z")) => d.getTime() / 1000;
const taskDefArn = (svc) => `arn:aws:ecs:us-east-1:123456789012:task-definition/${svc}-nats:7`;
const svcOf = (ecsName) => ecsName.replace(/-nats$/, "");

function taskDefinition(svc) {
  const f = fleet.get(svc);
  return {
    taskDefinitionArn: taskDefArn(svc),
    family: `${svc}-nats`,
    revision: 7,
    status: "ACTIVE",
    networkMode: "awsvpc",
    requiresCompatibilities: ["FARGATE"],
    cpu: "256",
    memory: "512",
    executionRoleArn: "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
    containerDefinitions: [
      {
        name: svc,
        image: `${REGISTRY}/${svc}@${f?.digest ?? `sha256:${"0".repeat(64)}`}`,
        essential: true,
        logConfiguration: {
          logDriver: "awslogs",
          options: {
            "awslogs-group": `/ecs/${svc}-nats`,
            "awslogs-region": "us-east-1",
            "awslogs-stream-prefix": "ecs",
          },
        },
      },
    ],
    registeredAt: epoch(),
  };
}

const handlers = {
  DescribeServices: (input) => ({
    failures: [],
    services: input.services.map((name) => ({
      serviceName: name,
      status: "ACTIVE",
      desiredCount: 2,
      runningCount: 2,
      pendingCount: 0,
      taskDefinition: taskDefArn(svcOf(name)),
      deployments: [
        {
          id: `ecs-svc/${name}`,
          status: "PRIMARY",
          taskDefinition: taskDefArn(svcOf(name)),
          desiredCount: 2,
          runningCount: 2,
          pendingCount: 0,
          failedTasks: 0,
          rolloutState: "COMPLETED",
          createdAt: epoch(),
          updatedAt: epoch(),
        },
      ],
      events: [],
    })),
  }),
  DescribeTaskDefinition: (input) => {
    const svc = svcOf(input.taskDefinition.split("/").pop().split(":")[0]);
    const f = fleet.get(svc);
    const tags = f
      ? [
          { key: "gs:version", value: f.version },
          { key: "gs:inputs", value: f.inputs },
        ]
      : [];
    return { taskDefinition: taskDefinition(svc), tags };
  },
  ListTasks: () => ({ taskArns: [] }),
  DescribeTasks: () => ({ tasks: [], failures: [] }),
  DescribeImages: (input) => {
    const f = fleet.get(input.repositoryName);
    const tag = input.imageIds[0].imageTag;
    if (!f || f.tag !== tag)
      throw Object.assign(new Error("The image requested does not exist in the specified repository."), {
        type: "ImageNotFoundException",
      });
    return { imageDetails: [{ repositoryName: input.repositoryName, imageDigest: f.digest, imageTags: [tag] }] };
  },
};

const server = http.createServer((req, res) => {
  let body = "";
  req.on("data", (d) => (body += d));
  req.on("end", () => {
    const op = String(req.headers["x-amz-target"] ?? "")
      .split(".")
      .pop();
    calls.push(op);
    res.setHeader("content-type", "application/x-amz-json-1.1");
    try {
      const handler = handlers[op];
      if (!handler)
        throw Object.assign(new Error(`${op} is not simulated (a write?)`), { type: "UnsupportedOperation" });
      res.end(JSON.stringify(handler(JSON.parse(body || "{}"))));
    } catch (err) {
      res.statusCode = 400;
      res.end(JSON.stringify({ __type: err.type ?? "ServerException", message: err.message }));
    }
  });
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const endpoint = `http://127.0.0.1:${server.address().port}`;

const env = {
  AWS_ENDPOINT_URL: endpoint,
  AWS_ACCESS_KEY_ID: "AKIDBENCH",
  AWS_SECRET_ACCESS_KEY: "bench-secret",
  AWS_REGION: "us-east-1",
  AWS_PROFILE: "",
  CI: "true",
  NO_COLOR: "1",
  GS_TARGET: "",
  GS_BUILD_SALT: "",
};

function gsJson(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [GS, ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("exit", (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`gs ${args.join(" ")} exited ${code}: ${err}\n${out}`)),
    );
  });
}

/** Wall ms of one gs run; a failure shows its stdout too (under --json the error document is there). */
async function timeGs(args) {
  const t = process.hrtime.bigint();
  await gsJson(args);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

let result = {};
try {
  // 1. what the current build is: a plan against a fleet of unknown images (also bundles anything not cached)
  const t0 = Date.now();
  const first = await gsJson(["deploy", "--dry-run", "--target", "prod", "--json"]);
  const primeMs = Date.now() - t0;
  for (const s of first.services) {
    if (s.action !== "deploy") throw new Error(`${s.name}: ${s.error ?? s.action}`);
    const inputs = s.changes.find((c) => c.path === "tags.gs:inputs")?.to;
    fleet.set(s.name, { version: s.to, tag: s.image.tag, inputs, digest: `sha256:${s.image.tag.padEnd(64, "0")}` });
  }
  const services = first.services.length;

  // 2. the fleet now runs exactly that build, and ECR holds every tag: nothing changed
  calls.length = 0;
  const plan = await gsJson(["deploy", "--dry-run", "--target", "prod", "--json"]);
  const planCalls = [...calls];
  if (plan.summary.unchanged !== services || plan.summary.calls !== 0)
    throw new Error(`expected ${services} unchanged services: ${JSON.stringify(plan.summary)}`);
  calls.length = 0;
  const deployed = await gsJson(["deploy", "--target", "prod", "--yes", "--json"]);
  const deployCalls = [...calls];
  if (!deployed.services.every((s) => s.action === "unchanged")) throw new Error("a real deploy found changes");
  const writes = [...planCalls, ...deployCalls].filter((c) => !READS.has(c));
  if (writes.length) throw new Error(`calls beyond reads: ${writes.join(", ")}`);
  const count = (list) => Object.fromEntries([...new Set(list)].map((c) => [c, list.filter((x) => x === c).length]));

  const m = await measureInterleaved(
    {
      "node -e 0": () => timeRun(process.execPath, ["-e", "0"]),
      "gs deploy --dry-run (22, nothing changed)": () => timeGs(["deploy", "--dry-run", "--target", "prod", "--json"]),
      "gs deploy --yes (22, nothing changed)": () => timeGs(["deploy", "--target", "prod", "--yes", "--json"]),
    },
    runs,
  );
  const base = m["node -e 0"].median_ms;
  const timings = Object.fromEntries(
    Object.entries(m).map(([k, v]) => [
      k,
      {
        ...v,
        ratio: round(v.median_ms / base),
        ...(k.startsWith("gs") ? { budget_ms: BUDGET_MS, within_budget: v.median_ms <= BUDGET_MS } : {}),
      },
    ]),
  );
  result = {
    runs,
    services,
    // other work on the machine shows here: the timings are medians, but a busy host inflates them all
    load_average_at_start: os.loadavg().map((x) => round(x)),
    aws: "simulated over HTTP (AWS_ENDPOINT_URL, awsJson1.1), zero latency: real AWS adds a round trip per call",
    prime_run_ms: primeMs,
    calls: { "deploy --dry-run": count(planCalls), "deploy --yes": count(deployCalls), writes: 0 },
    timings,
  };
} finally {
  server.close();
}

// ---- 3. a parallel build of the 22 images with buildah -------------------------------------------

const buildCount = Number(process.env.BUILD_COUNT ?? 22);
const has = (cmd) => {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};
if (buildCount > 0 && has("buildah") && process.getuid?.() === 0) {
  const { register } = await import("tsx/esm/api");
  register();
  const { buildImages } = await import("../src/lib/build/image.ts");
  const { BuildahEngine } = await import("../src/lib/build/image-engine.ts");
  const { imageProject } = await import("../src/lib/build/image-project.ts");
  const tmp = mkdtempSync(path.join(os.tmpdir(), "gs-bench-build-"));
  const storage = { root: path.join(tmp, "storage"), runroot: path.join(tmp, "run") };
  const buildah = (...args) =>
    execFileSync(
      "buildah",
      ["--storage-driver", "vfs", "--root", storage.root, "--runroot", storage.runroot, ...args],
      { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
    ).trim();
  try {
    // scratch + this host's node and its shared libraries: a base image without a pull
    const rootfs = path.join(tmp, "rootfs");
    const put = (file, at = file) => {
      mkdirSync(path.join(rootfs, path.dirname(at)), { recursive: true });
      copyFileSync(realpathSync(file), path.join(rootfs, at));
    };
    const node = realpathSync(process.execPath);
    put(node, "/usr/local/bin/node");
    for (const lib of new Set(execFileSync("ldd", [node], { encoding: "utf8" }).match(/\/\S+\.so[\w.]*/g) ?? []))
      put(lib);
    mkdirSync(path.join(rootfs, "tmp"), { recursive: true });
    chmodSync(path.join(rootfs, "tmp"), 0o1777);
    const c = buildah("from", "scratch");
    buildah("copy", c, `${rootfs}/`, "/");
    buildah("config", "--env", "PATH=/usr/local/bin:/usr/bin:/bin", c);
    buildah("commit", "--format", "docker", c, "localhost/gs-bench-node:20");
    buildah("rm", c);

    const project = imageProject({ cwd: root, env: { ...process.env, GS_BUILD_SALT: "" } });
    const all = project.services;
    const chosen = all.slice(0, Math.min(buildCount, all.length));
    const concurrency = os.availableParallelism();
    const t = Date.now();
    // a fresh salt: every tag is new, so every image really builds (bundles stay cached from step 1)
    const built = await buildImages(chosen, new BuildahEngine(storage), {
      ...project.image,
      baseImage: "localhost/gs-bench-node:20",
      salt: `bench-${Date.now()}`,
      concurrency,
    });
    const wallMs = Date.now() - t;
    const failed = built.filter((b) => !b.ok);
    if (failed.length)
      throw new Error(`builds failed: ${failed.map((b) => `${b.service}: ${b.error.message}`).join("; ")}`);
    const perImage = built.map((b) => b.image.seconds);
    result.build = {
      engine: "buildah (vfs storage, root)",
      base_image: "locally made: scratch + host node",
      concurrency,
      images: chosen.length,
      wall_ms: wallMs,
      per_image_s: {
        min: Math.min(...perImage),
        max: Math.max(...perImage),
        mean: round(perImage.reduce((a, b) => a + b, 0) / perImage.length),
      },
      bundles: "cached from the plan runs (not in wall_ms)",
      measured: new Date().toISOString(),
      ...(chosen.length < all.length
        ? {
            extrapolated_wall_ms_for_all: Math.round((wallMs / chosen.length) * all.length),
            note: `measured ${chosen.length} of ${all.length} images; the figure for all is linear extrapolation at the same concurrency, not a measurement`,
          }
        : {}),
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
} else if (buildCount > 0) {
  result.build = { skipped: "needs buildah and root (vfs storage)" };
} else {
  // BUILD_COUNT=0: keep the last recorded build figure (it is slow to remeasure), with its date
  try {
    const last = JSON.parse(readFileSync(path.join(root, "bench", "deploy-plan.json"), "utf8"));
    if (last.build) result.build = { ...last.build, measured: last.build.measured ?? last.date };
  } catch {
    // nothing recorded yet
  }
}

const file = record("deploy-plan", result);
for (const [k, v] of Object.entries(result.timings ?? {})) {
  console.log(
    `${k.padEnd(44)} ${String(v.median_ms).padStart(8)} ms  ${v.ratio}x node${v.budget_ms ? `  (budget ${v.budget_ms} ms: ${v.within_budget ? "ok" : "OVER"})` : ""}`,
  );
}
if (result.build?.wall_ms)
  console.log(
    `parallel build of ${result.build.images} images: ${round(result.build.wall_ms / 1000, 1)} s${result.build.extrapolated_wall_ms_for_all ? ` (extrapolated to all: ${round(result.build.extrapolated_wall_ms_for_all / 1000, 1)} s)` : ""}`,
  );
console.log(`recorded in ${file.replace(root + "/", "")}`);
process.exitCode = Object.values(result.timings ?? {}).every((v) => v.within_budget !== false) ? 0 : 1;
