// What `gs status` reads from gs.yaml for the NATS layer: an ecs target's `nats.monitoring`
// endpoints and `status.maxConsumerPending`, each optional, each checked.
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "./load.js";

const ecs = (nats: string) => `
project: demo
targets:
  prod:
    platform: ecs
    region: eu-west-1
    cluster: demo
    registry: 123456789012.dkr.ecr.eu-west-1.amazonaws.com
    nats: ${nats}
`;

function message(text: string): string {
  try {
    parseConfig(text, "gs.yaml");
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("gs.yaml for the NATS layer", () => {
  it("reads each server's monitoring endpoint of an ecs target", () => {
    const cfg = parseConfig(
      ecs(
        "{ url: nats://nats.internal:4222, monitoring: [http://nats-1.internal:8222, https://nats-2.internal:8222] }",
      ),
      "gs.yaml",
    );
    expect(cfg.targets.prod).toMatchObject({
      nats: {
        url: "nats://nats.internal:4222",
        monitoring: ["http://nats-1.internal:8222", "https://nats-2.internal:8222"],
      },
    });
  });

  it("rejects a monitoring endpoint that is not an http(s) URL, naming where it is", () => {
    expect(message(ecs("{ url: nats://n:4222, monitoring: [nats://n:8222] }"))).toBe(
      "gs.yaml: targets.prod.nats.monitoring[0]: expected a monitoring endpoint URL like http://nats-1.internal:8222",
    );
  });

  it("allows 1000 pending messages per consumer unless status.maxConsumerPending says otherwise", () => {
    expect(parseConfig("project: demo\n", "gs.yaml").status).toEqual({ maxConsumerPending: 1000 });
    expect(parseConfig("project: demo\nstatus: { maxConsumerPending: 50 }\n", "gs.yaml").status).toEqual({
      maxConsumerPending: 50,
    });
    expect(parseConfig("project: demo\nstatus:\n", "gs.yaml").status).toEqual({ maxConsumerPending: 1000 });
  });

  it("rejects a threshold that is not a whole number, and an unknown key under status", () => {
    expect(message("project: demo\nstatus: { maxConsumerPending: -1 }\n")).toBe(
      "gs.yaml: status.maxConsumerPending: expected a whole number of messages",
    );
    expect(message("project: demo\nstatus: { maxPending: 5 }\n")).toBe("gs.yaml: status.maxPending: unknown key");
  });
});
