// Every command that takes a service name, run as a user does (the built CLI), refuses one gs.yaml
// does not list: "unknown service X (did you mean Y?)", a hint showing the known names, exit 2, and
// nothing started (no .gs/), sent over NATS or asked of AWS.
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { connect, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ecsProdTarget } from "../test/support/ecs-simulator.js";
import { startNatsServer, type TestNatsServer } from "../test/support/nats-server.js";
import { repoRoot, runCli } from "../test/support/run-cli.js";

const HINT = "services in gs.yaml: auth, payment, world-state";

let dir: string;
let server: TestNatsServer;
let nc: NatsConnection;
let sent: Subscription[];
let aws: Server;
let awsRequests = 0;
let awsEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "gs-unknown-service-"));
  for (const f of ["services", "proto"]) symlinkSync(path.join(repoRoot, f), path.join(dir, f));
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  // everything published on the server: `>` does not match $SRV discovery subjects, so those too
  sent = [nc.subscribe(">"), nc.subscribe("$SRV.>")];
  await nc.flush();
  // every AWS client of gs is pointed here: a request would mean it went past the check
  aws = createServer((_req, res) => {
    awsRequests++;
    res.writeHead(500).end();
  });
  await new Promise<void>((resolve) => aws.listen(0, "127.0.0.1", resolve));
  awsEnv = {
    AWS_ENDPOINT_URL: `http://127.0.0.1:${(aws.address() as AddressInfo).port}`,
    AWS_ACCESS_KEY_ID: "AKIAEXAMPLE",
    AWS_SECRET_ACCESS_KEY: "secret",
    AWS_MAX_ATTEMPTS: "1",
  };
  writeFileSync(
    path.join(dir, "gs.yaml"),
    [
      "project: unknown-service-test",
      ...ecsProdTarget({ natsUrl: server.url, confirm: true, serviceNameFormat: null }),
      "services:",
      "  auth: {}",
      "  payment: {}",
      "  world-state: {}",
      "",
    ].join("\n"),
  );
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
  await new Promise((resolve) => aws?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const published = () => sent.reduce((n, s) => n + s.getReceived(), 0);

/** Runs gs in the project and checks the refusal: exit 2, one line on stderr, nothing started. */
async function refused(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<string> {
  const r = await runCli(args, { cwd: opts.cwd ?? dir, env: opts.env, timeoutMs: 30_000 });
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe("");
  const lines = r.stderr.trim().split("\n");
  expect(lines, r.stderr).toHaveLength(1);
  expect(existsSync(path.join(dir, ".gs")), "a .gs/ was created").toBe(false);
  return lines[0]!;
}

describe("unknown service names", () => {
  it.each([
    [["logs", "paymnt"], "paymnt", "payment"],
    [["scale", "paymnt", "2"], "paymnt", "payment"],
    [["deploy", "auht"], "auht", "auth"],
    [["deploy", "auth", "wrld-state", "--dry-run"], "wrld-state", "world-state"],
    [["diff", "paymnt"], "paymnt", "payment"],
    [["build", "auth", "paymnt"], "paymnt", "payment"],
    [["push", "paymnt"], "paymnt", "payment"],
    [["up", "--services", "auth,wrld-state", "--detach"], "wrld-state", "world-state"],
  ])("gs %j says which service is unknown and suggests the closest", async (args, name, close) => {
    expect(await refused(args)).toBe(`error: unknown service ${name} (did you mean ${close}?) — ${HINT}`);
  });

  it("names a service nothing is close to, without a suggestion", async () => {
    expect(await refused(["logs", "nosuch"])).toBe(`error: unknown service nosuch — ${HINT}`);
  });

  it("names every unknown service of a list, each with its own suggestion", async () => {
    expect(await refused(["build", "auht", "payment", "wrld-state"])).toBe(
      `error: unknown services auht (did you mean auth?), wrld-state (did you mean world-state?) — ${HINT}`,
    );
  });

  it.each([
    [["deploy", "paymnt"]],
    [["deploy", "paymnt", "--dry-run"]],
    [["diff", "paymnt"]],
    [["push", "paymnt"]],
    [["logs", "paymnt"]],
  ])("gs %j --target prod asks nothing of AWS", async (args) => {
    const before = awsRequests;
    expect(await refused([...args, "--target", "prod"], { env: awsEnv })).toBe(
      `error: unknown service paymnt (did you mean payment?) — ${HINT}`,
    );
    expect(awsRequests).toBe(before);
  });

  it("gs services --name sends nothing to NATS for a name gs.yaml does not list", async () => {
    expect(await refused(["services", "--name", "paymnt", "--server", server.url])).toBe(
      `error: unknown service paymnt (did you mean payment?) — ${HINT}`,
    );
    await nc.flush();
    expect(published()).toBe(0);
  });

  it("gs services --name still asks NATS for a service gs.yaml lists", async () => {
    const r = await runCli(["services", "--name", "payment", "--server", server.url], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/no services answer on .* named payment/);
    await nc.flush();
    expect(published()).toBeGreaterThan(0);
  });

  it("gs subjects --service suggests from the services of proto/", async () => {
    expect(await refused(["subjects", "--service", "wrld-state"])).toBe(
      "error: unknown service wrld-state (did you mean world-state?) — `gs subjects` lists every subject with its service",
    );
  });

  it("carries code unknown_service under --json", async () => {
    const r = await runCli(["scale", "paymnt", "2", "--json"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({
      error: {
        code: "unknown_service",
        message: "unknown service paymnt (did you mean payment?)",
        hint: HINT,
        exitCode: 2,
      },
    });
  });

  it("says there is no gs.yaml when none lists the service", async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), "gs-no-config-"));
    try {
      expect(await refused(["logs", "auth"], { cwd: empty })).toBe(
        "error: unknown service auth — no gs.yaml here or above: run gs in the project's directory, or pass --config FILE",
      );
      expect(existsSync(path.join(empty, ".gs"))).toBe(false);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
