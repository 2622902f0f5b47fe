// The local platform's own free-port finder: tests pick ports the way `gs up` does.
export { freePort } from "../../src/lib/platform/local/nats-cluster.js";
