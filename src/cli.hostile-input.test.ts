// gs itself under hostile files and flags, run as a user does (the built CLI): huge DATA, binary in
// JSON, deep nesting, a corrupt or malicious gs.yaml, corrupt or forged .gs/ state. Every one ends in
// a one-line error and a non-zero exit, never a stack trace, a hang or a signal to someone else's process.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNatsServer, type TestNatsServer } from "../test/support/nats-server.js";
import { runCli } from "../test/support/run-cli.js";

let server: TestNatsServer;
let dir: string;

beforeAll(async () => {
  server = await startNatsServer();
  dir = mkdtempSync(path.join(os.tmpdir(), "gs-hostile-"));
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, content: string | Buffer): string {
  const f = path.join(dir, name);
  mkdirSync(path.dirname(f), { recursive: true });
  writeFileSync(f, content);
  return f;
}

/** Runs gs in `cwd` and checks the error contract: exit 1 or 2 (or `exit`), one line on stderr, no stack. */
async function oneLineError(args: string[], opts: { cwd?: string; exit?: number } = {}): Promise<string> {
  const r = await runCli(args, { cwd: opts.cwd ?? dir, timeoutMs: 30_000 });
  const lines = r.stderr.trim().split("\n").filter(Boolean);
  if (opts.exit !== undefined) expect(r.code, r.stderr).toBe(opts.exit);
  else expect([1, 2], r.stderr).toContain(r.code);
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(r.stderr).not.toMatch(/\n\s+at |this is a bug in gs/);
  return lines[0]!;
}

describe("gs with hostile input", () => {
  it("refuses a 40 MiB DATA file larger than the server's max_payload", async () => {
    const huge = file("huge.json", `{"username":"${"A".repeat(40 * 1024 * 1024)}"}`);
    expect(await oneLineError(["request", "auth.login", "--data-file", huge, "-s", server.url])).toMatch(
      /larger than the server's max_payload/,
    );
  }, 60_000);

  it("refuses binary bytes where JSON is expected", async () => {
    const bin = file("binary.json", Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x00, 0xff, 0xfe, 0x7d]));
    expect(await oneLineError(["request", "auth.login", "--data-file", bin, "-s", server.url])).toMatch(/binary data/);
    expect(await oneLineError(["request", "auth.login", '{"username":"\u0001\u0002"}', "-s", server.url])).toMatch(
      /not valid JSON/,
    );
  });

  it("refuses JSON nested deeper than any message, valid or not, without overflowing its stack", async () => {
    expect(await oneLineError(["request", "auth.login", "[".repeat(100_000), "-s", server.url])).toMatch(
      /not valid JSON/,
    );
    expect(
      await oneLineError(["request", "auth.login", "[".repeat(5000) + "]".repeat(5000), "-s", server.url]),
    ).toMatch(/nested 101 levels deep/);
  });

  it("refuses hostile flag values", async () => {
    expect(await oneLineError(["request", "auth.login", "{}", "--timeout", "9".repeat(400)])).toMatch(
      /timeout|duration/i,
    );
    expect(await oneLineError(["request", "auth.login", "{}", "-s", `nats://${"a".repeat(100_000)} b`])).toMatch(
      /not a NATS server address/,
    );
    expect(await oneLineError(["request", "x".repeat(50_000), "{}", "-s", server.url])).toMatch(/subject|unknown/i);
  });

  it("reports a binary, malformed or alias-bomb gs.yaml in one line", async () => {
    const bad = path.join(dir, "bad-config");
    mkdirSync(bad, { recursive: true });
    writeFileSync(path.join(bad, "gs.yaml"), Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7919) % 256)));
    expect(await oneLineError(["status"], { cwd: bad })).toMatch(/gs\.yaml/);
    const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    let prev = "a";
    for (const n of "bcdefghi") {
      laughs.push(`${n}: &${n} [${Array(9).fill(`*${prev}`).join(",")}]`);
      prev = n;
    }
    writeFileSync(path.join(bad, "gs.yaml"), [...laughs, "project: x", ""].join("\n"));
    expect(await oneLineError(["status"], { cwd: bad })).toMatch(/alias/i);
    writeFileSync(path.join(bad, "gs.yaml"), "project: x\nservices:\n  auth: { desired: lots }\n");
    expect(await oneLineError(["up", "--detach"], { cwd: bad })).toMatch(/services\.auth\.desired/);
  }, 60_000);

  it("reports a corrupt .gs/local.json in one line and never treats a forged one as a running fleet", async () => {
    const proj = path.join(dir, "corrupt-state");
    mkdirSync(path.join(proj, ".gs"), { recursive: true });
    writeFileSync(path.join(proj, "gs.yaml"), "project: x\nservices:\n  auth: {}\n");
    writeFileSync(path.join(proj, ".gs", "local.json"), Buffer.from([0x7b, 0x00, 0xff, 0x13, 0x37]));
    expect(await oneLineError(["request", "auth.login", "{}"], { cwd: proj })).toMatch(
      /local fleet record .* is unusable/,
    );
    writeFileSync(
      path.join(proj, ".gs", "local.json"),
      JSON.stringify({ version: 1, nats: { url: server.url, tls: 5 } }),
    );
    expect(await oneLineError(["request", "auth.login", "{}"], { cwd: proj })).toMatch(/nats\.tls/);
    // a forged record naming pid 1 as its supervisor: gs must neither trust nor signal it
    const forged = {
      version: 1,
      supervisor: { pid: 1, startedAt: "x", detached: true },
      nats: { url: server.url, nodes: [] },
      control: { prefix: "x" },
      pids: [{ pid: 1, what: "x" }],
      services: {},
    };
    writeFileSync(path.join(proj, ".gs", "local.json"), JSON.stringify(forged));
    expect(await oneLineError(["status"], { cwd: proj, exit: 1 })).toMatch(/not running/);
    const down = await runCli(["down"], { cwd: proj, timeoutMs: 30_000 });
    expect(down.code, down.stderr).toBe(0);
    expect(down.stderr).toMatch(/was not running/);
  }, 60_000);
});
