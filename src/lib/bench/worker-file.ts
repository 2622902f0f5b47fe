// Where the bundled worker entry is: dist/lib/bench/worker.js under the package root. Command code
// runs from dist/chunks/ (or src/ in tests), so the root is found by walking up to package.json.
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { GsError } from "../output/errors.js";

const WORKER_ENTRY = path.join("dist", "lib", "bench", "worker.js");

export function benchWorkerFile(from: string = import.meta.url): string {
  let dir = path.dirname(fileURLToPath(from));
  while (!existsSync(path.join(dir, "package.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw missing(WORKER_ENTRY);
    dir = parent;
  }
  const file = path.join(dir, WORKER_ENTRY);
  if (!existsSync(file)) throw missing(file);
  return file;
}

function missing(file: string): GsError {
  return new GsError(`the bench worker ${file} is missing`, { hint: "rebuild gs (`npm run build`)" });
}
