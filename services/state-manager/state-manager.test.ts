import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../test-support/harness.js";
import { decideDelete, decideSave, trimHistory, type Revision } from "./domain.js";
import service from "./service.js";

const limits = { maxRevisions: 3, maxBytes: 1000 };
const rev = (n: number, size = 10): Revision => ({
  revision: n,
  dataJson: "x",
  updatedBy: "",
  savedAt: "",
  sizeBytes: size,
});

describe("state-manager domain", () => {
  it("saves only at the expected revision unless forced", () => {
    const first = decideSave(
      undefined,
      { dataJson: "{}", expectedRevision: 0, force: false, updatedBy: "t" },
      "now",
      limits,
    );
    expect(first).toMatchObject({ ok: true, revision: { revision: 1 } });
    const rec = (first as { next: Parameters<typeof decideSave>[0] }).next;
    expect(
      decideSave(rec, { dataJson: "{}", expectedRevision: 0, force: false, updatedBy: "" }, "now", limits),
    ).toEqual({ ok: false, current: 1 });
    expect(
      decideSave(rec, { dataJson: "{}", expectedRevision: 7, force: true, updatedBy: "" }, "now", limits),
    ).toMatchObject({ ok: true, revision: { revision: 2 } });
  });

  it("keeps the newest revisions within the count and byte limits, and always the latest", () => {
    expect(trimHistory([rev(5), rev(4), rev(3), rev(2)], limits).map((r) => r.revision)).toEqual([5, 4, 3]);
    expect(trimHistory([rev(5, 600), rev(4, 600)], limits).map((r) => r.revision)).toEqual([5]);
    expect(trimHistory([rev(5, 5000)], limits).map((r) => r.revision)).toEqual([5]);
  });

  it("continues numbering after a delete", () => {
    const gone = decideDelete(
      { revision: 4, deleted: false, history: [rev(4)] },
      { expectedRevision: 4, force: false },
    );
    expect(gone).toMatchObject({ ok: true, lastRevision: 4 });
    const again = decideSave(
      (gone as { next: Parameters<typeof decideSave>[0] }).next,
      { dataJson: "{}", expectedRevision: 0, force: false, updatedBy: "" },
      "now",
      limits,
    );
    expect(again).toMatchObject({ ok: true, revision: { revision: 5 } });
  });
});

describe("state-manager service", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    await h.start(service, { env: { STATE_HISTORY: "5" } });
    await h.start(service, { env: { STATE_HISTORY: "5" } });
  });
  afterAll(async () => h?.stop());

  const save = (entityId: string, data: unknown, expectedRevision: number, force = false) =>
    h.call<{ saved: boolean; revision: string; currentRevision: string; conflict: boolean }>(
      "state-manager.save-state",
      {
        entityType: "player",
        entityId,
        dataJson: JSON.stringify(data),
        expectedRevision,
        force,
        updatedBy: "test",
      },
    );

  it("creates revision 1, then 2, and loads the latest and an older one", async () => {
    expect(await save("p1", { hp: 10 }, 0)).toMatchObject({ saved: true, revision: "1" });
    expect(await save("p1", { hp: 7 }, 1)).toMatchObject({ saved: true, revision: "2" });
    const latest = await h.call<{
      found: boolean;
      state: { dataJson: string; revision: string };
      latestRevision: string;
    }>("state-manager.load-state", { entityType: "player", entityId: "p1" });
    expect([latest.state.revision, JSON.parse(latest.state.dataJson), latest.latestRevision]).toEqual([
      "2",
      { hp: 7 },
      "2",
    ]);
    const old = await h.call<{ state: { dataJson: string }; latestRevision: string }>("state-manager.load-state", {
      entityType: "player",
      entityId: "p1",
      revision: 1,
    });
    expect([JSON.parse(old.state.dataJson), old.latestRevision]).toEqual([{ hp: 10 }, "2"]);
  });

  it("reports a conflict with the current revision when the expected one is stale", async () => {
    expect(await save("p1", { hp: 1 }, 1)).toEqual({
      saved: false,
      revision: "0",
      currentRevision: "2",
      conflict: true,
    });
    expect(await save("p1", { hp: 1 }, 0)).toMatchObject({ conflict: true, currentRevision: "2" });
    expect(await save("p1", { hp: 1 }, 1, true)).toMatchObject({ saved: true, revision: "3" });
  });

  it("lets exactly one of many concurrent saves at the same revision win, across instances", async () => {
    await save("race", { n: 0 }, 0);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => save("race", { n: i }, 1)));
    expect(results.filter((r) => r.saved)).toHaveLength(1);
    expect(results.filter((r) => r.conflict).every((r) => r.currentRevision === "2")).toBe(true);
  });

  it("keeps only the last N revisions and pages through them newest first", async () => {
    for (let i = 0; i < 8; i++) await save("hist", { i }, i);
    const first = await h.call<{ revisions: { revision: string }[]; page: { nextPageToken: string; total: number } }>(
      "state-manager.list-revisions",
      {
        entityType: "player",
        entityId: "hist",
        page: { pageSize: 3 },
      },
    );
    expect(first.revisions.map((r) => r.revision)).toEqual(["8", "7", "6"]);
    expect(first.page.total).toBe(5);
    const second = await h.call<{ revisions: { revision: string }[]; page: { nextPageToken: string } }>(
      "state-manager.list-revisions",
      {
        entityType: "player",
        entityId: "hist",
        page: { pageSize: 3, pageToken: first.page.nextPageToken },
      },
    );
    expect(second.revisions.map((r) => r.revision)).toEqual(["5", "4"]);
    expect(second.page.nextPageToken).toBe("");
    const gone = await h.call<{ found: boolean; latestRevision: string }>("state-manager.load-state", {
      entityType: "player",
      entityId: "hist",
      revision: 2,
    });
    expect(gone).toEqual({ found: false, latestRevision: "8" });
  });

  it("deletes at the expected revision only, and a re-created entity continues the numbering", async () => {
    await save("del", { a: 1 }, 0);
    expect(
      await h.call("state-manager.delete-state", { entityType: "player", entityId: "del", expectedRevision: 5 }),
    ).toEqual({ deleted: false, conflict: true, currentRevision: "1" });
    expect(
      await h.call("state-manager.delete-state", { entityType: "player", entityId: "del", expectedRevision: 1 }),
    ).toEqual({ deleted: true, conflict: false, currentRevision: "0" });
    expect(await h.call("state-manager.load-state", { entityType: "player", entityId: "del" })).toEqual({
      found: false,
      latestRevision: "0",
    });
    expect(await save("del", { a: 2 }, 1)).toMatchObject({ conflict: true, currentRevision: "0" });
    expect(await save("del", { a: 2 }, 0)).toMatchObject({ saved: true, revision: "2" });
  });

  it("rejects invalid JSON, a bad entity type and a negative revision with 400", async () => {
    expect(
      (await h.fail("state-manager.save-state", { entityType: "player", entityId: "x", dataJson: "{nope" })).code,
    ).toBe(400);
    expect((await h.fail("state-manager.save-state", { entityType: "a.b", entityId: "x", dataJson: "{}" })).code).toBe(
      400,
    );
    expect((await h.fail("state-manager.load-state", { entityType: "player", entityId: "x", revision: -1 })).code).toBe(
      400,
    );
  });
});
