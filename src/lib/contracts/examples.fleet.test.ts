// Every curated example in proto/, run in its documented order against a fresh fleet: each gets a
// success reply, or exactly the error its example-error line documents.
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { ProtoRegistry } from "@gs/fleet/sdk/registry";
import { startFleet, type TestFleet } from "../../../test/support/fleet.js";
import { repoRoot } from "../../../test/support/run-cli.js";
import { readExamples } from "./examples.js";
import { runExamples } from "./run-examples.js";

const protoDir = path.join(repoRoot, "proto");
let fleet: TestFleet;
let nc: NatsConnection;

describe("the curated examples against a fresh fleet", () => {
  beforeAll(async () => {
    fleet = await startFleet({ timeoutMs: 90_000 });
    nc = await connect({ servers: fleet.server.url });
  }, 120_000);
  afterAll(async () => {
    await nc?.close();
    await fleet?.stop();
  });

  it("answers every example in order with a success reply or exactly the error it documents", async () => {
    const registry = ProtoRegistry.load([protoDir]);
    const ordered = readExamples([protoDir]);
    const outcomes = await runExamples(nc, registry, ordered, { timeoutMs: 15_000 });
    expect(outcomes.filter((o) => o.problem).map((o) => `${o.subject}: ${o.problem}`)).toEqual([]);
    expect(new Set(outcomes.map((o) => o.subject)).size).toBe(registry.rpcs.length);
    // the documented errors really were errors, and values taken from earlier replies were filled in
    const failedLogin = outcomes.find((o) => o.subject === "auth.login" && o.error);
    expect(failedLogin?.error).toEqual({ code: 401, message: "invalid username or password" });
    const validate = outcomes.find((o) => o.subject === "auth.validate")!;
    expect(validate.reply).toMatchObject({ valid: true, session: { username: "ada" } });
  }, 240_000);
});
