import { describe, expect, it } from "vitest";
import { UsageError } from "../output/errors.js";
import { describeStateSource, resolveStateSource } from "./state-source.js";

describe("resolveStateSource", () => {
  it("is the service's JetStream KV bucket by default, named as the SDK names it", () => {
    expect(resolveStateSource({ service: "quest-system" })).toEqual({
      backend: "jetstream",
      service: "quest-system",
      bucket: "gs_quest-system",
    });
  });

  it("follows the service's env in gs.yaml, and --backend / --redis-url over it", () => {
    const env = { GS_STATE_BACKEND: "redis", GS_REDIS_URL: "redis://10.0.0.1:6379" };
    expect(resolveStateSource({ service: "payment", serviceEnv: env })).toMatchObject({
      backend: "redis",
      namespace: "payment",
      url: "redis://10.0.0.1:6379",
    });
    expect(resolveStateSource({ service: "payment", serviceEnv: env, backend: "jetstream" }).backend).toBe("jetstream");
    expect(
      resolveStateSource({ service: "payment", serviceEnv: env, redisUrl: "redis://127.0.0.1:7000" }),
    ).toMatchObject({ url: "redis://127.0.0.1:7000" });
  });

  it("refuses an unknown backend, a redis one without address, and a bad URL without echoing it", () => {
    expect(() => resolveStateSource({ service: "a", serviceEnv: { GS_STATE_BACKEND: "mongo" } })).toThrow(
      /unknown state backend "mongo" \(from GS_STATE_BACKEND in gs\.yaml/,
    );
    expect(() => resolveStateSource({ service: "a", backend: "redis" })).toThrow(UsageError);
    let message = "";
    try {
      resolveStateSource({ service: "a", backend: "redis", redisUrl: "http://u:s3cret@host" });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/the Redis URL is not valid/);
    expect(message).not.toContain("s3cret");
  });
});

describe("describeStateSource", () => {
  it("names hosts and never a password", () => {
    const s = resolveStateSource({
      service: "payment",
      backend: "redis-cluster",
      redisUrl: "redis://:pw@10.0.0.1:6379,redis://:pw@10.0.0.2:6379",
    });
    expect(describeStateSource(s)).toBe("Redis Cluster 10.0.0.1:6379,10.0.0.2:6379 namespace payment");
  });
});
