// `gs describe` with the repository's proto/ (types from the fleet: request.schema-fleet.test.ts).
import { describe, expect, it } from "vitest";
import type { ErrorJson } from "../base-command.js";
import { runCli } from "../../test/support/run-cli.js";
import type { DescribeJson } from "./describe.js";

describe("gs describe", () => {
  it("shows an rpc as proto source with its comments, its request and response, and its curated example", async () => {
    const r = await runCli(["describe", "auth.login"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("// auth.login: rpc Login of auth.v1.AuthService");
    expect(r.stdout).toContain("  // Verifies credentials and issues a session token with a TTL.");
    expect(r.stdout).toContain("  rpc Login(LoginRequest) returns (LoginResponse);");
    expect(r.stdout).toMatch(
      /message LoginRequest \{\n {2}string username = 1;\n {2}string password = 2;\n {2}\/\/ Requested session lifetime[^\n]*\n {2}google\.protobuf\.Duration ttl = 3;/,
    );
    expect(r.stdout).toContain("message LoginResponse {\n  Session session = 1;\n}");
    // the first curated example of proto/, as a command to run
    expect(r.stdout).toMatch(/\/\/ example\ngs request auth\.login '\{"username":"ada",[^\n]*\}'\n$/);
  });

  it("shows a message by its full or its short name, and an event by its subject", async () => {
    const full = await runCli(["describe", "auth.v1.Session"]);
    expect(full.code).toBe(0);
    expect(full.stdout).toContain("// A live session.\nmessage Session {\n  string session_token = 1;");
    const short = await runCli(["describe", "Session"]);
    expect(short.stdout).toBe(full.stdout);
    const event = await runCli(["describe", "events.auth.player-registered"]);
    expect(event.code).toBe(0);
    expect(event.stdout).toContain("message PlayerRegisteredEvent {");
    expect(event.stdout).toMatch(/gs publish events\.auth\.player-registered '\{/);
  });

  it("gives the google.protobuf descriptors as JSON", async () => {
    const r = await runCli(["describe", "auth.login", "--json"]);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout) as DescribeJson;
    expect(d).toMatchObject({
      kind: "rpc",
      name: "auth.v1.AuthService.Login",
      subject: "auth.login",
      service: "auth",
      schema: { source: "local" },
      descriptor: { name: "Login", inputType: ".auth.v1.LoginRequest", outputType: ".auth.v1.LoginResponse" },
      request: { name: "auth.v1.LoginRequest" },
      example: { username: "ada" },
    });
    const fields = (d.request!.descriptor as { field: { name: string; number: number; typeName?: string }[] }).field;
    expect(fields.map((f) => [f.name, f.number])).toEqual([
      ["username", 1],
      ["password", 2],
      ["ttl", 3],
      ["client", 4],
    ]);
    expect(fields[2]!.typeName).toBe(".google.protobuf.Duration");
    expect(d.proto).toContain("rpc Login(LoginRequest) returns (LoginResponse);");
  });

  it("refuses an unknown name in one line with exit 2 and suggests close ones", async () => {
    const r = await runCli(["describe", "auth.logn"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/no rpc, event or type named auth\.logn \(did you mean auth\.login/);
    const typo = await runCli(["describe", "Sesion", "--json"]);
    expect(typo.code).toBe(2);
    expect((JSON.parse(typo.stdout) as ErrorJson).error).toMatchObject({
      code: "unknown_name",
      message: expect.stringMatching(/did you mean Session/),
    });
  });
});
