// Ink and React cost ~0.5 s to load: in the built CLI, every command reaches them only through a
// dynamic import (live-output.ts's LiveView), so `gs status`, `--json` and plain lines never load them.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../../test/support/run-cli.js";

const dist = path.join(repoRoot, "dist");
// a string only Ink's bundled code holds
const INK = "Raw mode is not supported";

/** The files `entry` loads before any of its code runs: its static imports, transitively. */
function staticClosure(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = readFileSync(file, "utf8");
    // `import{a}from"./x.js"` and `import"./x.js"`, not `import("./x.js")`
    for (const m of code.matchAll(/\bimport\s*(?:[\w$*{}\s,]+?\s*from\s*)?"(\.{1,2}\/[^"]+)"/g))
      visit(path.resolve(path.dirname(file), m[1]!));
  };
  visit(entry);
  return seen;
}

describe.runIf(existsSync(path.join(dist, "commands")))("Ink in the built CLI", () => {
  it("is in the bundle, so that this check can see it", () => {
    const chunks = readdirSync(path.join(dist, "chunks")).map((f) => path.join(dist, "chunks", f));
    expect(chunks.some((f) => readFileSync(f, "utf8").includes(INK))).toBe(true);
  });

  it("is loaded by no command before it runs, only through a dynamic import", () => {
    const commands = readdirSync(path.join(dist, "commands")).filter((f) => f.endsWith(".js"));
    expect(commands).toEqual(expect.arrayContaining(["status.js", "deploy.js", "bench.js"]));
    for (const cmd of commands) {
      const eager = [...staticClosure(path.join(dist, "commands", cmd))].filter((f) =>
        readFileSync(f, "utf8").includes(INK),
      );
      expect({ cmd, eager }).toEqual({ cmd, eager: [] });
    }
  });
});
