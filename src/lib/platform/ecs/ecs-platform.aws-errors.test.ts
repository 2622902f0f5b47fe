// The ecs platform as gs opens it (openEcsPlatform: the real ECS and CloudWatch Logs clients) against a
// local endpoint with AWS's answers: what a user meets when the cluster or a log group is missing.
import { describe, expect, it } from "vitest";
import { awsError, awsOk, type AwsReply, type AwsRequest } from "../../../../test/support/aws-endpoint.js";
import { useAwsEndpoint } from "../../../../test/support/aws-endpoint-hooks.js";
import { AwsError } from "../../aws/aws-error.js";
import { parseConfig, type EcsTarget } from "../../config/load.js";
import { openEcsPlatform } from "./open-ecs-platform.js";

const REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const TD = "arn:aws:ecs:us-east-1:123456789012:task-definition/auth-nats:7";
const CFG = parseConfig(
  [
    "project: gaming",
    "targets:",
    "  prod:",
    "    platform: ecs",
    "    region: us-east-1",
    "    cluster: gaming-system-cluster",
    `    registry: ${REGISTRY}/gaming`,
    '    serviceNameFormat: "{service}-nats"',
    "    nats: { url: nats://nats.internal:4222 }",
    "services:",
    "  auth: {}",
    "",
  ].join("\n"),
  "gs.yaml",
);

const aws = useAwsEndpoint();

async function platform() {
  aws.pointSdkAt();
  return openEcsPlatform(CFG, "prod", CFG.targets.prod as EcsTarget);
}

/** A running auth-nats whose container logs to /ecs/gaming/auth; `logs` answers FilterLogEvents. */
function fleet(logs: () => AwsReply): (req: AwsRequest) => AwsReply {
  return (req) => {
    switch (req.operation) {
      case "DescribeServices":
        return awsOk({
          services: [
            {
              serviceName: "auth-nats",
              serviceArn: "arn:aws:ecs:us-east-1:123456789012:service/gaming-system-cluster/auth-nats",
              status: "ACTIVE",
              desiredCount: 2,
              runningCount: 2,
              pendingCount: 0,
              taskDefinition: TD,
              deployments: [
                {
                  id: "ecs-svc/1234567890123456789",
                  status: "PRIMARY",
                  taskDefinition: TD,
                  desiredCount: 2,
                  runningCount: 2,
                  pendingCount: 0,
                  rolloutState: "COMPLETED",
                  createdAt: 1735689600,
                  updatedAt: 1735689660,
                },
              ],
            },
          ],
          failures: [],
        });
      case "DescribeTaskDefinition":
        return awsOk({
          taskDefinition: {
            taskDefinitionArn: TD,
            family: "auth-nats",
            revision: 7,
            containerDefinitions: [
              {
                name: "auth",
                image: `${REGISTRY}/gaming/auth@sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0`,
                essential: true,
                logConfiguration: {
                  logDriver: "awslogs",
                  options: {
                    "awslogs-group": "/ecs/gaming/auth",
                    "awslogs-region": "us-east-1",
                    "awslogs-stream-prefix": "ecs",
                  },
                },
              },
            ],
          },
          tags: [],
        });
      case "FilterLogEvents":
        return logs();
      default:
        return awsError("UnknownOperationException", `unexpected ${req.operation}`);
    }
  };
}

async function readLogs(p: Awaited<ReturnType<typeof platform>>): Promise<string[]> {
  const out: string[] = [];
  for await (const line of p.logs("auth", { since: 1735689600000 })) out.push(`${line.instance} | ${line.text}`);
  return out;
}

describe("ecs platform against AWS's answers", () => {
  it("names the missing cluster and the target in one line", async () => {
    const p = await platform();
    aws.answer = () => awsError("ClusterNotFoundException", "Cluster not found.");
    const err = (await p.describeServices().catch((e: unknown) => e)) as AwsError;
    expect(err).toBeInstanceOf(AwsError);
    expect(err.message).toBe("ECS cluster gaming-system-cluster not found in us-east-1 (target prod)");
    expect(err.code).toBe("ecs_cluster_not_found");
  });

  it("reads a service's lines from its awslogs group", async () => {
    const p = await platform();
    aws.answer = fleet(() =>
      awsOk({
        events: [
          {
            logStreamName: "ecs/auth/0123456789abcdef0123456789abcdef",
            timestamp: 1735689601000,
            message: "listening on auth.>\n",
            eventId: "38000000000000000000000000000000000000000000000000000000",
          },
        ],
      }),
    );
    expect(await readLogs(p)).toEqual(["0123456789abcdef0123456789abcdef | listening on auth.>"]);
    expect(aws.endpoint.calls.find((c) => c.operation === "FilterLogEvents")!.input).toMatchObject({
      logGroupName: "/ecs/gaming/auth",
      logStreamNamePrefix: "ecs/auth/",
    });
  });

  it("names a missing log group and the task definition setting to fix", async () => {
    const p = await platform();
    aws.answer = fleet(() =>
      awsError("ResourceNotFoundException", "The specified log group does not exist.", 400, "com.amazonaws.logs"),
    );
    const err = (await readLogs(p).catch((e: unknown) => e)) as AwsError;
    expect(err).toBeInstanceOf(AwsError);
    expect(err.message).toBe("CloudWatch Logs group /ecs/gaming/auth not found in us-east-1");
    expect(err.hint).toBe("create the log group, or fix awslogs-group in the task definition of auth-nats");
    expect(err.code).toBe("logs_group_not_found");
  });
});
