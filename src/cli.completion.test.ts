// Shell completion (@oclif/plugin-autocomplete): the built CLI writes its bash and zsh scripts into the
// oclif cache dir (pointed at a temp dir here); they must parse, list every command with its flags, and
// bash's must complete a command and a flag when a shell asks it to.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, runCli } from "../test/support/run-cli.js";

interface ManifestFlag {
  hidden?: boolean;
}
interface Manifest {
  commands: Record<string, { hidden?: boolean; flags: Record<string, ManifestFlag> }>;
}

let home: string;
let cache: string;
const env = () => ({ HOME: home, XDG_CACHE_HOME: cache });
const scriptPath = (shell: "bash" | "zsh") =>
  path.join(cache, "gs", "autocomplete", "functions", shell, shell === "bash" ? "gs.bash" : "_gs");

/** The commands of the build (oclif.manifest.json) with their visible flags. */
function commands(): [string, string[]][] {
  const manifest = JSON.parse(readFileSync(path.join(repoRoot, "oclif.manifest.json"), "utf8")) as Manifest;
  return Object.entries(manifest.commands)
    .filter(([, c]) => !c.hidden)
    .map(([id, c]) => [id, Object.keys(c.flags).filter((f) => !c.flags[f]!.hidden)]);
}

/** What bash's completion function offers for `words` (the last one is being completed). */
function bashComplete(words: string[]): string[] {
  const quoted = words.map((w) => `'${w}'`).join(" ");
  const script = `source '${scriptPath("bash")}'; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _gs_autocomplete; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync("bash", ["--norc", "--noprofile", "-c", script], { encoding: "utf8" });
  expect(r.stderr).toBe("");
  return r.stdout.split("\n").filter(Boolean);
}

describe("shell completion", () => {
  beforeAll(async () => {
    if (!existsSync(path.join(repoRoot, "oclif.manifest.json"))) throw new Error("build first: npm run build");
    home = mkdtempSync(path.join(os.tmpdir(), "gs-completion-"));
    cache = path.join(home, "cache");
    const r = await runCli(["autocomplete", "--refresh-cache"], { env: env(), cwd: home });
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it("writes a bash script that bash parses, listing every command with its flags", () => {
    const file = scriptPath("bash");
    expect(spawnSync("bash", ["-n", file], { encoding: "utf8" }).stderr).toBe("");
    const lines = readFileSync(file, "utf8").split("\n");
    for (const [id, flags] of commands()) {
      const line = lines.find((l) => l.split(" ")[0] === id);
      expect(line, `command ${id}`).toBeDefined();
      expect(line!.split(" ").slice(1).sort()).toEqual(flags.map((f) => `--${f}`).sort());
    }
  });

  it("completes a command name and a flag in bash", () => {
    expect(bashComplete(["gs", "req"])).toEqual(["request"]);
    expect(bashComplete(["gs", "sub"]).sort()).toEqual(["subjects", "subscribe"]);
    expect(bashComplete(["gs", "request", "--rep"])).toEqual(["--replies"]);
    expect(bashComplete(["gs", "status", "--"])).toContain("--watch");
  });

  it("writes a zsh completion function that zsh parses, listing every command and flag", () => {
    const zsh = spawnSync("zsh", ["--version"]);
    if (zsh.error) throw new Error("zsh not found: apt-get install zsh (scripts/install-system-deps.sh installs it)");
    const file = scriptPath("zsh");
    const check = spawnSync("zsh", ["-n", file], { encoding: "utf8" });
    expect(check.stderr).toBe("");
    expect(check.status).toBe(0);
    const text = readFileSync(file, "utf8");
    expect(text.startsWith("#compdef gs")).toBe(true);
    for (const [id, flags] of commands()) {
      // a topic's commands (`kv:ls`) are listed and cased in the topic's own function (`_gs_kv`)
      const [topic, name] = id.includes(":") ? (id.split(":") as [string, string]) : [undefined, id];
      const start = topic === undefined ? 0 : text.indexOf(`\n_gs_${topic}() {`);
      expect(start, `function _gs_${topic}`).toBeGreaterThanOrEqual(0);
      const scope = text.slice(start);
      expect(scope, `command ${id}`).toContain(`"${name}[`);
      const at = topic === undefined ? scope.indexOf(`\n${name})\n`) : scope.indexOf(`"${name}")`);
      expect(at, `case for ${id}`).toBeGreaterThanOrEqual(0);
      const block = scope.slice(at);
      for (const f of flags) expect(block, `${id} --${f}`).toMatch(new RegExp(`--${f}\\b`));
    }
  });

  it("prints the lines that hook the scripts into each shell", async () => {
    const bash = await runCli(["autocomplete", "script", "bash"], { env: env(), cwd: home });
    expect(bash.code).toBe(0);
    expect(bash.stdout).toContain(path.join(cache, "gs", "autocomplete", "bash_setup"));
    const zsh = await runCli(["autocomplete", "script", "zsh"], { env: env(), cwd: home });
    expect(zsh.code).toBe(0);
    expect(zsh.stdout).toContain(path.join(cache, "gs", "autocomplete", "zsh_setup"));
  });
});
