// The docs stay true to the code: docs/commands.md is what the commands generate, the README stays short
// and starts with the quick start, lists every command, and every link points at something in the repo.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../test/support/run-cli.js";

const read = (file: string) => readFileSync(path.join(repoRoot, file), "utf8");
const docPages = () =>
  readdirSync(path.join(repoRoot, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`);

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  const withoutCode = markdown.replace(/^```[\s\S]*?^```/gm, "");
  for (const [, text] of withoutCode.matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const base = text!
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
      .replace(/ /g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Markdown link targets outside code blocks and code spans: `[text](target)`. */
function links(markdown: string): string[] {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, "").replace(/`[^`\n]*`/g, "");
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
}

describe("docs", () => {
  it("docs/commands.md is what the commands generate (if not: npm run build && npm run docs)", () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), "gs-docs-test-"));
    try {
      const out = path.join(tmp, "commands.md");
      execFileSync(process.execPath, [path.join(repoRoot, "scripts/generate-command-docs.mjs"), "--out", out], {
        cwd: tmp,
        stdio: ["ignore", "ignore", "pipe"],
      });
      const fresh = readFileSync(out, "utf8");
      expect(fresh).toContain("## `gs request SUBJECT [DATA]`");
      expect(read("docs/commands.md"), "docs/commands.md is stale: run `npm run build && npm run docs`").toBe(fresh);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 30_000);

  it("the README is at most 12 KB and opens with the two quick-start commands, which exist", () => {
    const readme = read("README.md");
    expect(Buffer.byteLength(readme)).toBeLessThanOrEqual(12 * 1024);
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
    expect(readme.indexOf("```sh")).toBeLessThan(readme.indexOf("\n## "));
    expect(firstBlock.split("\n").map((l) => l.split("#")[0]!.trim())).toEqual(["npm run quickstart", "npm test", ""]);
    const scripts = (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts;
    expect(Object.keys(scripts)).toEqual(expect.arrayContaining(["quickstart", "test"]));
    expect(existsSync(path.join(repoRoot, scripts.quickstart!.replace(/^bash /, "")))).toBe(true);
  });

  it("the README's command table names every command", () => {
    const manifest = JSON.parse(read("oclif.manifest.json")) as { commands: Record<string, { hidden?: boolean }> };
    const table = read("README.md")
      .split("\n")
      .filter((l) => l.startsWith("| `gs "))
      .join("\n");
    const ids = [...Object.keys(manifest.commands), "autocomplete", "help"].filter(
      (id) => !manifest.commands[id]?.hidden,
    );
    // a topic's command `kv:ls` is typed `gs kv ls` (topicSeparator " ")
    for (const id of ids.map((i) => i.replaceAll(":", " ")))
      expect(table, `gs ${id}`).toMatch(new RegExp("`gs " + id + "[ `]"));
  });

  it("every docs/ page is linked from the README", () => {
    const targets = new Set(links(read("README.md")).map((l) => l.split("#")[0]));
    for (const page of docPages()) expect(targets, page).toContain(page);
  });

  it("docs/testing.md describes every file in test/support/, and none of them is a test", () => {
    const page = read("docs/testing.md");
    const files = readdirSync(path.join(repoRoot, "test/support"));
    expect(files.filter((f) => /\.test\.tsx?$/.test(f))).toEqual([]);
    for (const f of files) expect(page, `test/support/${f}`).toContain(`| \`${f}${f.includes(".") ? "" : "/"}\``);
  });

  it("every link points inside the repository, at a file and heading that exist", () => {
    const bad: string[] = [];
    for (const file of ["README.md", "SECURITY.md", ...docPages()]) {
      for (const link of links(read(file))) {
        const [target, anchor] = link.split("#") as [string, string | undefined];
        if (/^[a-z]+:/i.test(target)) {
          bad.push(`${file}: ${link} leaves the repository`);
          continue;
        }
        const resolved = target ? path.resolve(repoRoot, path.dirname(file), target) : path.join(repoRoot, file);
        if (path.relative(repoRoot, resolved).startsWith("..")) bad.push(`${file}: ${link} leaves the repository`);
        else if (!existsSync(resolved)) bad.push(`${file}: ${link} does not exist`);
        else if (anchor && resolved.endsWith(".md") && !anchors(readFileSync(resolved, "utf8")).has(anchor))
          bad.push(`${file}: ${link} names no heading`);
      }
    }
    expect(bad).toEqual([]);
  });
});
