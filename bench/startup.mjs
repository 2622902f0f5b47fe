#!/usr/bin/env node
// bench/startup: median wall time of `gs --version`, `gs --help` and one `gs request` round trip to a
// local service, each as a ratio to `node -e 0` measured in the same run (budgets: 2.5x, 2.5x, 3.5x).
// Needs `npm run build` first.
import { connect } from "@nats-io/transport-node";
import { createLogger, defineService, startService } from "../services/dist/sdk/index.js";
import { measureInterleaved, record, root, round, timeRun } from "./lib.mjs";
import { startNatsServer } from "./nats.mjs";

const runs = Number(process.env.RUNS ?? 15);
const server = await startNatsServer();
const nc = await connect({ servers: server.url });
const responder = await startService(
  defineService({
    name: "npc-behavior",
    description: "bench responder",
    start: () => ({ Decide: (r) => ({ npcId: r.npcId, actionId: "idle" }), ListActions: () => ({}) }),
  }),
  { nc, log: createLogger({}, { write: () => {} }) },
);

const gs = (args) => () => timeRun(process.execPath, ["bin/run.js", ...args]);
try {
  const m = await measureInterleaved(
    {
      "node -e 0": () => timeRun(process.execPath, ["-e", "0"]),
      "gs --version": gs(["--version"]),
      "gs --help": gs(["--help"]),
      "gs request": gs(["request", "npc-behavior.decide", '{"npcId":"n1"}', "-s", server.url]),
    },
    runs,
  );
  const base = m["node -e 0"].median_ms;
  const budgets = { "gs --version": 2.5, "gs --help": 2.5, "gs request": 3.5 };
  const results = Object.fromEntries(
    Object.entries(m).map(([k, v]) => [
      k,
      {
        ...v,
        ratio: round(v.median_ms / base),
        budget: budgets[k],
        within_budget: budgets[k] ? v.median_ms / base <= budgets[k] : undefined,
      },
    ]),
  );
  const file = record("startup", { runs, baseline: "node -e 0", results });
  for (const [k, v] of Object.entries(results)) {
    console.log(
      `${k.padEnd(14)} ${String(v.median_ms).padStart(8)} ms  ${v.ratio}x${v.budget ? `  (budget ${v.budget}x: ${v.within_budget ? "ok" : "OVER"})` : ""}`,
    );
  }
  console.log(`recorded in ${file.replace(root + "/", "")}`);
  process.exitCode = Object.values(results).every((v) => v.within_budget !== false) ? 0 : 1;
} finally {
  await responder.stop(1000);
  await nc.close();
  await server.stop();
}
