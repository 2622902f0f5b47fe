// "Bad versions" of a service for canary tests: a copy of services/ (links) in which one service's
// service.ts wraps the repository's module and injects a fault into one rpc — every Nth request fails
// with a 500, or each one waits first. Nothing in the services changes: the fault exists only in the
// bundle gs builds from the copy, as a real bad release would.
import { mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { repoRoot } from "./run-cli.js";

export interface Fault {
  /** the rpc's method name, e.g. GetSchema */
  rpc: string;
  /** every Nth request fails (a 500 error reply) */
  failEvery?: number;
  /** every request waits this long before it is served */
  delayMs?: number;
}

/** `<dir>/services-<name>`: services/ with `service`'s handlers for `fault.rpc` faulty. */
export function faultyServices(dir: string, name: string, service: string, fault: Fault): string {
  const copy = path.join(dir, `services-${name}`);
  rmSync(copy, { recursive: true, force: true });
  mkdirSync(copy);
  const src = path.join(repoRoot, "services");
  for (const e of readdirSync(src))
    if (e !== service && e !== "dist") symlinkSync(path.join(src, e), path.join(copy, e));
  mkdirSync(path.join(copy, service));
  for (const f of readdirSync(path.join(src, service)))
    if (f !== "service.ts") symlinkSync(path.join(src, service, f), path.join(copy, service, f));
  const real = JSON.stringify(path.join(src, service, "service.ts"));
  writeFileSync(
    path.join(copy, service, "service.ts"),
    `import mod from ${real};
const FAIL_EVERY = ${fault.failEvery ?? 0};
const DELAY_MS = ${fault.delayMs ?? 0};
let served = 0;
export default {
  ...mod,
  async start(ctx) {
    // the handlers may be a class instance: its other methods stay as they are, this one is shadowed
    const handlers = await mod.start(ctx);
    const real = handlers[${JSON.stringify(fault.rpc)}].bind(handlers);
    handlers[${JSON.stringify(fault.rpc)}] = async (req, call) => {
      if (FAIL_EVERY && ++served % FAIL_EVERY === 0) throw new Error("injected fault");
      if (DELAY_MS) await new Promise((r) => setTimeout(r, DELAY_MS));
      return real(req, call);
    };
    return handlers;
  },
};
`,
  );
  return copy;
}
