// The breaking-change check with the real buf binary, against a git ref of a temp repository and
// against a live fleet (a real nats-server and a responder serving the descriptor set).
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { parse } from "yaml";
import {
  createContractProject,
  descriptorSet,
  serveDescriptorSet,
  SHOP_PROTO,
  type ContractProject,
} from "../../../test/support/contract-fixtures.js";
import { startNatsServer, type TestNatsServer } from "../../../test/support/nats-server.js";
import { repoRoot } from "../../../test/support/run-cli.js";
import { BREAKING_RULES } from "./buf.js";
import { checkContracts, servicesInProto, type Against } from "./breaking.js";

let project: ContractProject;

const cases: [string, string, string, string][] = [
  // what changes, the edit, the rule buf names, the line it points at
  ["a removed field", "  uint32 quantity = 3;\n", "", "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED"],
  ["a renumbered field", "string sku = 2;", "string sku = 5;", "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED"],
  ["a changed type", "uint32 quantity = 3;", "string quantity = 3;", "FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
  ["a removed rpc", "  rpc ListItems(ListItemsRequest) returns (ListItemsResponse);\n", "", "RPC_NO_DELETE"],
];

const edited = (from: string, to: string) => {
  expect(SHOP_PROTO).toContain(from);
  return SHOP_PROTO.replace(from, to);
};

function checksOf(against: () => Against) {
  for (const [what, from, to, rule] of cases) {
    it(`refuses ${what}: ${rule}, with file, line and column`, async () => {
      project.write("shop/v1/shop.proto", edited(from, to));
      const report = await checkContracts({ protoDir: project.protoDir, services: ["shop"], against: against() });
      expect(report.breaking).toBe(true);
      const shop = report.services.find((s) => s.service === "shop")!;
      expect(shop.status).toBe("breaking");
      expect(shop.violations.map((v) => v.rule)).toContain(rule);
      for (const v of shop.violations) {
        expect(v.file).toBe("shop/v1/shop.proto");
        expect(v.line).toBeGreaterThan(0);
        expect(v.column).toBeGreaterThan(0);
        expect(v.message).not.toBe("");
      }
    });
  }

  it("passes an added field and an added rpc", async () => {
    project.write(
      "shop/v1/shop.proto",
      edited("  gs.common.v1.Money price = 4;\n", "  gs.common.v1.Money price = 4;\n  string coupon = 5;\n").replace(
        "  rpc ListItems(ListItemsRequest) returns (ListItemsResponse);\n",
        "  rpc ListItems(ListItemsRequest) returns (ListItemsResponse);\n  rpc Gift(BuyRequest) returns (BuyResponse);\n",
      ),
    );
    const report = await checkContracts({ protoDir: project.protoDir, services: ["shop"], against: against() });
    expect(report.breaking).toBe(false);
    expect(report.services).toMatchObject([{ service: "shop", status: "compatible", violations: [] }]);
  });
}

describe("breaking changes against a git ref", () => {
  beforeAll(() => void (project = createContractProject()));
  afterEach(() => project.reset());
  afterAll(() => project.remove());

  checksOf(() => ({ kind: "git", ref: "main" }));

  it("reports a breaking change in a shared package under that package's folder", async () => {
    project.write(
      "gs/common/v1/common.proto",
      readFileSync(path.join(project.protoDir, "gs/common/v1/common.proto"), "utf8").replace(
        "  int64 minor_units = 2;\n",
        "",
      ),
    );
    const report = await checkContracts({
      protoDir: project.protoDir,
      services: ["shop"],
      against: { kind: "git", ref: "HEAD" },
    });
    expect(report.services.map((s) => [s.service, s.status])).toEqual([
      ["shop", "compatible"],
      ["gs", "breaking"],
    ]);
  });

  it("compares with the ref, not the working tree: a committed change is the new baseline", async () => {
    project.write("shop/v1/shop.proto", edited("string sku = 2;", "string sku = 5;"));
    const before = project.commit("renumber sku");
    const report = await checkContracts({
      protoDir: project.protoDir,
      services: ["shop"],
      against: { kind: "git", ref: "HEAD" },
    });
    expect(report.breaking).toBe(false);
    expect(report.services[0]!.against).toBe(before);
    const vsFirst = await checkContracts({
      protoDir: project.protoDir,
      services: ["shop"],
      against: { kind: "git", ref: "HEAD~1" },
    });
    expect(vsFirst.breaking).toBe(true);
  });

  it("rejects a ref that does not exist with one line (exit 2)", async () => {
    await expect(
      checkContracts({
        protoDir: project.protoDir,
        services: ["shop"],
        against: { kind: "git", ref: "no-such-branch" },
      }),
    ).rejects.toMatchObject({ code: "unknown_git_ref", exitCode: 2, message: 'unknown git ref "no-such-branch"' });
  });
});

describe("breaking changes against the running fleet", () => {
  let server: TestNatsServer;
  let nc: NatsConnection;
  let responder: Awaited<ReturnType<typeof serveDescriptorSet>>;

  beforeAll(async () => {
    project = createContractProject();
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    // what runs: the module as committed
    responder = await serveDescriptorSet(nc, "shop", descriptorSet(project.protoDir, "shop/v1/shop.proto"));
  });
  afterEach(() => project.reset());
  afterAll(async () => {
    await responder?.stop();
    await nc?.close();
    await server?.stop();
    project?.remove();
  });

  checksOf(() => ({ kind: "fleet", nc, cacheDir: null }));

  it("names the digest of the descriptor set it compared with", async () => {
    const report = await checkContracts({
      protoDir: project.protoDir,
      services: ["shop"],
      against: { kind: "fleet", nc, cacheDir: null },
    });
    expect(report.services[0]).toMatchObject({ service: "shop", status: "compatible", against: responder.digest });
  });

  it("skips a service that does not run, unless it was named", async () => {
    project.write("cart/v1/cart.proto", 'syntax = "proto3";\npackage cart.v1;\nservice CartService {}\n');
    expect(servicesInProto(project.protoDir)).toEqual(["cart", "shop"]);
    const report = await checkContracts({
      protoDir: project.protoDir,
      services: ["cart", "shop"],
      against: { kind: "fleet", nc, cacheDir: null },
    });
    expect(report.services.map((s) => [s.service, s.status])).toEqual([
      ["cart", "skipped"],
      ["shop", "compatible"],
    ]);
    expect(report.services[0]!.reason).toMatch(/no running instance of cart/);
    await expect(
      checkContracts({
        protoDir: project.protoDir,
        services: ["cart"],
        strict: true,
        against: { kind: "fleet", nc, cacheDir: null },
      }),
    ).rejects.toMatchObject({ code: "schema_unavailable", exitCode: 2 });
  });
});

it("applies the breaking rules buf.yaml declares, and buf.yaml lints proto/", () => {
  const config = parse(readFileSync(path.join(repoRoot, "buf.yaml"), "utf8")) as {
    modules: { path: string }[];
    breaking: { use: string[] };
  };
  expect(config.breaking.use).toEqual([...BREAKING_RULES]);
  expect(config.modules).toEqual([{ path: "proto" }]);
});
