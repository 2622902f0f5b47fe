// Regenerates services/generated/ from proto/ with buf and scripts/protoc-gen-gs-json.mjs (buf.gen.yaml).
// `node scripts/generate-types.mjs DIR` writes DIR/services/generated instead: the staleness test does.
// Generates into a temp folder, then writes only the files that changed and removes those proto/ no
// longer has: a typecheck running meanwhile never sees the folder half-written.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const base = process.argv[2] ? path.resolve(process.argv[2]) : root;
const target = path.join(base, "services", "generated");
const buf = path.join(path.dirname(createRequire(import.meta.url).resolve("@bufbuild/buf/package.json")), "bin", "buf");

const files = (dir) =>
  existsSync(dir)
    ? readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    : [];

const tmp = mkdtempSync(path.join(os.tmpdir(), "gs-generate-"));
try {
  execFileSync(buf, ["generate", "proto", "--template", "buf.gen.yaml", "-o", tmp], { cwd: root, stdio: "inherit" });
  const fresh = path.join(tmp, "services", "generated");
  const wanted = new Set(files(fresh));
  for (const file of wanted) {
    const text = readFileSync(path.join(fresh, file), "utf8");
    const dest = path.join(target, file);
    if (existsSync(dest) && readFileSync(dest, "utf8") === text) continue;
    mkdirSync(path.dirname(dest), { recursive: true });
    writeFileSync(dest, text);
  }
  for (const file of files(target)) if (!wanted.has(file)) rmSync(path.join(target, file));
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
