// Every kind of bad input, run as a user runs gs (the built CLI, a child process): exit 2, one line
// on stderr saying what is wrong and what to do, no stack, never "a bug in gs"; under --json the same
// as a JSON error document on stdout. Nothing connects: the inputs are refused before that.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ErrorJson } from "./base-command.js";
import { runCli } from "../test/support/run-cli.js";

let dir: string;
let configHome: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "gs-bad-input-"));
  // natscli contexts: one that is not JSON, one whose URL is not a NATS address
  configHome = path.join(dir, "config");
  mkdirSync(path.join(configHome, "nats", "context"), { recursive: true });
  writeFileSync(path.join(configHome, "nats", "context", "broken.json"), "{ not json");
  writeFileSync(path.join(configHome, "nats", "context", "web.json"), JSON.stringify({ url: "https://nats.example" }));
  mkdirSync(path.join(dir, "bad-yaml"));
  writeFileSync(path.join(dir, "bad-yaml", "gs.yaml"), "project: x\nservices:\n  auth: { desired: lots }\n");
  writeFileSync(path.join(dir, "empty.json"), "");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs gs where nothing answers on NATS and returns its one line of stderr, after checking the contract. */
async function usageError(args: string[], opts: { cwd?: string } = {}): Promise<string> {
  const r = await runCli(args, { cwd: opts.cwd ?? dir, env: { XDG_CONFIG_HOME: configHome } });
  const lines = r.stderr.trim().split("\n").filter(Boolean);
  expect(r.code, r.stderr).toBe(2);
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: .+ — .+/);
  expect(r.stderr).not.toMatch(/\n\s+at |bug in gs/);
  expect(r.stdout).toBe("");
  return lines[0]!;
}

const OFFLINE = ["-s", "nats://127.0.0.1:1"];

describe("bad NATS settings exit 2", () => {
  it.each([
    [
      ["--server", "nats://:::bad"],
      'error: --server: "nats://:::bad" is not a NATS server address — use nats://host:port',
    ],
    [["--server", ""], "error: --server: no server given — pass e.g. --server nats://127.0.0.1:4222"],
    [["--server", "http://x"], 'error: --server: "http://x" is not a NATS server address — use nats://host:port'],
    [["--context", "nosuch"], 'error: natscli context "nosuch" not found: '],
    [["--context", "broken"], /^error: .*broken\.json: natscli context "broken" is not valid JSON/],
    [
      ["--context", "web"],
      /^error: context web \(.*web\.json\): "https:\/\/nats\.example" is not a NATS server address/,
    ],
    [["--context", ""], 'error: invalid natscli context name "" — list the contexts with `nats context ls`'],
    [
      ["--creds", "/nonexistent/user.creds", ...OFFLINE],
      "error: cannot connect to NATS at nats://127.0.0.1:1: cannot read credentials file /nonexistent/user.creds (no such file) — check the path given by --creds / --tls-*",
    ],
  ])("gs request auth.login {} %j", async (flags, expected) => {
    const line = await usageError(["request", "auth.login", "{}", ...flags]);
    if (typeof expected === "string") expect(line.startsWith(expected), line).toBe(true);
    else expect(line).toMatch(expected);
  });

  it("a malformed NATS_URL exits 2 and names the variable", async () => {
    const r = await runCli(["request", "auth.login", "{}"], { cwd: dir, env: { NATS_URL: "nats://:::bad" } });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^error: NATS_URL: "nats:\/\/:::bad" is not a NATS server address — /);
  });
});

describe("bad flags and arguments exit 2 with one line that names them", () => {
  it.each([
    [["request", "auth.login", "--nosuch"], "error: unknown flag --nosuch — see `gs request --help`"],
    [["request"], "error: missing argument SUBJECT — see `gs request --help`"],
    [["publish", "a", "b", "c", "d"], "error: unexpected arguments: c d — see `gs publish --help`"],
    [
      ["request", "auth.login", "{}", "--count", "abc", ...OFFLINE],
      "error: --count: Expected an integer but received: abc — see `gs request --help`",
    ],
    [
      ["request", "auth.login", "{}", "--count", "0", ...OFFLINE],
      "error: --count: Expected an integer greater than or equal to 1 but received: 0 — see `gs request --help`",
    ],
    [
      ["request", "auth.login", "{}", "--timeout", "soon", ...OFFLINE],
      'error: --timeout: bad duration "soon": use e.g. 500ms, 5s, 1m — see `gs request --help`',
    ],
    [
      ["request", "auth.login", "{}", "--timeout", "99999999999999999999", ...OFFLINE],
      "error: --timeout: 100000000000000000000ms is longer than 596h — pass e.g. --timeout 5s",
    ],
    [
      ["build", "--engine", "podman"],
      "error: Expected --engine=podman to be one of: docker, buildah — see `gs build --help`",
    ],
    [["request", "auth.login", "{}", "--server"], "error: Flag --server expects a value — see `gs request --help`"],
  ])("gs %j", async (args, expected) => {
    const line = await usageError(args);
    expect(line.startsWith(expected), line).toBe(true);
  });
});

describe("bad data and configuration exit 2", () => {
  it.each([
    [["request", "auth.login", '{"username": }', ...OFFLINE], /^error: DATA is not valid JSON at line 1, column 14/],
    [
      ["request", "auth.login", "--data-file", "/nonexistent/login.json", ...OFFLINE],
      /^error: cannot read --data-file \/nonexistent\/login\.json: ENOENT — check the path/,
    ],
    [["status", "--config", "/nonexistent/gs.yaml"], /^error: config file not found: \/nonexistent\/gs\.yaml — /],
    [["status", "--target", "prod"], /^error: unknown target "prod" \(from --target\); known targets: local — /],
  ])("gs %j", async (args, expected) => {
    expect(await usageError(args)).toMatch(expected);
  });

  it("a gs.yaml with a wrong value exits 2 naming the key", async () => {
    expect(await usageError(["status"], { cwd: path.join(dir, "bad-yaml") })).toMatch(
      /^error: gs\.yaml: services\.auth\.desired: expected a number — fix the value in gs\.yaml/,
    );
  });
});

describe("unknown commands", () => {
  it("a mistyped command exits 2 with the closest command", async () => {
    expect(await usageError(["stauts"])).toBe(
      "error: unknown command stauts (did you mean status?) — see `gs --help` for the commands",
    );
  });

  it("a command with nothing close exits 2 without a suggestion", async () => {
    expect(await usageError(["zzzzzz"])).toBe("error: unknown command zzzzzz — see `gs --help` for the commands");
  });
});

describe("--json errors", () => {
  it("a usage error is a JSON document on stdout with its code, hint and exit code", async () => {
    const r = await runCli(["request", "auth.login", "{}", "--server", "nats://:::bad", "--json"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout) as ErrorJson).toEqual({
      error: {
        code: "bad_server_address",
        message: '--server: "nats://:::bad" is not a NATS server address',
        hint: "use nats://host:port, tls://host:port or host:port (several separated by commas)",
        exitCode: 2,
      },
    });
  });

  it("an oclif parse error is one too", async () => {
    const r = await runCli(["request", "auth.login", "--nosuch", "--json"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout) as ErrorJson).toEqual({
      error: { code: "unknown_flag", message: "unknown flag --nosuch", hint: "see `gs request --help`", exitCode: 2 },
    });
  });

  it("an unknown command is one too", async () => {
    const r = await runCli(["nosuch", "--json"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout) as ErrorJson).toEqual({
      error: {
        code: "unknown_command",
        message: "unknown command nosuch",
        hint: "see `gs --help` for the commands",
        exitCode: 2,
      },
    });
  });
});
