// Every service of the fleet, loaded lazily so one process imports only the one it runs.
import type { ServiceModule } from "./sdk/runtime.js";

type Loader = () => Promise<{ default: ServiceModule }>;

const loaders: Record<string, Loader> = {
  "ai-integration": () => import("./ai-integration/service.js"),
  "ai-router": () => import("./ai-router/service.js"),
  auth: () => import("./auth/service.js"),
  "body-broker-integration": () => import("./body-broker-integration/service.js"),
  "capability-registry": () => import("./capability-registry/service.js"),
  "environmental-narrative": () => import("./environmental-narrative/service.js"),
  "event-bus": () => import("./event-bus/service.js"),
  "knowledge-base": () => import("./knowledge-base/service.js"),
  "language-system": () => import("./language-system/service.js"),
  "model-management": () => import("./model-management/service.js"),
  "npc-behavior": () => import("./npc-behavior/service.js"),
  orchestration: () => import("./orchestration/service.js"),
  payment: () => import("./payment/service.js"),
  "performance-mode": () => import("./performance-mode/service.js"),
  "quest-system": () => import("./quest-system/service.js"),
  router: () => import("./router/service.js"),
  settings: () => import("./settings/service.js"),
  "state-manager": () => import("./state-manager/service.js"),
  "story-teller": () => import("./story-teller/service.js"),
  "time-manager": () => import("./time-manager/service.js"),
  "weather-manager": () => import("./weather-manager/service.js"),
  "world-state": () => import("./world-state/service.js"),
};

export const SERVICE_NAMES = Object.keys(loaders);

export async function loadService(name: string): Promise<ServiceModule> {
  const load = loaders[name];
  if (!load) throw new Error(`unknown service ${name}: one of ${SERVICE_NAMES.join(", ")}`);
  return (await load()).default;
}
