#!/usr/bin/env node
// `gs --version` answers without loading oclif (it is asked often, by scripts and CI logs).
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
  const { readFileSync } = await import("node:fs");
  const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  process.stdout.write(`gs/${version} ${process.platform}-${process.arch} node-${process.version}\n`);
} else {
  const { execute } = await import("../dist/cli.js");
  await execute({ dir: import.meta.url });
}
