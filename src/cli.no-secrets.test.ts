// No secret in any output: every command of the built CLI, given passwords, tokens, a creds file and
// TLS keys (through flags and env, right and wrong), in every output form — plain (CI), --json, a
// TTY (through `script`), and debug logs (DEBUG=gs*) — never prints one of them.
// The secure local fleet's own files and logs are checked in src/lib/platform/local/security/fleet-security.test.ts.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser } from "@nats-io/nkeys";
import { startNatsServer, type TestNatsServer } from "../test/support/nats-server.js";
import { repoRoot } from "../test/support/run-cli.js";

const PASSWORD = "pw-Zq8vLr2Xk9Tn";
const WRONG_PASSWORD = "pw-Wr0ngH7uD3sA";
const TOKEN = "tok-Mv4cN1pQ6sEw";
const SEED = new TextDecoder().decode(createUser().getSeed());
const KEY_MARKER = "MIGHAgEAMBMGByqGSM49"; // the first bytes of a PKCS#8 EC private key
const SECRETS = [PASSWORD, WRONG_PASSWORD, TOKEN, SEED, KEY_MARKER];

const hasScript = spawnSync("script", ["--version"]).status === 0;

let userServer: TestNatsServer;
let tokenServer: TestNatsServer;
let dir: string;

interface Out {
  argv: string;
  output: string;
}

/** Run the CLI; `tty` runs it under `script` so stdout and stderr are a terminal. */
function run(args: string[], opts: { env?: NodeJS.ProcessEnv; tty?: boolean }): Promise<Out> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, NO_COLOR: "1", ...opts.env };
  if (!opts.tty) env.CI = "true";
  const cli = [process.execPath, path.join(repoRoot, "bin/run.js"), ...args];
  const quoted = cli.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const [cmd, argv] = opts.tty ? ["script", ["-qfec", `timeout 15 ${quoted}`, "/dev/null"]] : [cli[0]!, cli.slice(1)];
  return new Promise((resolve) => {
    const child = spawn(cmd, argv as string[], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("close", () => {
      clearTimeout(timer);
      resolve({ argv: `${opts.tty ? "[tty] " : ""}${args.join(" ")}`, output });
    });
  });
}

beforeAll(async () => {
  userServer = await startNatsServer({ args: ["--user", "gs-user", "--pass", PASSWORD] });
  tokenServer = await startNatsServer({ args: ["--auth", TOKEN] });
  dir = mkdtempSync(path.join(os.tmpdir(), "gs-secrets-"));
  writeFileSync(path.join(dir, "gs.yaml"), "project: secrets\nservices:\n  auth: {}\n");
  // a creds file (JWT + seed) and a TLS key: gs reads them, and must not echo them
  writeFileSync(
    path.join(dir, "user.creds"),
    `-----BEGIN NATS USER JWT-----\neyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.e30.c2ln\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${SEED}\n------END USER NKEY SEED------\n`,
  );
  writeFileSync(
    path.join(dir, "client.key"),
    `-----BEGIN PRIVATE KEY-----\n${KEY_MARKER}AQYIKoZIzj0DAQcEbTBrAgEBBCBsecret\n-----END PRIVATE KEY-----\n`,
  );
  writeFileSync(path.join(dir, "data.json"), '{"username":"u","password":"p"}');
}, 30_000);

