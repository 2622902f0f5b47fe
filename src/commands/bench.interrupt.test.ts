// Ctrl-C in `gs bench`, as a user presses it: the built CLI in a child process, against responders in
// this process. One SIGINT stops the run and it still reports; a second one, while the first is still
// letting requests in flight finish, exits at once with 130.
import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { BenchJson } from "./bench.js";
import { startNatsServer, type TestNatsServer } from "../../test/support/nats-server.js";
import { startCli } from "../../test/support/live-process.js";
import { repoRoot } from "../../test/support/run-cli.js";

describe("gs bench interrupted", () => {
  let server: TestNatsServer;
  let nc: NatsConnection;
  const received = { fast: 0, slow: 0 };

  beforeAll(async () => {
    if (!existsSync(path.join(repoRoot, "dist/lib/bench/worker.js"))) throw new Error("build first: npm run build");
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    nc.subscribe("bench.stop.fast", {
      callback: (_err, m) => {
        received.fast++;
        m.respond(m.data);
      },
    });
    // holds each reply 3 s: a graceful stop waits that long for the requests in flight
    nc.subscribe("bench.stop.slow", {
      callback: (_err, m) => {
        received.slow++;
        setTimeout(() => m.respond(m.data), 3000);
      },
    });
    await nc.flush();
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  const until = async (check: () => boolean) => {
    const deadline = Date.now() + 20_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error("the responder saw no requests");
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const bench = (subject: string) =>
    startCli([
      "bench",
      subject,
      "--size",
      "16",
      "--concurrency",
      "4",
      "--workers",
      "1",
      "--duration",
      "60s",
      "--timeout",
      "10s",
      "-s",
      server.url,
      "--json",
    ]);

  it("stops at the first Ctrl-C and still reports what it measured (exit 0)", async () => {
    const p = bench("bench.stop.fast");
    await until(() => received.fast >= 200);
    const sent = Date.now();
    p.signal("SIGINT");
    expect(await p.exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - sent).toBeLessThan(5000);
    const doc = JSON.parse(p.stdout()) as BenchJson;
    expect(doc.requests).toBeGreaterThan(0);
    expect(doc.errors).toBe(0);
    expect(p.stderr()).toContain("stopped early (Ctrl-C): the report covers what was measured until then");
  });

  it("exits at once with 130 at a second Ctrl-C, without a report", async () => {
    const p = bench("bench.stop.slow");
    await until(() => received.slow >= 4);
    p.signal("SIGINT");
    // the run now waits up to 3 s for its replies
    await new Promise((r) => setTimeout(r, 300));
    const sent = Date.now();
    p.signal("SIGINT");
    expect(await p.exit).toEqual({ code: 130, signal: null });
    expect(Date.now() - sent).toBeLessThan(1500);
    expect(p.stdout()).toBe("");
  });
});
