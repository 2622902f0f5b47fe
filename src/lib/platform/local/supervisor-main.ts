// The detached supervisor (`gs up --detach` runs `gs up --supervisor <spec.json>` in the background).
// Its output goes to .gs/supervisor.log; SIGTERM or a `down` request stops the fleet.
import { readFileSync } from "node:fs";
import { Supervisor, type SupervisorSpec } from "./supervisor.js";

/** Run the supervisor of `specFile` until it is stopped; resolves with the process's exit code. */
export async function runSupervisorProcess(specFile: string): Promise<number> {
  const spec = JSON.parse(readFileSync(specFile, "utf8")) as SupervisorSpec;
  const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  const supervisor = new Supervisor(spec, log);
  for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(sig, () => void supervisor.stop());
  try {
    await supervisor.start();
  } catch (err) {
    log(`failed: ${(err as Error).message}`);
    return 1;
  }
  await supervisor.done;
  // a handle left open must not keep a stopped supervisor alive (gs down waits for this pid)
  setTimeout(() => process.exit(0), 1000).unref();
  return 0;
}
