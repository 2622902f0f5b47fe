// Bundles the CLI with esbuild: one file per command plus shared chunks, so a command loads a few
// files instead of hundreds of modules (oclif alone is ~2x faster to load bundled). Heavy,
// command-specific libraries (Ink, the AWS SDK) stay behind dynamic imports and so in their own chunks.
import { readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
// src/commands/x.ts is `gs x`; a folder is a topic: src/commands/kv/get.ts is `gs kv get` (tests excluded)
const commands = readdirSync(path.join(root, "src/commands"), { recursive: true, encoding: "utf8" })
  .filter((f) => /\.tsx?$/.test(f) && !/\.test\.tsx?$/.test(f))
  .sort()
  .map((f) => path.join("src/commands", f));

rmSync(path.join(root, "dist"), { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ["src/cli.ts", ...commands, "src/hooks/command-not-found.ts", "src/lib/bench/worker.ts"],
  outdir: "dist",
  outbase: "src",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  mainFields: ["module", "main"],
  chunkNames: "chunks/[name]-[hash]",
  // optional peers oclif (and Ink, for DEV=true) probe for at run time; never needed by a bundled CLI
  external: ["typescript", "ts-node", "tsx", "react-devtools-core"],
  banner: {
    js: "import { createRequire as __gsCreateRequire } from 'node:module'; const require = __gsCreateRequire(import.meta.url);",
  },
  logLevel: "warning",
  legalComments: "none",
  // less to parse on every start (names are kept, so --debug stacks still read); and React's
  // production build only: the development one is twice the size and checks and times every render
  minifyWhitespace: true,
  minifySyntax: true,
  define: { "process.env.NODE_ENV": '"production"' },
});
