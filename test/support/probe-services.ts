// Small services on real fleet protos, for testing gs against real micro services without the fleet.
import { defineService, type ServiceModule } from "../../services/sdk/runtime.js";
import { notFound } from "../../services/sdk/errors.js";

/** npc-behavior's proto: Decide echoes the npc id; npc "missing" is a 404; "slow" waits 500 ms. */
export const npcProbe: ServiceModule = defineService({
  name: "npc-behavior",
  description: "probe",
  start: () => ({
    Decide: async (req: { npcId: string }) => {
      if (req.npcId === "missing") throw notFound(`no npc ${req.npcId}`);
      if (req.npcId === "slow") await new Promise((r) => setTimeout(r, 500));
      return { npcId: req.npcId, actionId: "eat", score: 0.5 };
    },
    ListActions: () => ({ actions: [] }),
  }),
});
