// Game day on ECS (the simulator over HTTP, the built CLI as a child process): the machine running
// `gs deploy` is gone halfway — SIGKILL right after it updated a service whose new tasks crash, with no
// circuit breaker, so nothing but gs would ever roll it back. `gs status` shows the service mid-rollout,
// and the next `gs deploy` takes that rollout over, rolls it back (exit 3), deploys what the first never
// reached and leaves every service with one deployment and no task outside one.
// The scenario lives in test/support/game-days.ts; bench/game-days.mjs records its figures.
import { describe, expect, it } from "vitest";
import { deployerKilledEcs } from "../../test/support/game-days.js";

describe("gs deploy killed halfway, on ECS", () => {
  it("shows the service left mid-rollout, and the next deploy takes it over and rolls it back, deploying the rest", async () => {
    const r = await deployerKilledEcs({ log: (l) => console.log(l) });
    console.log(JSON.stringify(r));
    // the truth right after: the crashing service has two deployments and says it is not steady
    expect(r.statusAfter.auth).toMatchObject({ state: "steady", version: r.intended.auth, deployments: 1 });
    expect(r.statusAfter.payment!.deployments).toBe(2);
    expect(r.statusAfter.payment!.state).toMatch(/deploying|crash-looping/);
    expect(r.statusAfter.settings).toMatchObject({ state: "steady", deployments: 1 });
    expect(r.statusAfter.settings!.version).not.toBe(r.intended.settings);
    expect(r.statusText).toMatch(/payment/);
    // the next deploy: took over payment's rollout and rolled it back; settings deployed; auth unchanged
    expect(r.next.actions).toEqual({ auth: "unchanged", payment: "rolled_back", settings: "deployed" });
    expect(r.next.resumed).toEqual(["payment"]);
    expect(r.next.exitCode).toBe(3);
    // once ECS settles: one deployment each, no task outside one; payment back on what it ran before
    for (const name of r.services) expect(r.end[name], name).toMatchObject({ deployments: 1, orphanTasks: 0 });
    expect(r.end.auth!.version).toBe(r.intended.auth);
    expect(r.end.settings!.version).toBe(r.intended.settings);
    expect(r.end.payment!.version).not.toBe(r.intended.payment);
  }, 180_000);
});
