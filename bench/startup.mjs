#!/usr/bin/env node
// bench/startup: median wall time of `gs --version`, `gs --help` and one `gs request` round trip to a
// local service, each as a ratio to `node -e 0` measured in the same run (budgets: 2.5x, 2.5x, 3.5x).
// Also `gs request` with its types from the fleet (--schema fleet: the descriptors the responder
// serves), from a warm cache (budget: 1.1x the same request with local proto/) and from a cold one
// (a fresh cache each run: one more round trip, reported as the ms it adds to the warm case).
// Needs `npm run build` first.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { connect } from "@nats-io/transport-node";
import { createLogger, defineService, startService } from "../services/dist/sdk/index.js";
import { compileServiceDescriptorSets } from "../services/dist/sdk/descriptor-set.js";
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
  {
    nc,
    log: createLogger({}, { write: () => {} }),
    schema: compileServiceDescriptorSets(path.join(root, "proto"), ["npc-behavior"]).get("npc-behavior"),
  },
);
const caches = mkdtempSync(path.join(os.tmpdir(), "gs-bench-schemas-"));
const warmCache = { XDG_CACHE_HOME: path.join(caches, "warm") };
let cold = 0;

const gs =
  (args, env = () => ({})) =>
  () =>
    timeRun(process.execPath, ["bin/run.js", ...args], { env: env() });
const request = ["request", "npc-behavior.decide", '{"npcId":"n1"}', "-s", server.url];
try {
  const m = await measureInterleaved(
    {
      "node -e 0": () => timeRun(process.execPath, ["-e", "0"]),
      "gs --version": gs(["--version"]),
      "gs --help": gs(["--help"]),
      "gs request": gs(request),
      // measureInterleaved runs each case once first: that run fills the warm cache
      "gs request fleet warm": gs([...request, "--schema", "fleet"], () => warmCache),
      "gs request fleet cold": gs([...request, "--schema", "fleet"], () => ({
        XDG_CACHE_HOME: path.join(caches, `cold-${cold++}`),
      })),
    },
    runs,
  );
  const base = m["node -e 0"].median_ms;
  const budgets = { "gs --version": 2.5, "gs --help": 2.5, "gs request": 3.5 };
  // the fleet cases against the local `gs request` of the same run, not against node
  const local = m["gs request"].median_ms;
  const warm = m["gs request fleet warm"].median_ms;
  m["gs request fleet warm"] = { ...m["gs request fleet warm"], vs_local: round(warm / local), vs_local_budget: 1.1 };
  m["gs request fleet warm"].within_budget = warm / local <= 1.1;
  m["gs request fleet cold"] = {
    ...m["gs request fleet cold"],
    vs_local: round(m["gs request fleet cold"].median_ms / local),
    extra_ms_vs_warm: round(m["gs request fleet cold"].median_ms - warm),
  };
  const results = Object.fromEntries(
    Object.entries(m).map(([k, v]) => [
      k,
      {
        ...v,
        ratio: round(v.median_ms / base),
        budget: budgets[k],
        within_budget: budgets[k] ? v.median_ms / base <= budgets[k] : v.within_budget,
      },
    ]),
  );
  const file = record("startup", { runs, baseline: "node -e 0", results });
  for (const [k, v] of Object.entries(results)) {
    console.log(
      `${k.padEnd(22)} ${String(v.median_ms).padStart(8)} ms  ${v.ratio}x${v.budget ? `  (budget ${v.budget}x: ${v.within_budget ? "ok" : "OVER"})` : ""}` +
        (v.vs_local !== undefined ? `  ${v.vs_local}x local` : "") +
        (v.vs_local_budget ? ` (budget ${v.vs_local_budget}x: ${v.within_budget ? "ok" : "OVER"})` : "") +
        (v.extra_ms_vs_warm !== undefined ? `  +${v.extra_ms_vs_warm} ms vs warm` : ""),
    );
  }
  console.log(`recorded in ${file.replace(root + "/", "")}`);
  process.exitCode = Object.values(results).every((v) => v.within_budget !== false) ? 0 : 1;
} finally {
  rmSync(caches, { recursive: true, force: true });
  await responder.stop(1000);
  await nc.close();
  await server.stop();
}
