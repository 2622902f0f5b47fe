// The local fleet's Redis Cluster (`gs up --state redis`), found through the fleet record: its nodes,
// and the password file when the fleet is secure (the password itself is never in the record).
import { readFileSync } from "node:fs";
import { liveFleetRecord } from "../platform/local/fleet-record.js";
import type { LocalPaths } from "../platform/local/paths.js";
import type { RedisLayer } from "./redis-layer.js";

/** The Redis layer of the running local fleet; null when it keeps its state elsewhere (or is not up). */
export async function readLocalRedisLayer(paths: LocalPaths, timeoutMs = 1000): Promise<RedisLayer | null> {
  const redis = liveFleetRecord(paths)?.redis;
  if (!redis) return null;
  let password: string | undefined;
  try {
    password = redis.passwordFile ? readFileSync(redis.passwordFile, "utf8").trim() : undefined;
  } catch {
    // unreadable: every node then shows as down, which is what gs can tell
  }
  // ioredis is loaded only for a fleet that has Redis
  const { readRedisLayer } = await import("./redis-layer.js");
  return readRedisLayer(redis.nodes, { password, timeoutMs });
}
