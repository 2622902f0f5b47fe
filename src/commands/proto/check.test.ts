// `gs proto check` as a user runs it: the built CLI in a project whose proto/ is a git repository,
// against a git ref and against a running fleet (a real nats-server and a responder serving the schema).
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { ProtoCheckJson } from "./check.js";
import {
  createContractProject,
  descriptorSet,
  serveDescriptorSet,
  SHOP_PROTO,
  type ContractProject,
} from "../../../test/support/contract-fixtures.js";
import { freePort } from "../../../test/support/free-port.js";
import { startNatsServer, type TestNatsServer } from "../../../test/support/nats-server.js";
import { runCli } from "../../../test/support/run-cli.js";

let project: ContractProject;
let server: TestNatsServer;
let nc: NatsConnection;
let responder: Awaited<ReturnType<typeof serveDescriptorSet>>;

const withoutQuantity = SHOP_PROTO.replace("  uint32 quantity = 3;\n", "");
const check = (args: string[], env: Record<string, string> = {}) =>
  runCli(["proto", "check", ...args], { cwd: project.root, env: { XDG_CACHE_HOME: `${project.root}/.cache`, ...env } });

describe("gs proto check", () => {
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

  it("lists each breaking change against a git ref as file:line:col, rule and message, and exits 2", async () => {
    project.write("shop/v1/shop.proto", withoutQuantity);
    const r = await check(["--against", "main"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(
      /^proto\/shop\/v1\/shop\.proto:\d+:\d+ {2}FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED {2}Previously present field "3" with name "quantity"/m,
    );
    expect(r.stdout).toMatch(/^shop +2 breaking changes/m);
    expect(r.stdout).toMatch(/^1 of 1 checked is incompatible with main$/m);
    expect(r.stderr).toBe("");
  });

  it("gives the report as JSON, files relative to the working directory", async () => {
    project.write("shop/v1/shop.proto", withoutQuantity);
    const r = await check(["shop", "--against", "HEAD", "--json"]);
    expect(r.code).toBe(2);
    const json = JSON.parse(r.stdout) as ProtoCheckJson;
    expect(json).toMatchObject({ against: "HEAD", breaking: true });
    expect(json.services).toHaveLength(1);
    expect(json.services[0]).toMatchObject({ service: "shop", status: "breaking" });
    expect(json.services[0]!.violations[0]).toMatchObject({
      file: "proto/shop/v1/shop.proto",
      rule: expect.stringMatching(/^FIELD_NO_DELETE_UNLESS_(NAME|NUMBER)_RESERVED$/),
    });
  });

  it("annotates each violation for GitHub Actions", async () => {
    project.write("shop/v1/shop.proto", withoutQuantity);
    const r = await check(["--against", "main"], { GITHUB_ACTIONS: "true" });
    expect(r.stdout).toMatch(
      /^::error file=proto\/shop\/v1\/shop\.proto,line=\d+,col=\d+,title=breaking change \(shop\)%3A FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED::Previously present field/m,
    );
  });

  it("refuses a git ref that does not exist with one line and exit 2", async () => {
    const r = await check(["--against", "no-such-ref"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^error: unknown git ref "no-such-ref" — /)]);
  });

  it("refuses a breaking change against the running fleet and passes an added field", async () => {
    project.write("shop/v1/shop.proto", withoutQuantity);
    const bad = await check(["-s", server.url]);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toMatch(/^proto\/shop\/v1\/shop\.proto:\d+:\d+ {2}FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED {2}/m);
    expect(bad.stdout).toContain(`(schema ${responder.digest.slice(0, 12)})`);
    project.write(
      "shop/v1/shop.proto",
      SHOP_PROTO.replace("  bool ok = 1;\n", "  bool ok = 1;\n  string receipt_id = 2;\n"),
    );
    const ok = await check(["-s", server.url]);
    expect(ok.stdout).toMatch(/^1 checked, all compatible with the fleet$/m);
    expect(ok.code).toBe(0);
  });

  it("exits 1 when the fleet cannot be reached, 2 for a service proto/ does not define", async () => {
    const down = await check(["-s", `nats://127.0.0.1:${await freePort()}`, "--timeout", "1s"]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^error: cannot connect to NATS/);
    const unknown = await check(["shopp", "-s", server.url]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/shopp/);
  });
});
