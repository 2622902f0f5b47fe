// The npc probe (npc-probe.ts) as a service process, for tests of the runtime's process behaviour
// (graceful shutdown, health), run through the real runServiceProcess:
//   node --import tsx services/test-support/probe-service.ts
// Env: NATS_URL, GS_HEALTH_FILE (as any service), PROBE_DELAY_MS (how long Decide works, default 20).
import { runServiceProcess } from "../sdk/runtime.js";
import { npcProbe } from "./npc-probe.js";

await runServiceProcess(npcProbe({ delayMs: Number(process.env.PROBE_DELAY_MS ?? 20) }));
