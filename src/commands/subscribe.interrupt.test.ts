// Stopping `gs subscribe` as a user or a supervisor does: the built CLI in a child process, a real
// nats-server. SIGTERM (or Ctrl-C) drains the subscription and exits 0 after what it printed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startNatsServer, type TestNatsServer } from "../../test/support/nats-server.js";
import { startCli } from "../../test/support/live-process.js";

describe("gs subscribe stopped by a signal", () => {
  let server: TestNatsServer;
  let nc: NatsConnection;

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    it(`drains and exits 0 at ${sig}, after the messages it received`, async () => {
      const subject = `sub.stop.${sig.toLowerCase()}`;
      const p = startCli(["subscribe", subject, "--raw", "-s", server.url]);
      await p.waitFor("stderr", new RegExp(`listening on ${subject.replaceAll(".", "\\.")}`));
      nc.publish(subject, "hello");
      await p.waitFor("stdout", /"hex":"68656c6c6f"/);
      p.signal(sig);
      expect(await p.exit).toEqual({ code: 0, signal: null });
      expect(p.stdout().trim().split("\n")).toHaveLength(1);
    });
  }
});
