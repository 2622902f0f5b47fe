// The deploy orchestrator with the contract gate: a real nats-server, a responder serving what "runs"
// (the committed module's descriptor set), the real buf, and a platform that records every rollout.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  createContractProject,
  descriptorSet,
  serveDescriptorSet,
  SHOP_PROTO,
  type ContractProject,
} from "../../../test/support/contract-fixtures.js";
import { startNatsServer, type TestNatsServer } from "../../../test/support/nats-server.js";
import { deploy } from "../deploy/deploy.js";
import type { Artifact, DeploymentInfo, Platform, ServiceDescription } from "../platform/platform.js";
import { BreakingChangeError, contractGate, protoChanged } from "./deploy-gate.js";

/** A platform whose rollouts complete at once; `started` lists every rollout begun. */
function recordingPlatform(version: string, inputs?: Record<string, string>) {
  const started: string[] = [];
  const info = (service: string, artifact: Artifact, rolloutState: DeploymentInfo["rolloutState"]): DeploymentInfo => ({
    id: `${service}-${artifact.hash}`,
    service,
    status: "PRIMARY",
    artifact,
    desired: 1,
    running: 1,
    pending: 0,
    failed: 0,
    rolloutState,
    createdAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
  });
  const platform: Platform = {
    target: "test",
    kind: "local",
    async describeServices(): Promise<ServiceDescription[]> {
      const artifact = { version, hash: "old", ref: "old", ...(inputs ? { inputs } : {}) };
      return [
        {
          name: "shop",
          desired: 1,
          running: 1,
          pending: 0,
          restarts: 0,
          version,
          state: "steady",
          deployments: [info("shop", artifact, "COMPLETED")],
          instances: [],
          events: [],
          stopped: [],
        },
      ];
    },
    async scale() {
      throw new Error("not used");
    },
    async startDeployment(service, artifact) {
      started.push(`${service} ${artifact.version}`);
      return info(service, artifact, "COMPLETED");
    },
    async describeDeployment(service, id) {
      return info(service, { version: "1.1.0", hash: id, ref: "new" }, "COMPLETED");
    },
    async stopDeployment(service, id) {
      return info(service, { version: "1.1.0", hash: id, ref: "new" }, "FAILED");
    },
    async *logs() {},
  };
  return { platform, started };
}

let project: ContractProject;
let server: TestNatsServer;
let nc: NatsConnection;
let responder: Awaited<ReturnType<typeof serveDescriptorSet>>;

describe("gs deploy's contract gate", () => {
  beforeAll(async () => {
    project = createContractProject();
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    responder = await serveDescriptorSet(nc, "shop", descriptorSet(project.protoDir, "shop/v1/shop.proto"));
  });
  afterEach(() => project.reset());
  afterAll(async () => {
    await responder?.stop();
    await nc?.close();
    await server?.stop();
    project?.remove();
  });

  const run = (allowBreaking: boolean, lines: string[], inputs?: Record<string, string>) => {
    const { platform, started } = recordingPlatform("1.0.0", inputs);
    const result = deploy({
      platform,
      builder: { build: async () => ({ version: "1.1.0", hash: "new", ref: "new", inputs: { proto: "bbbb" } }) },
      concurrency: 2,
      timeoutMs: 5000,
      pollMs: 1,
      gate: contractGate({
        protoDir: project.protoDir,
        nats: async () => nc,
        allowBreaking,
        write: (l) => lines.push(l),
        cwd: project.root,
        cacheDir: null,
      }),
    });
    return { result, started };
  };

  it("refuses a breaking change with exit 2, lists each violation, and rolls nothing out", async () => {
    project.write("shop/v1/shop.proto", SHOP_PROTO.replace("  uint32 quantity = 3;\n", ""));
    const lines: string[] = [];
    const { result, started } = run(false, lines);
    const err = await result.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BreakingChangeError);
    expect(err).toMatchObject({ exitCode: 2, code: "breaking_change" });
    expect((err as Error).message).toMatch(
      /^2 breaking changes in shop against the running fleet: nothing was rolled out$/,
    );
    expect(started).toEqual([]);
    expect(lines).toContainEqual(
      expect.stringMatching(/^proto\/shop\/v1\/shop\.proto:\d+:\d+ {2}FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED {2}/),
    );
  });

  it("rolls out a breaking change with --allow-breaking, after listing it", async () => {
    project.write("shop/v1/shop.proto", SHOP_PROTO.replace("string sku = 2;", "string sku = 5;"));
    const lines: string[] = [];
    const { result, started } = run(true, lines);
    const r = await result;
    expect(r.services.map((s) => s.action)).toEqual(["deployed"]);
    expect(started).toEqual(["shop 1.1.0"]);
    expect(lines.at(-1)).toMatch(
      /breaking changes? in shop against the running fleet: deploying anyway \(--allow-breaking\)$/,
    );
  });

  it("rolls out a compatible change (an added field) without a word", async () => {
    project.write(
      "shop/v1/shop.proto",
      SHOP_PROTO.replace("  gs.common.v1.Money price = 4;\n", "  gs.common.v1.Money price = 4;\n  string note = 5;\n"),
    );
    const lines: string[] = [];
    const { result, started } = run(false, lines);
    await result;
    expect(started).toEqual(["shop 1.1.0"]);
    expect(lines).toEqual([]);
  });

  it("does not check a service whose .proto inputs are unchanged", async () => {
    project.write("shop/v1/shop.proto", SHOP_PROTO.replace("  uint32 quantity = 3;\n", ""));
    const { result, started } = run(false, [], { proto: "bbbb" });
    await result;
    expect(started).toEqual(["shop 1.1.0"]);
    expect(
      protoChanged(
        { version: "1", hash: "a", ref: "a", inputs: { proto: "x" } },
        { version: "2", hash: "b", ref: "b", inputs: { proto: "x" } },
      ),
    ).toBe(false);
    expect(protoChanged(undefined, { version: "2", hash: "b", ref: "b" })).toBe(true);
  });
});
