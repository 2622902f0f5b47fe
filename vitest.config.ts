import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { FleetSequencer } from "./test/support/sequencer.js";

const root = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  resolve: {
    // tests run the SDK from source, so CLI and service tests share one copy of it
    alias: [
      { find: /^@gs\/fleet\/sdk$/, replacement: path.join(root, "services/sdk/index.ts") },
      { find: /^@gs\/fleet\/sdk\/(.*)$/, replacement: path.join(root, "services/sdk/$1.ts") },
    ],
  },
  test: {
    include: ["src/**/*.test.{ts,tsx}", "services/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    setupFiles: ["test/support/hermetic-env.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // 2 cores in CI: integration tests spawn servers and processes; keep parallelism modest
    maxWorkers: 2,
    // the two full-fleet tests never share the machine (test/support/sequencer.ts)
    sequence: { sequencer: FleetSequencer },
  },
});
