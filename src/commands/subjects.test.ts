// `gs subjects` shows the examples curated in proto/ (docs/contracts.md), and derives one from the
// request type for an rpc that has none.
import { describe, expect, it } from "vitest";
import type { SubjectEntry } from "./subjects.js";
import { createContractProject } from "../../test/support/contract-fixtures.js";
import { runCli } from "../../test/support/run-cli.js";

describe("gs subjects", () => {
  it("carries each rpc's curated examples in --json, the first as `example`", async () => {
    const r = await runCli(["subjects", "--service", "auth", "--json"]);
    expect(r.code).toBe(0);
    const login = (JSON.parse(r.stdout) as SubjectEntry[]).find((s) => s.subject === "auth.login")!;
    expect(login.example).toEqual({
      username: "ada",
      password: "correct-horse-battery",
      ttl: "3600s",
      client: "pc/1.4.2",
    });
    expect(login.examples).toEqual([
      { request: login.example },
      {
        request: { username: "ada", password: "wrong-password-123" },
        error: { code: 401, text: "invalid username or password" },
      },
    ]);
  });

  it("prints every example as a gs request line with --examples, with the error one documents", async () => {
    const r = await runCli(["subjects", "--service", "auth", "--examples"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("auth.login  auth.v1.LoginRequest -> auth.v1.LoginResponse\n");
    expect(r.stdout).toContain(
      `  gs request auth.login '{"username":"ada","password":"wrong-password-123"}'  # answered with error 401 invalid username or password\n`,
    );
    expect(r.stdout).toContain(`  gs request auth.validate '{"sessionToken":"{{auth.login:session.sessionToken}}"}'\n`);
  });

  it("derives an example from the request type for an rpc without a curated one", async () => {
    const project = createContractProject();
    try {
      const r = await runCli(["subjects", "--json"], { cwd: project.root });
      expect(r.code).toBe(0);
      const buy = (JSON.parse(r.stdout) as SubjectEntry[]).find((s) => s.subject === "shop.buy")!;
      expect(buy.examples).toEqual([]);
      expect(buy.example).toMatchObject({ playerId: "player-1", quantity: 1, price: { currency: "EUR" } });
    } finally {
      project.remove();
    }
  });
});
