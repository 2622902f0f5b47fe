// The gateway process by hand: `node services/dist/gateway/main.js` (the fleet's supervisor runs the
// bundle gs builds from process.ts instead). Env: see process.ts.
import { createLogger } from "../sdk/log.js";
import { runGatewayProcess } from "./process.js";

runGatewayProcess().catch((err: unknown) => {
  createLogger({ service: "gateway" }).error("failed to start", { err });
  process.exit(1);
});
