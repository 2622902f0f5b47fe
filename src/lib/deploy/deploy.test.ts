// The deploy orchestrator over an in-memory Platform: what the ECS platform will plug into too.
import { describe, expect, it } from "vitest";
import { deploy, deployExitCode, type DeployProgress } from "./deploy.js";
import type { Artifact, DeploymentInfo, Platform, ReleaseOutcome, ServiceDescription } from "../platform/platform.js";

type Behaviour = "ok" | "crash" | "hang";

class FakePlatform implements Platform {
  readonly target = "fake";
  readonly kind = "local" as const;
  active = 0;
  maxActive = 0;
  stopped: string[] = [];
  private deps = new Map<string, DeploymentInfo & { polls: number }>();
  constructor(
    private versions: Record<string, string>,
    private behaviour: Record<string, Behaviour> = {},
  ) {}

  async describeServices(names?: string[]): Promise<ServiceDescription[]> {
    return (names ?? Object.keys(this.versions)).map((name) => ({
      name,
      desired: 2,
      running: 2,
      pending: 0,
      restarts: 0,
      version: this.versions[name],
      state: "steady",
      deployments: [
        {
          ...this.info(name, { version: this.versions[name]!, hash: "old", ref: `old-${name}` }),
          status: "PRIMARY",
          rolloutState: "COMPLETED",
        },
      ],
      instances: [],
      events: [],
      stopped: [],
    }));
  }
  async scale(): Promise<ServiceDescription> {
    throw new Error("not used");
  }
  async startDeployment(service: string, artifact: Artifact): Promise<DeploymentInfo> {
    const d = { ...this.info(service, artifact), polls: 0 };
    this.deps.set(d.id, d);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    return d;
  }
  async describeDeployment(service: string, id: string): Promise<DeploymentInfo> {
    const d = this.deps.get(id)!;
    if (d.rolloutState !== "IN_PROGRESS") return d;
    d.polls++;
    const b = this.behaviour[service] ?? "ok";
    if (b === "ok" && d.polls >= 2) {
      Object.assign(d, { rolloutState: "COMPLETED", running: 2, pending: 0 });
      this.versions[service] = d.artifact.version;
      this.active--;
    } else if (b === "crash" && d.polls >= 2) {
      Object.assign(d, {
        rolloutState: "FAILED",
        failed: 2,
        reason: "2 new instances failed to start: exited with code 1: Error: boom",
      });
      this.active--;
    }
    return d;
  }
  async stopDeployment(service: string, id: string, reason: string): Promise<DeploymentInfo> {
    const d = this.deps.get(id)!;
    this.stopped.push(service);
    Object.assign(d, { rolloutState: "FAILED", reason });
    this.active--;
    return d;
  }
  async *logs() {}
  recorded: [string, string, string][] = [];
  async recordOutcome(service: string, d: DeploymentInfo, outcome: ReleaseOutcome): Promise<void> {
    this.recorded.push([service, d.artifact.version, outcome]);
  }
  private info(service: string, artifact: Artifact): DeploymentInfo {
    const now = new Date().toISOString();
    return {
      id: `${service}-${artifact.hash}`,
      service,
      status: "PRIMARY",
      artifact,
      desired: 2,
      running: 0,
      pending: 2,
      failed: 0,
      rolloutState: "IN_PROGRESS",
      createdAt: now,
      updatedAt: now,
    };
  }
}

const builder = (versions: Record<string, string>) => ({
  build: async (s: string): Promise<Artifact> => {
    if (versions[s] === "broken") throw new Error(`${s} does not build: service.ts:1: Expected ";"`);
    return { version: versions[s]!, hash: versions[s]!.slice(-4), ref: `/builds/${s}` };
  },
});

