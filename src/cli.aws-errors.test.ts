// AWS failures as a user meets them: the built CLI, run as a child process, with its real SDK clients
// sent to a local endpoint (AWS_ENDPOINT_URL) that answers with AWS's error shapes. Each is one line
// naming the resource and the next step, with the documented exit code; nothing leaves the machine.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ErrorJson } from "./base-command.js";
import {
  awsError,
  startAwsEndpoint,
  type AwsEndpoint,
  type AwsReply,
  type AwsRequest,
} from "../test/support/aws-endpoint.js";
import { runCli, type CliResult } from "../test/support/run-cli.js";

const SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:gs/nats-creds-AbCdEf";

let endpoint: AwsEndpoint;
let answer: (req: AwsRequest) => AwsReply = () => awsError("UnknownOperationException", "no answer set");
let project: string;

beforeAll(async () => {
  endpoint = await startAwsEndpoint((req) => answer(req));
  project = mkdtempSync(path.join(os.tmpdir(), "gs-aws-errors-"));
  mkdirSync(project, { recursive: true });
  writeFileSync(
    path.join(project, "gs.yaml"),
    [
      "project: gaming",
      "targets:",
      "  prod:",
      "    platform: ecs",
      "    region: us-east-1",
      "    cluster: gaming-system-cluster",
      "    registry: 123456789012.dkr.ecr.us-east-1.amazonaws.com/gaming",
      '    serviceNameFormat: "{service}-nats"',
      "    nats:",
      "      url: nats://127.0.0.1:1",
      `      credentials: { secretArn: "${SECRET}" }`,
      "services:",
      "  auth: {}",
      "",
    ].join("\n"),
  );
});
afterAll(async () => {
  await endpoint?.stop();
  rmSync(project, { recursive: true, force: true });
});
afterEach(() => void (endpoint.calls.length = 0));

function gs(args: string[], opts: { credentials?: boolean } = {}): Promise<CliResult> {
  return runCli(args, { cwd: project, env: endpoint.env(opts), timeoutMs: 30_000 });
}

function oneLine(r: CliResult): string {
  const lines = r.stderr.trim().split("\n").filter(Boolean);
  expect(lines, r.stderr).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at |bug in gs/);
  return lines[0]!;
}

const secretMissing = () =>
  awsError(
    "ResourceNotFoundException",
    "Secrets Manager can't find the specified secret.",
    400,
    "com.amazonaws.secretsmanager",
  );

describe("gs against AWS's error answers", () => {
  it("a target whose secretArn names no secret: which secret, from which target, and what to do (exit 1)", async () => {
    answer = (req) =>
      req.operation === "GetSecretValue" ? secretMissing() : awsError("ClusterNotFoundException", "?");
    const r = await gs(["status", "--target", "prod"]);
    expect(r.code, r.stderr).toBe(1);
    expect(oneLine(r)).toBe(
      `error: Secrets Manager secret ${SECRET} not found (target prod: targets.prod.nats.credentials.secretArn in gs.yaml)` +
        ` — create the secret in us-east-1 of account 123456789012, or point targets.prod.nats.credentials.secretArn in gs.yaml at an existing one`,
    );
    expect(endpoint.calls.map((c) => `${c.service}.${c.operation}`)).toEqual(["secretsmanager.GetSecretValue"]);
    expect(endpoint.calls[0]!.input).toEqual({ SecretId: SECRET });
  });

  it("the same under --json: the error document on stdout", async () => {
    answer = secretMissing;
    const r = await gs(["status", "--target", "prod", "--json"]);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as ErrorJson;
    expect(doc.error).toMatchObject({ code: "secret_not_found", exitCode: 1 });
    expect(doc.error.message).toContain(SECRET);
  });

  it("no AWS credentials at all: one line, exit 1, nothing sent", async () => {
    answer = secretMissing;
    const r = await gs(["status", "--target", "prod"], { credentials: false });
    expect(r.code, r.stderr).toBe(1);
    expect(oneLine(r)).toMatch(
      new RegExp(
        `^error: cannot load AWS credentials for secretsmanager:GetSecretValue on secret ${SECRET} in us-east-1 \\(target prod\\): .+ — sign in \\(aws sso login\\) or configure credentials`,
      ),
    );
    expect(endpoint.calls).toHaveLength(0);
  });

  it("a missing ECS cluster names the cluster and the target (exit 1)", async () => {
    answer = () => awsError("ClusterNotFoundException", "Cluster not found.");
    const r = await gs(["logs", "auth", "--target", "prod"]);
    expect(r.code, r.stderr).toBe(1);
    expect(oneLine(r)).toBe(
      "error: ECS cluster gaming-system-cluster not found in us-east-1 (target prod)" +
        " — fix the cluster and region in gs.yaml (targets.prod), or use credentials of the account that has the cluster",
    );
    expect(endpoint.calls.map((c) => c.operation)).toEqual(["DescribeServices"]);
    expect(endpoint.calls[0]!.input).toEqual({ cluster: "gaming-system-cluster", services: ["auth-nats"] });
  });

  it("a request ECS refuses as invalid is bad input (exit 2) pointing at gs.yaml", async () => {
    answer = () => awsError("InvalidParameterException", "Invalid identifier: Unexpected number of separators");
    const r = await gs(["logs", "auth", "--target", "prod"]);
    expect(r.code, r.stderr).toBe(2);
    expect(oneLine(r)).toBe(
      "error: AWS rejected ecs:DescribeServices on ECS cluster gaming-system-cluster in us-east-1 (target prod) as invalid:" +
        " Invalid identifier: Unexpected number of separators — check targets.prod.cluster and targets.prod.region in gs.yaml",
    );
  });

  it("denied access names the call and what to grant (exit 1)", async () => {
    answer = () =>
      awsError(
        "AccessDeniedException",
        "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecs:DescribeServices",
      );
    const r = await gs(["logs", "auth", "--target", "prod"]);
    expect(r.code, r.stderr).toBe(1);
    expect(oneLine(r)).toMatch(
      /^error: AWS denied ecs:DescribeServices on ECS cluster gaming-system-cluster in us-east-1 \(target prod\): .+ — grant ecs:DescribeServices on that resource/,
    );
  });
});
