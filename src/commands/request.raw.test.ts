// `gs request --raw` writes the reply's bytes (a hex dump only on a terminal), `--out FILE` writes them
// to a file: checked through real pipes into protoc and byte for byte.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeToJson } from "@gs/fleet/sdk/json-codec";
import { startHarness, type Harness } from "../../services/test-support/harness.js";
import { npcProbe } from "../../services/test-support/npc-probe.js";
import { hexDump } from "../lib/output/hex-dump.js";
import { loadRegistry } from "../lib/proto/load.js";
import { cliEnv, cliPath, repoRoot, runCli } from "../../test/support/run-cli.js";
import { hasTmux, terminalEnv, tmuxTerminal } from "../../test/support/terminal.js";
import type { RequestJson } from "./request.js";

let h: Harness;
let tmp: string;
const PROTO = "npc_behavior/v1/npc_behavior.proto";

/** Run a shell pipeline with the built CLI as `gs`; stdout as bytes. */
function pipeline(script: string, input?: Buffer): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-o", "pipefail", "-c", script], {
      cwd: repoRoot,
      env: cliEnv({ GS: `${process.execPath} ${cliPath}`, URL: h.url }),
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
    child.stdin.end(input ?? "");
  });
}

beforeAll(async () => {
  h = await startHarness();
  await h.start(npcProbe());
  // a responder that echoes the request's bytes, and one that answers with nothing
  h.nc.subscribe("raw.echo", { callback: (_e, m) => void m.respond(m.data) });
  h.nc.subscribe("raw.empty", { callback: (_e, m) => void m.respond(new Uint8Array()) });
  await h.nc.flush();
  tmp = mkdtempSync(path.join(os.tmpdir(), "gs-raw-"));
}, 60_000);

afterAll(async () => {
  await h?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("gs request --raw", () => {
  it("pipes protoc-encoded bytes through gs into protoc --decode, the same reply the JSON request gets", async () => {
    const r = await pipeline(
      `printf 'npc_id: "n-raw"\\n' | protoc -I proto --encode=npc_behavior.v1.DecideRequest ${PROTO} ` +
        `| $GS request npc-behavior.decide --data-file - --raw --server "$URL" ` +
        `| protoc -I proto --decode=npc_behavior.v1.DecideResponse ${PROTO}`,
    );
    expect(r.code, r.stderr).toBe(0);
    const text = r.stdout.toString();
    expect(text).toContain('npc_id: "n-raw"');
    expect(text).toContain('action_id: "eat"');

    // the same request as JSON, and the raw bytes written to a file, decoded here: equal
    const json = await runCli(["request", "npc-behavior.decide", '{"npcId":"n-raw"}', "--json", "--server", h.url]);
    expect(json.code).toBe(0);
    const out = path.join(tmp, "reply.bin");
    const file = await runCli(["request", "npc-behavior.decide", '{"npcId":"n-raw"}', "--out", out, "--server", h.url]);
    expect(file.code).toBe(0);
    expect(file.stdout).toBe("");
    const type = loadRegistry({ cwd: repoRoot }).rpc("npc-behavior.decide")!.response;
    expect(decodeToJson(type, new Uint8Array(readFileSync(out)))).toEqual(
      (JSON.parse(json.stdout) as RequestJson).replies[0]!.reply,
    );
  });

  it("writes the exact bytes to a pipe, and nothing at all for an empty reply", async () => {
    const bytes = Buffer.from([0x00, 0x01, 0xff, 0x0a, 0x68, 0x69]);
    const echo = await pipeline(`$GS request raw.echo --data-file - --raw --server "$URL"`, bytes);
    expect(echo.code, echo.stderr).toBe(0);
    expect(echo.stdout.equals(bytes)).toBe(true);
    const empty = await pipeline(`$GS request raw.empty --raw --server "$URL" | wc -c`);
    expect(empty.stdout.toString().trim()).toBe("0");
  });

  it("writes the reply to --out FILE, and refuses --out with several replies before sending", async () => {
    const out = path.join(tmp, "echo.bin");
    const r = await runCli(["request", "raw.echo", "bytes!", "--raw", "--out", out, "--server", h.url]);
    expect(r.code).toBe(0);
    expect(readFileSync(out, "utf8")).toBe("bytes!");
    const bad = await runCli(["request", "raw.echo", "x", "--raw", "--out", out, "--count", "2", "--server", h.url]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--out writes one reply's bytes/);
    const nowhere = await runCli([
      "request",
      "raw.echo",
      "x",
      "--raw",
      "--out",
      "/nonexistent/dir/f",
      "--server",
      h.url,
    ]);
    expect(nowhere.code).toBe(2);
  });

  describe.runIf(hasTmux)("on a terminal", () => {
    const term = tmuxTerminal("gs-raw");
    afterAll(() => term.close());

    it("prints a hex dump instead of the bytes", async () => {
      const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(cliPath)} request raw.echo 'hi there' --raw -s ${h.url}; echo "gs exited with $?"; sleep 60`;
      term.start(cmd, { cwd: repoRoot, env: terminalEnv(), columns: 120, rows: 20 });
      let screen = "";
      for (let i = 0; i < 150 && !/gs exited with \d+/.test(screen); i++) {
        await new Promise((r) => setTimeout(r, 200));
        screen = term.screen();
      }
      expect(screen).toMatch(/gs exited with 0/);
      expect(screen).toContain(hexDump(Buffer.from("hi there")));
    }, 60_000);
  });

  it("shows a terminal the hex dump hexdump -C would", () => {
    const bytes = Buffer.from("hello world, this is raw\u0000\u0001 and more than two lines of it");
    const real = spawnSync("hexdump", ["-C"], { input: bytes, encoding: "utf8" });
    expect(real.status).toBe(0);
    expect(hexDump(bytes)).toBe(real.stdout.trimEnd());
  });
});