describe("deploy orchestrator", () => {
  it("deploys changed services, skips unchanged ones and exits 0", async () => {
    const platform = new FakePlatform({ a: "1.0.0+aaaa", b: "1.0.0+bbbb" });
    const events: DeployProgress[] = [];
    const r = await deploy({
      platform,
      builder: builder({ a: "1.0.0+a222", b: "1.0.0+bbbb" }),
      concurrency: 4,
      timeoutMs: 5000,
      pollMs: 1,
      onProgress: (p) => events.push(p),
    });
    expect(r.target).toBe("fake");
    expect(r.services.map(({ name, action, from, to }) => ({ name, action, from, to }))).toEqual([
      { name: "a", action: "deployed", from: "1.0.0+aaaa", to: "1.0.0+a222" },
      { name: "b", action: "unchanged", from: "1.0.0+bbbb", to: "1.0.0+bbbb" },
    ]);
    expect(deployExitCode(r)).toBe(0);
    expect(events[0]).toEqual({ kind: "plan", changed: ["a"], unchanged: ["b"], failed: [] });
  });

  it("reports a rollback with the platform's reason and exits 3", async () => {
    const platform = new FakePlatform({ a: "1.0.0+aaaa" }, { a: "crash" });
    const r = await deploy({
      platform,
      builder: builder({ a: "1.0.0+a222" }),
      concurrency: 1,
      timeoutMs: 5000,
      pollMs: 1,
    });
    expect(r.services[0]).toMatchObject({ action: "rolled_back", reason: expect.stringMatching(/Error: boom/) });
    expect(deployExitCode(r)).toBe(3);
  });

  it("stops a deployment that is not healthy within the timeout and exits 4", async () => {
    const platform = new FakePlatform({ a: "1.0.0+aaaa" }, { a: "hang" });
    const r = await deploy({
      platform,
      builder: builder({ a: "1.0.0+a222" }),
      concurrency: 1,
      timeoutMs: 1,
      graceMs: 0,
      pollMs: 5,
    });
    expect(r.services[0]).toMatchObject({ action: "rolled_back", timedOut: true });
    expect(platform.stopped).toEqual(["a"]);
    expect(deployExitCode(r)).toBe(4);
  }, 20_000);

  it("marks a service that does not build as failed, rolls out nothing for it, and exits 1", async () => {
    const platform = new FakePlatform({ a: "1.0.0+aaaa", b: "1.0.0+bbbb" });
    const r = await deploy({
      platform,
      builder: builder({ a: "broken", b: "1.0.0+b222" }),
      concurrency: 2,
      timeoutMs: 5000,
      pollMs: 1,
    });
    expect(r.services[0]).toMatchObject({
      name: "a",
      action: "failed",
      to: null,
      reason: expect.stringMatching(/does not build/),
    });
    expect(r.services[1]).toMatchObject({ name: "b", action: "deployed" });
    expect(deployExitCode(r)).toBe(1);
  });

  it("rolls out at most --concurrency services at once", async () => {
    const names = ["a", "b", "c", "d", "e", "f"];
    const platform = new FakePlatform(Object.fromEntries(names.map((n) => [n, "1.0.0+old0"])));
    const r = await deploy({
      platform,
      builder: builder(Object.fromEntries(names.map((n) => [n, "1.0.0+new0"]))),
      concurrency: 2,
      timeoutMs: 5000,
      pollMs: 1,
    });
    expect(r.services.every((s) => s.action === "deployed")).toBe(true);
    expect(platform.maxActive).toBe(2);
  });

  it("rolls back to the previous build when the new version does not answer over NATS", async () => {
    const platform = new FakePlatform({ a: "1.0.0+aaaa" });
    const verifier = { answering: async (_s: string, v: string) => (v === "1.0.0+a222" ? 0 : 2) };
    const r = await deploy({
      platform,
      builder: builder({ a: "1.0.0+a222" }),
      verifier,
      concurrency: 1,
      timeoutMs: 5000,
      pollMs: 1,
    });
    expect(r.services[0]).toMatchObject({
      action: "rolled_back",
      reason: expect.stringMatching(/only 0 of 2 instances answer over NATS/),
    });
    expect(await platform.describeServices(["a"])).toMatchObject([{ version: "1.0.0+aaaa" }]);
  });

  it("records each rollout's outcome in the platform's history: deployed, or failed", async () => {
    const platform = new FakePlatform({ a: "1.0.0+aaaa", b: "1.0.0+bbbb", c: "1.0.0+cccc" }, { b: "crash" });
    const verifier = { answering: async (_s: string, v: string) => (v === "1.0.0+c222" ? 0 : 2) };
    await deploy({
      platform,
      builder: builder({ a: "1.0.0+a222", b: "1.0.0+b222", c: "1.0.0+c222" }),
      verifier,
      concurrency: 3,
      timeoutMs: 5000,
      pollMs: 1,
    });
    expect(platform.recorded.sort()).toEqual([
      ["a", "1.0.0+a222", "deployed"],
      ["b", "1.0.0+b222", "failed"],
      ["c", "1.0.0+c222", "failed"],
    ]);
  });

  it("reports failed, not rolled back, when a deployment fails with rollback off", async () => {
    const platform = new FakePlatform({ a: "1.0.0+aaaa" }, { a: "crash" });
    const r = await deploy({
      platform,
      builder: builder({ a: "1.0.0+a222" }),
      concurrency: 1,
      timeoutMs: 5000,
      pollMs: 1,
      rollback: false,
    });
    expect(r.services[0]).toMatchObject({ action: "failed", reason: expect.stringMatching(/Error: boom/) });
    expect(deployExitCode(r)).toBe(1);
  });

  it("still reports rolled back with rollback off when the platform rolled back by itself", async () => {
    const platform = new FakePlatform({ a: "1.0.0+aaaa" }, { a: "crash" });
    const real = platform.describeDeployment.bind(platform);
    platform.describeDeployment = async (s, id) => ({ ...(await real(s, id)), rolledBack: true });
    const r = await deploy({
      platform,
      builder: builder({ a: "1.0.0+a222" }),
      concurrency: 1,
      timeoutMs: 5000,
      pollMs: 1,
      rollback: false,
    });
    expect(r.services[0]).toMatchObject({ action: "rolled_back" });
    expect(deployExitCode(r)).toBe(3);
  });

  it("leaves a timed-out deployment alone with rollback off, and exits 4", async () => {
    const platform = new FakePlatform({ a: "1.0.0+aaaa" }, { a: "hang" });
    const r = await deploy({
      platform,
      builder: builder({ a: "1.0.0+a222" }),
      concurrency: 1,
      timeoutMs: 1,
      graceMs: 0,
      pollMs: 5,
      rollback: false,
    });
    expect(r.services[0]).toMatchObject({ action: "failed", timedOut: true });
    expect(platform.stopped).toEqual([]);
    expect(deployExitCode(r)).toBe(4);
  }, 20_000);

  it("rolls out nothing when the verifier cannot get ready (NATS unreachable)", async () => {
    const platform = new FakePlatform({ a: "1.0.0+aaaa", b: "1.0.0+bbbb" });
    const verifier = {
      ready: async () =>
        Promise.reject(new Error("cannot connect to NATS at nats://10.0.0.1:4222: timed out after 5s")),
      answering: async () => 2,
    };
    const r = await deploy({
      platform,
      builder: builder({ a: "1.0.0+a222", b: "1.0.0+bbbb" }),
      verifier,
      concurrency: 1,
      timeoutMs: 5000,
      pollMs: 1,
    });
    expect(r.services[0]).toMatchObject({
      action: "failed",
      reason: expect.stringMatching(/not rolled out: cannot verify over NATS \(cannot connect/),
    });
    expect(r.services[1]).toMatchObject({ action: "unchanged" });
    expect(platform.maxActive).toBe(0);
    expect(deployExitCode(r)).toBe(1);
  });

  it("begins no further rollout once interrupted, lets the one under way finish, and exits 1", async () => {
    const platform = new FakePlatform({ a: "1.0.0+aaaa", b: "1.0.0+bbbb", c: "1.0.0+cccc" });
    const stop = new AbortController();
    const events: DeployProgress[] = [];
    const r = await deploy({
      platform,
      builder: builder({ a: "1.0.0+a222", b: "1.0.0+b222", c: "1.0.0+c222" }),
      concurrency: 1,
      timeoutMs: 5000,
      pollMs: 1,
      signal: stop.signal,
      onProgress: (p) => {
        events.push(p);
        // Ctrl-C as the first rollout begins
        if (p.kind === "start") stop.abort("SIGINT");
      },
    });
    expect(r.services.map(({ name, action, from, to }) => ({ name, action, from, to }))).toEqual([
      { name: "a", action: "deployed", from: "1.0.0+aaaa", to: "1.0.0+a222" },
      { name: "b", action: "not_started", from: "1.0.0+bbbb", to: "1.0.0+b222" },
      { name: "c", action: "not_started", from: "1.0.0+cccc", to: "1.0.0+c222" },
    ]);
    expect(r.services[1]).toMatchObject({ reason: "interrupted", seconds: 0 });
    expect(events.filter((e) => e.kind === "start").map((e) => e.kind === "start" && e.service)).toEqual(["a"]);
    expect(events.filter((e) => e.kind === "done").map((e) => e.kind === "done" && e.result.action)).toEqual([
      "deployed",
      "not_started",
      "not_started",
    ]);
    expect(await platform.describeServices()).toMatchObject([
      { version: "1.0.0+a222" },
      { version: "1.0.0+bbbb" },
      { version: "1.0.0+cccc" },
    ]);
    expect(deployExitCode(r)).toBe(1);
  });

  it("keeps exit 3 when a rollout under way at the interrupt rolled back", async () => {
    const platform = new FakePlatform({ a: "1.0.0+aaaa", b: "1.0.0+bbbb" }, { a: "crash" });
    const stop = new AbortController();
    const r = await deploy({
      platform,
      builder: builder({ a: "1.0.0+a222", b: "1.0.0+b222" }),
      concurrency: 1,
      timeoutMs: 5000,
      pollMs: 1,
      signal: stop.signal,
      onProgress: (p) => p.kind === "start" && stop.abort("SIGINT"),
    });
    expect(r.services.map((s) => s.action)).toEqual(["rolled_back", "not_started"]);
    expect(deployExitCode(r)).toBe(3);
  });

  it("reports a build the interrupt cut short as not started, not as a failed build", async () => {
    const platform = new FakePlatform({ a: "1.0.0+aaaa", b: "1.0.0+bbbb" });
    const stop = new AbortController();
    const events: DeployProgress[] = [];
    const r = await deploy({
      platform,
      builder: {
        // a's build dies with the Ctrl-C that reached its child process too
        build: async (s: string): Promise<Artifact> => {
          if (s === "b") return { version: "1.0.0+b222", hash: "b222", ref: "/builds/b" };
          stop.abort("SIGINT");
          throw new Error("esbuild: the service was stopped");
        },
      },
      concurrency: 2,
      timeoutMs: 5000,
      pollMs: 1,
      signal: stop.signal,
      onProgress: (p) => events.push(p),
    });
    expect(r.services).toMatchObject([
      { name: "a", action: "not_started", to: null, reason: "interrupted" },
      { name: "b", action: "not_started", to: "1.0.0+b222", reason: "interrupted" },
    ]);
    expect(events.filter((e) => e.kind === "done")).toHaveLength(2);
    expect(platform.maxActive).toBe(0);
    expect(deployExitCode(r)).toBe(1);
  });

  it("rolls out nothing, and does not wait for the verifier, when interrupted before the first rollout", async () => {
    const platform = new FakePlatform({ a: "1.0.0+aaaa", b: "1.0.0+bbbb" });
    let readied = false;
    const r = await deploy({
      platform,
      builder: builder({ a: "1.0.0+a222", b: "1.0.0+bbbb" }),
      verifier: { ready: async () => void (readied = true), answering: async () => 2 },
      concurrency: 2,
      timeoutMs: 5000,
      pollMs: 1,
      signal: AbortSignal.abort("SIGTERM"),
    });
    expect(r.services.map((s) => s.action)).toEqual(["not_started", "unchanged"]);
    expect(readied).toBe(false);
    expect(platform.maxActive).toBe(0);
    expect(deployExitCode(r)).toBe(1);
  });
});

describe("deploy reconciliation", () => {
  /** `a` mid-rollout from 1.0.0+aaaa to `left`, as a `gs deploy` that died left it; `b` steady */
  class LeftInProgress extends FakePlatform {
    started: string[] = [];
    resumed: string[] = [];
    constructor(
      private left: string,
      behaviour: Record<string, Behaviour> = {},
    ) {
      super({ a: left, b: "1.0.0+bbbb" }, behaviour);
    }
    override async describeServices(names?: string[]): Promise<ServiceDescription[]> {
      const list = await super.describeServices(names);
      const a = list.find((s) => s.name === "a");
      if (a && this.resumed.length === 0) {
        const old = { ...a.deployments[0]!, id: "a-old", status: "ACTIVE" as const, createdAt: "2026-01-01T00:00:00Z" };
        old.artifact = { version: "1.0.0+aaaa", hash: "aaaa", ref: "/builds/a-old" };
        const primary = {
          ...a.deployments[0]!,
          id: "a-left",
          rolloutState: "IN_PROGRESS" as const,
          createdAt: "2026-01-01T00:01:00Z",
        };
        Object.assign(a, { state: "deploying", deployments: [primary, old] });
      }
      return list;
    }
    override async startDeployment(service: string, artifact: Artifact): Promise<DeploymentInfo> {
      this.started.push(service);
      return super.startDeployment(service, artifact);
    }
    async resumeDeployment(service: string, id: string): Promise<DeploymentInfo> {
      this.resumed.push(id);
      // the deployment the dead deploy started, as the fake tracks its own
      return super.startDeployment(service, {
        version: this.left,
        hash: this.left.slice(-4),
        ref: `/builds/${service}`,
      });
    }
  }

  it("takes over a rollout a killed deploy left in progress instead of calling it unchanged", async () => {
    const platform = new LeftInProgress("1.0.0+a222");
    const r = await deploy({
      platform,
      builder: builder({ a: "1.0.0+a222", b: "1.0.0+bbbb" }),
      concurrency: 2,
      timeoutMs: 5000,
      pollMs: 1,
    });
    expect(r.services.map(({ name, action, from, to, resumed }) => ({ name, action, from, to, resumed }))).toEqual([
      { name: "a", action: "deployed", from: "1.0.0+aaaa", to: "1.0.0+a222", resumed: "a-left" },
      { name: "b", action: "unchanged", from: "1.0.0+bbbb", to: "1.0.0+bbbb", resumed: undefined },
    ]);
    expect(platform.resumed).toEqual(["a-left"]);
    expect(platform.started).toEqual([]);
    expect(deployExitCode(r)).toBe(0);
  });

  it("rolls back a rollout it took over when that one fails, and exits 3", async () => {
    const platform = new LeftInProgress("1.0.0+a222", { a: "crash" });
    const r = await deploy({
      platform,
      builder: builder({ a: "1.0.0+a222", b: "1.0.0+bbbb" }),
      concurrency: 2,
      timeoutMs: 5000,
      pollMs: 1,
    });
    expect(r.services[0]).toMatchObject({ name: "a", action: "rolled_back", from: "1.0.0+aaaa", resumed: "a-left" });
    expect(deployExitCode(r)).toBe(3);
  });

  it("lets a rollout of another version left in progress end before it rolls out its own", async () => {
    const platform = new LeftInProgress("1.0.0+a111");
    const r = await deploy({
      platform,
      builder: builder({ a: "1.0.0+a222", b: "1.0.0+bbbb" }),
      concurrency: 2,
      timeoutMs: 5000,
      pollMs: 1,
    });
    expect(platform.resumed).toEqual(["a-left"]);
    expect(platform.started).toEqual(["a"]);
    expect(r.services[0]).toMatchObject({ name: "a", action: "deployed", from: "1.0.0+a111", to: "1.0.0+a222" });
    expect(r.services[0]!.resumed).toBeUndefined();
  });
});
