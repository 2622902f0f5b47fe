// One entry point for every service: `node dist/main.js <service>`; `--health` runs the health check.
import { checkHealth } from "./sdk/health.js";
import { runServiceProcess } from "./sdk/runtime.js";
import { loadService, SERVICE_NAMES } from "./catalog.js";

const [name, flag] = process.argv.slice(2);
if (!name || !SERVICE_NAMES.includes(name)) {
  process.stderr.write(`usage: node dist/main.js <service> [--health]\nservices: ${SERVICE_NAMES.join(", ")}\n`);
  process.exit(2);
}
if (flag === "--health") {
  const r = await checkHealth();
  process.stdout.write(`${r.ok ? "healthy" : "unhealthy"}: ${r.reason}\n`);
  process.exit(r.ok ? 0 : 1);
}
await runServiceProcess(await loadService(name));
