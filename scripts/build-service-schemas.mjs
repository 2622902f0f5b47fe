// `npm run build -w services`, after tsc: the FileDescriptorSet each service serves over NATS
// (services/sdk/schema.ts), written to services/dist/schemas/<service>.binpb, where the runtime of
// `node services/dist/main.js <service>` finds it. gs's bundles embed the same sets (src/lib/build/bundle.ts).
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(root, "services", "dist");
const { compileServiceDescriptorSets } = await import(pathToFileURL(path.join(dist, "sdk", "descriptor-set.js")).href);
const { SERVICE_NAMES } = await import(pathToFileURL(path.join(dist, "catalog.js")).href);

const out = path.join(dist, "schemas");
mkdirSync(out, { recursive: true });
for (const [service, bytes] of compileServiceDescriptorSets(path.join(root, "proto"), SERVICE_NAMES)) {
  const file = path.join(out, `${service}.binpb`);
  writeFileSync(`${file}.tmp`, bytes);
  renameSync(`${file}.tmp`, file);
}
