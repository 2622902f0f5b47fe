// CLUSTER NODES and INFO as Redis prints them, parsed: who serves which slots, who replicates whom,
// who is failing. Pure; shared by the local platform (forming and supervising the cluster) and
// `gs status` (showing it).

/** One node as a cluster member sees it. */
export interface ClusterNodeLine {
  id: string;
  port: number;
  role: "primary" | "replica";
  /** a replica's primary (its node id) */
  primaryId: string | null;
  /** inclusive slot ranges a primary serves */
  slots: Array<[number, number]>;
  /** flagged as failed (or possibly failed) by the node asked */
  failing: boolean;
  /** the line of the node asked */
  myself: boolean;
}

export const CLUSTER_SLOTS = 16384;

export function parseClusterNodes(text: string): ClusterNodeLine[] {
  return text
    .trim()
    .split("\n")
    .filter((l) => l.trim())
    .map((line) => {
      const r = line.trim().split(" ");
      const flags = (r[2] ?? "").split(",");
      const replica = flags.includes("slave");
      return {
        id: r[0]!,
        port: Number((r[1] ?? "").split("@")[0]!.split(":").pop()),
        role: replica ? "replica" : "primary",
        primaryId: replica && r[3] && r[3] !== "-" ? r[3] : null,
        slots: r
          .slice(8)
          .filter((s) => /^\d/.test(s))
          .map((s) => {
            const [a, b] = s.split("-").map(Number);
            return [a!, b ?? a!] as [number, number];
          }),
        failing: flags.includes("fail") || flags.includes("fail?"),
        myself: flags.includes("myself"),
      };
    });
}

export function slotCount(ranges: Array<[number, number]>): number {
  return ranges.reduce((n, [a, b]) => n + b - a + 1, 0);
}

/** `field:value` lines of INFO or CLUSTER INFO. */
export function infoFields(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i > 0) out.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return out;
}
