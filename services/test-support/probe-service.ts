// A runnable service process for tests of the runtime's process behaviour (graceful shutdown, health):
// the npc-behavior proto served by a trivial handler through the real runServiceProcess.
//   node --import tsx services/test-support/probe-service.ts
// Env: NATS_URL, GS_HEALTH_FILE (as any service), PROBE_DELAY_MS (how long Decide works, default 20).
// A Decide whose npcId is `wait-<ms>` works <ms> instead. Replies name the answering process in `reason`.
import { defineService, runServiceProcess } from "../sdk/runtime.js";
import { badRequest } from "../sdk/errors.js";

const defaultDelay = Number(process.env.PROBE_DELAY_MS ?? 20);

const probe = defineService({
  name: "npc-behavior",
  description: "runtime probe (test support)",
  start: () => ({
    Decide: async (req: { npcId: string }) => {
      if (!req.npcId) throw badRequest("npcId is required");
      const asked = /^wait-(\d+)$/.exec(req.npcId);
      const delay = asked ? Number(asked[1]) : defaultDelay;
      await new Promise((r) => setTimeout(r, delay));
      return { npcId: req.npcId, actionId: "idle", score: 1, reason: `pid ${process.pid}` };
    },
    ListActions: () => ({ actions: [] }),
  }),
});

await runServiceProcess(probe);
