// A small service on a real fleet proto (npc-behavior's), for testing gs and the runtime against a real
// micro service without the fleet: started in-process (startService) or as a process (probe-service.ts).
// Decide echoes the npc id after `delayMs`, and names the answering process in `reason`; npc "missing"
// is a 404, "slow" works 500 ms, `wait-<ms>` works <ms>.
import { notFound } from "../sdk/errors.js";
import { defineService, type ServiceModule } from "../sdk/runtime.js";

export function npcProbe(opts: { delayMs?: number } = {}): ServiceModule {
  return defineService({
    name: "npc-behavior",
    description: "probe (test support)",
    start: () => ({
      Decide: async (req: { npcId: string }) => {
        if (req.npcId === "missing") throw notFound(`no npc ${req.npcId}`);
        const asked = req.npcId === "slow" ? 500 : Number(/^wait-(\d+)$/.exec(req.npcId)?.[1] ?? opts.delayMs ?? 0);
        if (asked > 0) await new Promise((r) => setTimeout(r, asked));
        return { npcId: req.npcId, actionId: "eat", score: 0.5, reason: `pid ${process.pid}` };
      },
      ListActions: () => ({ actions: [] }),
    }),
  });
}
