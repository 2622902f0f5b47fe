// `gs bench` as a user runs it on a terminal: the built CLI in a real pseudo-terminal (tmux) against an
// echo responder in this process. While it runs, the live panel (plan, phase with its bar, req/s);
// at the end the panel is erased and the report takes its place, with the cursor shown again.
import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startNatsServer, type TestNatsServer } from "../../test/support/nats-server.js";
import { waitFor } from "../../test/support/local-fleet.js";
import { cliPath, repoRoot } from "../../test/support/run-cli.js";
import { hasTmux, terminalEnv, tmuxTerminal } from "../../test/support/terminal.js";

describe.runIf(hasTmux)("gs bench in a terminal", () => {
  const term = tmuxTerminal("gs-bench");
  let server: TestNatsServer;
  let nc: NatsConnection;

  beforeAll(async () => {
    if (!existsSync(path.join(repoRoot, "dist/cli.js"))) throw new Error("build first: npm run build");
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    nc.subscribe("bench.tty", {
      callback: (_err, m) => {
        m.respond(m.data);
      },
    });
    await nc.flush();
  });

  afterAll(async () => {
    term.close();
    await nc?.close();
    await server?.stop();
  });

  it("shows the live panel while it runs, then replaces it with the report", async () => {
    const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(cliPath)} bench bench.tty --size 16 -s ${server.url} --rate 500 --workers 1 --warmup 1s --duration 3s; echo "gs exited with $?"; sleep 60`;
    term.start(cmd, { cwd: repoRoot, env: terminalEnv(), columns: 100, rows: 30 });

    // a frame while measuring (one capture for every check: the panel redraws)
    const live = await waitFor(
      "the panel measuring",
      () => {
        const s = term.screen();
        return /^measuring /m.test(s) ? s : undefined;
      },
      20_000,
      50,
    );
    expect(live).toMatch(/^bench bench\.tty {2}open loop at 500 req\/s · 1 worker(s)? · 1 connection(s)?$/m);
    expect(live).toMatch(/^measuring [█░]+ \d+(\.\d+)?(ms|s)\/3s {2}\d+%$/m);
    expect(live).toMatch(/^ok [\d,]+ {2}errors 0 {2}max /m);

    const end = await waitFor(
      "gs to exit",
      () => {
        const s = term.screen();
        return /gs exited with \d+/.test(s) ? s : undefined;
      },
      30_000,
      100,
    );
    expect(end).toContain("gs exited with 0");
    // the report, where the panel was: the panel itself is gone
    expect(end).toMatch(/^requests +1,500 in 3s after 1s warm-up, 0 errors$/m);
    expect(end).toMatch(/^latency +p50 /m);
    expect(end).not.toMatch(/^measuring |^warm-up /m);
  }, 60_000);
});