afterAll(async () => {
  await userServer?.stop();
  await tokenServer?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("secrets in output", () => {
  it("appear in no output form of any command", async () => {
    const right = ["-s", userServer.url, "--user", "gs-user", "--password", PASSWORD, "--timeout", "2s"];
    const wrong = ["-s", userServer.url, "--user", "gs-user", "--password", WRONG_PASSWORD, "--timeout", "2s"];
    const creds = ["-s", userServer.url, "--creds", "user.creds", "--timeout", "2s"];
    const tls = [
      "-s",
      `tls://127.0.0.1:${userServer.port}`,
      "--tls-key",
      "client.key",
      "--tls-cert",
      "client.key",
      "--user",
      "gs-user",
      "--password",
      PASSWORD,
      "--timeout",
      "2s",
    ];
    const inUrl = ["-s", `nats://gs-user:${PASSWORD}@127.0.0.1:${userServer.port}`, "--timeout", "2s"];
    const natsCommands: string[][] = [
      ["request", "auth.login", "{}"],
      ["request", "auth.login", "--data-file", "data.json"],
      ["publish", "events.auth.test", "{}", "--raw"],
      ["subscribe", "nothing.here", "--count", "1"],
      ["services"],
      ["bench", "auth.login", "{}", "--duration", "1s", "--rate", "10"],
      ["kv", "ls", "auth"],
      ["events", "tail", "-n", "1"],
    ];
    const runs: Promise<Out>[] = [];
    for (const cmd of natsCommands) {
      for (const auth of [right, wrong, creds, tls, inUrl]) runs.push(run([...cmd, ...auth], {}));
      for (const auth of [right, wrong])
        runs.push(run([...cmd, ...auth, "--json"], {}), run([...cmd, ...auth], { env: { DEBUG: "gs*" } }));
      if (hasScript) runs.push(run([...cmd, ...right], { tty: true }), run([...cmd, ...wrong], { tty: true }));
      // credentials from the environment, as services and natscli users pass them
      runs.push(run(cmd, { env: { NATS_URL: userServer.url, NATS_USER: "gs-user", NATS_PASSWORD: WRONG_PASSWORD } }));
      runs.push(run([...cmd, "--json"], { env: { NATS_URL: tokenServer.url, NATS_TOKEN: TOKEN } }));
      runs.push(run([...cmd, "--json"], { env: { NATS_URL: userServer.url, NATS_TOKEN: TOKEN, DEBUG: "gs*" } }));
    }
    // a Redis state store's password, from the flag and from the environment
    const redisUrl = `redis://gs:${PASSWORD}@127.0.0.1:9`;
    for (const json of [[], ["--json"]]) {
      runs.push(run(["kv", "get", "auth", "user.a", "--backend", "redis", "--redis-url", redisUrl, ...json], {}));
      runs.push(run(["kv", "ls", "auth", "--backend", "redis", ...json], { env: { GS_REDIS_URL: redisUrl } }));
    }
    // the commands without NATS flags, with the secrets in the environment they inherit
    const env = {
      NATS_URL: userServer.url,
      NATS_PASSWORD: PASSWORD,
      NATS_TOKEN: TOKEN,
      NATS_CREDS: path.join(dir, "user.creds"),
    };
    for (const cmd of [
      ["status"],
      ["status", "--json"],
      ["logs", "auth"],
      ["scale", "auth", "1"],
      ["down"],
      ["subjects", "--service", "auth"],
      ["deploy", "--dry-run"],
      ["build", "auth", "--json"],
      ["up", "--timeout", "1s", "--services", "nope"],
    ]) {
      runs.push(run(cmd, { env }), run(cmd, { env: { ...env, DEBUG: "gs*" } }));
      if (hasScript) runs.push(run(cmd, { env, tty: true }));
    }
    // a few at a time: 2 cores
    const outs: Out[] = [];
    for (let i = 0; i < runs.length; i += 8) outs.push(...(await Promise.all(runs.slice(i, i + 8))));
    const leaks = outs.flatMap((o) =>
      SECRETS.filter((s) => o.output.includes(s)).map((s) => `${o.argv}: prints ${s.slice(0, 6)}…`),
    );
    expect(leaks).toEqual([]);
    // the runs did exercise both paths: success with the right password, an auth failure with the wrong one
    const outputs = outs.map((o) => o.output).join("\n");
    expect(outputs).toMatch(/authorization failed/);
    expect(outputs).toMatch(/no service answers|no responders|503/i);
    expect(readFileSync(path.join(dir, "user.creds"), "utf8")).toContain(SEED);
  }, 600_000);
});
