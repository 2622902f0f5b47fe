// Writes docs/commands.md, the command reference, from the commands themselves: `oclif readme` over the
// built CLI (oclif.manifest.json and the plugins it lists), then Prettier. Deterministic (no versions,
// dates or paths), so src/docs.test.ts can regenerate it and fail when the committed file is stale.
//
//   node scripts/generate-command-docs.mjs            rewrite docs/commands.md (npm run docs)
//   node scripts/generate-command-docs.mjs --out F    write F instead
//   node scripts/generate-command-docs.mjs --check    exit 1 when docs/commands.md differs
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as prettier from "prettier";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const target = path.join(root, "docs", "commands.md");

const HEADER = `# Command reference

Generated from the commands themselves by \`npm run docs\` (after \`npm run build\`); do not edit by hand.
Every command also answers \`gs <command> --help\`. Conventions, exit codes and the topics behind these
flags: [README](../README.md).

`;

/** The reference as Markdown, formatted the way \`npm run lint\` expects. */
export async function generateCommandDocs() {
  if (!existsSync(path.join(root, "oclif.manifest.json")) || !existsSync(path.join(root, "dist", "commands"))) {
    throw new Error("oclif.manifest.json or dist/commands is missing: run `npm run build` first");
  }
  const oclifBin = path.join(
    path.dirname(createRequire(import.meta.url).resolve("oclif/package.json")),
    "bin",
    "run.js",
  );
  const tmp = mkdtempSync(path.join(os.tmpdir(), "gs-docs-"));
  try {
    const file = path.join(tmp, "commands.md");
    writeFileSync(file, `${HEADER}<!-- commands -->\n`);
    execFileSync(
      process.execPath,
      [
        oclifBin,
        "readme",
        "--readme-path",
        file,
        "--plugin-directory",
        root,
        "--tsconfig-path",
        "tsconfig.build.json",
        // source links would point at GitHub (and carry plugin versions); aliases would repeat commands
        "--no-source-links",
        "--no-aliases",
      ],
      {
        cwd: root,
        // a fixed width: help text is wrapped to COLUMNS, which would otherwise follow the terminal
        env: { ...process.env, COLUMNS: "100", OCLIF_SKIP_NEW_VERSION_CHECK: "true", NO_COLOR: "1" },
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    const raw = readFileSync(file, "utf8");
    for (const leak of [root, os.homedir(), tmp]) {
      if (raw.includes(leak)) throw new Error(`the generated reference contains the local path ${leak}`);
    }
    const options = (await prettier.resolveConfig(target)) ?? {};
    return prettier.format(raw, { ...options, filepath: target });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { out: { type: "string" }, check: { type: "boolean" } } });
  try {
    const text = await generateCommandDocs();
    if (values.check) {
      const current = existsSync(target) ? readFileSync(target, "utf8") : "";
      if (current !== text) {
        process.stderr.write("docs/commands.md is stale: run `npm run build && npm run docs` and commit it\n");
        process.exit(1);
      }
    } else {
      writeFileSync(values.out ? path.resolve(values.out) : target, text);
    }
  } catch (err) {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
