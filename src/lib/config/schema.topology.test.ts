// gs.yaml for the production topology on the local platform: a 5-node NATS cluster, the Redis Cluster
// state backend and its shards, and an HTTP service's port; each checked with a message naming where.
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "./load.js";

const local = (body: string) =>
  `project: demo\ntargets:\n  local:\n    platform: local\n${body}services:\n  gateway: { port: 0 }\n`;

function message(text: string): string {
  try {
    parseConfig(text, "gs.yaml");
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("gs.yaml for the local topology", () => {
  it("reads 5 NATS nodes, a Redis Cluster state backend with its shards, and the gateway's port", () => {
    const cfg = parseConfig(local("    nats: { cluster: 5 }\n    state: { backend: redis, shards: 4 }\n"), "gs.yaml");
    expect(cfg.targets.local).toMatchObject({ nats: { cluster: 5 }, state: { backend: "redis", shards: 4 } });
    expect(cfg.services.gateway?.port).toBe(0);
  });

  it("defaults to JetStream KV and 3 shards", () => {
    const cfg = parseConfig(local("    state: { backend: redis }\n"), "gs.yaml");
    expect(cfg.targets.local).toMatchObject({ state: { backend: "redis", shards: 3 } });
    expect(parseConfig(local(""), "gs.yaml").targets.local).not.toHaveProperty("state");
  });

  it("rejects a cluster Redis cannot form and a port that is none", () => {
    expect(message(local("    state: { backend: redis, shards: 2 }\n"))).toBe(
      "gs.yaml: targets.local.state.shards: a Redis Cluster needs 3 to 9 primaries",
    );
    expect(message(local("    nats: { cluster: 4 }\n"))).toMatch(/^gs\.yaml: targets\.local\.nats\.cluster: /);
    expect(message("project: demo\nservices:\n  gateway: { port: 70000 }\n")).toBe(
      "gs.yaml: services.gateway.port: expected a TCP port from 0 (a free one) to 65535",
    );
  });
});
