// Which version `gs rollback` picks, from history records alone.
import { describe, expect, it } from "vitest";
import type { ReleaseOutcome, ReleaseRecord } from "../platform/platform.js";
import { historyEntries } from "./history.js";
import { rollbackTarget } from "./rollback-target.js";

const rec = (n: number, outcome: ReleaseOutcome | undefined, extra: Partial<ReleaseRecord> = {}): ReleaseRecord => ({
  artifact: {
    version: `1.0.${n}`,
    hash: `h${n}`,
    ref: `/b/${n}.mjs`,
    revision: `arn:aws:ecs:r:1:task-definition/a-nats:${n}`,
  },
  startedAt: new Date(Date.UTC(2025, 0, 1, n)).toISOString(),
  ...(outcome ? { outcome } : {}),
  current: false,
  available: true,
  ...extra,
});

describe("rollbackTarget", () => {
  // newest first: 5 runs now, 4 failed, 3 was rolled back from, 2 deployed well
  const records = [rec(5, "deployed", { current: true }), rec(4, "failed"), rec(3, "rolled_back"), rec(2, "deployed")];

  it("picks the newest version before the current one that deployed well", () => {
    expect(rollbackTarget("a", records, undefined).to.version).toBe("1.0.2");
  });

  it("takes a version, a revision or a revision number with --to", () => {
    expect(rollbackTarget("a", records, "1.0.3").to.version).toBe("1.0.3");
    expect(rollbackTarget("a", records, "a-nats:4").to.version).toBe("1.0.4");
    expect(rollbackTarget("a", records, "2").to.revision).toMatch(/a-nats:2$/);
  });

  it("refuses an unknown version listing the known ones", () => {
    expect(() => rollbackTarget("a", records, "9.9.9")).toThrow(
      "a has no version 9.9.9 (known: 1.0.4 (a-nats:4), 1.0.3 (a-nats:3), 1.0.2 (a-nats:2))",
    );
  });

  it("refuses the version that runs now, and one the platform can no longer run", () => {
    expect(() => rollbackTarget("a", records, "1.0.5")).toThrow("a already runs 1.0.5");
    const gone = [records[0]!, { ...records[3]!, available: false }];
    expect(() => rollbackTarget("a", gone, "1.0.2")).toThrow(/can no longer be run: its build is gone/);
    expect(() => rollbackTarget("a", gone, undefined)).toThrow(/no earlier version that deployed well/);
  });
});

describe("historyEntries", () => {
  it("says how long each ran: to its recorded end, else until the next version that took over, the current one until now", () => {
    const r = [
      rec(5, "deployed", { current: true }),
      rec(4, "failed", { endedAt: new Date(Date.UTC(2025, 0, 1, 4, 10)).toISOString() }),
      rec(3, "deployed"),
      rec(2, undefined),
    ];
    const now = Date.UTC(2025, 0, 1, 6);
    expect(historyEntries(r, now).map((e) => e.ranSeconds)).toEqual([3600, 600, 7200, 3600]);
    expect(historyEntries(r, now)[0]).toMatchObject({ version: "1.0.5", revision: "a-nats:5", current: true });
  });

  it("leaves out how long when nothing recorded says when it stopped", () => {
    const [only] = historyEntries([rec(2, "failed")], Date.UTC(2025, 0, 2));
    expect(only!.ranSeconds).toBeUndefined();
  });
});
