// The Redis layer in aligned columns and one summary line: what the one-shot `gs status` prints.
import { formatBytes, formatCount, renderTable } from "../output/format.js";
import type { RedisLayer } from "./redis-layer.js";

/** `6/6 nodes up · 3 primaries, 3 replicas · cluster_state ok` */
export function redisSummary(layer: RedisLayer): string {
  const up = layer.nodes.filter((n) => n.state === "up");
  const primaries = up.filter((n) => n.role === "primary").length;
  return [
    `${up.length}/${layer.nodes.length} nodes up`,
    `${primaries} primar${primaries === 1 ? "y" : "ies"}, ${up.length - primaries} replica${up.length - primaries === 1 ? "" : "s"}`,
    `cluster_state ${layer.clusterState ?? "unknown"}`,
  ].join(" · ");
}

export function redisReport(layer: RedisLayer): { table: string; lines: string[] } {
  const dash = (x: string | number | null) => (x === null ? "-" : String(x));
  const table = renderTable(
    ["REDIS", "ADDRESS", "STATE", "ROLE", "PRIMARY", "SLOTS", "KEYS", "MEM"],
    layer.nodes.map((n) => [
      n.name,
      n.address,
      n.state,
      dash(n.role === "replica" && n.inSync === false ? "replica (not in sync)" : n.role),
      dash(n.primary),
      n.role === "primary" ? `${n.slots} (${n.slotRanges.join(",")})` : "-",
      n.keys === null ? "-" : formatCount(n.keys),
      n.memBytes === null ? "-" : formatBytes(n.memBytes),
    ]),
  );
  return { table, lines: [`Redis: ${redisSummary(layer)}`, ...layer.problems.map((p) => `Redis: ${p.message}`)] };
}
