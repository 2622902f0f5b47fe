import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../test-support/harness.js";
import { admit, boundsProblem, contains, normalizeHeading, selectEntities } from "./domain.js";
import service from "./service.js";

const v = (x: number, y = 0, z = 0) => ({ x, y, z });

describe("world geometry", () => {
  it("treats region bounds as inclusive", () => {
    const b = { min: v(0, 0, 0), max: v(10, 10, 10) };
    expect(contains(b, v(10, 10, 10))).toBe(true);
    expect(contains(b, v(0, 0, 0))).toBe(true);
    expect(contains(b, v(10.001, 5, 5))).toBe(false);
  });

  it("rejects inverted or missing bounds", () => {
    expect(boundsProblem(v(5), v(1))).toMatch(/min.x/);
    expect(boundsProblem(undefined, v(1))).toMatch(/both/);
    expect(boundsProblem(v(0), v(NaN))).toMatch(/finite/);
    expect(boundsProblem(v(0), v(0))).toBeUndefined();
  });

  it("folds headings into [0, 360)", () => {
    expect(normalizeHeading(360)).toBe(0);
    expect(normalizeHeading(-90)).toBe(270);
    expect(normalizeHeading(725)).toBe(5);
    expect(normalizeHeading(-0)).toBe(0);
  });

  it("sorts sphere matches nearest first and counts matches before the limit", () => {
    const es = [
      { entityId: "c", entityType: "npc", position: v(3) },
      { entityId: "a", entityType: "npc", position: v(1) },
      { entityId: "b", entityType: "item", position: v(2) },
      { entityId: "d", entityType: "npc", position: v(50) },
    ];
    const r = selectEntities(es, { entityType: "npc", center: v(0), radius: 10, limit: 1 });
    expect(r.matches.map((e) => e.entityId)).toEqual(["a"]);
    expect(r.total).toBe(2);
    expect(selectEntities(es, { limit: 10 }).matches.map((e) => e.entityId)).toEqual(["a", "b", "c", "d"]);
  });

  it("admits members up to the capacity only", () => {
    expect(admit(["a"], "b", 2)).toEqual(["a", "b"]);
    expect(admit(["a", "b"], "c", 2)).toBeNull();
    expect(admit(["a", "b"], "a", 2)).toEqual(["a", "b"]);
    expect(admit(["a", "b"], "c", 0)).toEqual(["a", "b", "c"]);
  });
});

describe("world-state over NATS", () => {
  let h: Harness;
  const events: string[] = [];
  beforeAll(async () => {
    h = await startHarness();
    await h.start(service);
    h.nc.subscribe("events.world-state.>", { callback: (_e, m) => void events.push(m.subject) });
    await h.call("world-state.define-region", {
      region: { regionId: "forest", name: "Elderwood", biome: "Forest", min: v(0, 0, 0), max: v(100, 100, 100) },
    });
    await h.call("world-state.define-region", {
      region: { regionId: "hut", biome: "city", min: v(200, 0, 0), max: v(210, 10, 10), capacity: 1 },
    });
  });
  afterAll(async () => h?.stop());

  it("defines regions and reports whether one was created or replaced", async () => {
    const again = await h.call<{ created: boolean; region: { biome: string; name: string } }>(
      "world-state.define-region",
      {
        region: { regionId: "forest", name: "Elderwood", biome: "FOREST", min: v(0, 0, 0), max: v(100, 100, 100) },
      },
    );
    expect(again.created).toBe(false);
    expect(again.region.biome).toBe("forest");
    const list = await h.call<{ regions: { regionId: string }[] }>("world-state.list-regions", { biome: "city" });
    expect(list.regions.map((r) => r.regionId)).toEqual(["hut"]);
  });

  it("refuses a region whose min exceeds its max with a 400", async () => {
    const err = await h.fail("world-state.define-region", { region: { regionId: "bad", min: v(5), max: v(1) } });
    expect(err.code).toBe(400);
  });

  it("spawns inside the bounds and refuses positions outside them", async () => {
    const r = await h.call<{ entity: { entityId: string; version: string; headingDeg: number } }>(
      "world-state.spawn-entity",
      {
        entityId: "wolf-1",
        entityType: "npc",
        regionId: "forest",
        position: v(10, 0, 10),
        headingDeg: -90,
      },
    );
    expect(r.entity).toMatchObject({ entityId: "wolf-1", version: "1", headingDeg: 270 });
    expect(
      (await h.fail("world-state.spawn-entity", { entityType: "npc", regionId: "forest", position: v(101) })).code,
    ).toBe(400);
    expect(
      (
        await h.fail("world-state.spawn-entity", {
          entityId: "wolf-1",
          entityType: "npc",
          regionId: "forest",
          position: v(1),
        })
      ).code,
    ).toBe(409);
    expect(
      (await h.fail("world-state.spawn-entity", { entityType: "npc", regionId: "nowhere", position: v(1) })).code,
    ).toBe(404);
  });

  it("enforces region capacity and leaves no entity behind when full", async () => {
    await h.call("world-state.spawn-entity", {
      entityId: "p1",
      entityType: "player",
      regionId: "hut",
      position: v(205, 1, 1),
    });
    const err = await h.fail("world-state.spawn-entity", {
      entityId: "p2",
      entityType: "player",
      regionId: "hut",
      position: v(205, 1, 1),
    });
    expect(err.code).toBe(412);
    expect((await h.call<{ found: boolean }>("world-state.get-entity", { entityId: "p2" })).found).toBe(false);
  });

  it("moves with optimistic concurrency on the entity version", async () => {
    await h.call("world-state.spawn-entity", {
      entityId: "deer",
      entityType: "npc",
      regionId: "forest",
      position: v(1, 1, 1),
    });
    const m = await h.call<{ entity: { version: string }; fromPosition: { x: number } }>("world-state.move-entity", {
      entityId: "deer",
      position: v(2, 1, 1),
      expectedVersion: "1",
    });
    expect(m.entity.version).toBe("2");
    expect(m.fromPosition.x).toBe(1);
    const stale = await h.fail("world-state.move-entity", {
      entityId: "deer",
      position: v(3, 1, 1),
      expectedVersion: "1",
    });
    expect(stale.code).toBe(409);
    expect((await h.fail("world-state.move-entity", { entityId: "deer", position: v(300, 1, 1) })).code).toBe(400);
  });

  it("moves an entity between regions and updates both entity counts", async () => {
    await h.call("world-state.spawn-entity", {
      entityId: "fox",
      entityType: "npc",
      regionId: "forest",
      position: v(5, 5, 5),
    });
    await h.call("world-state.despawn-entity", { entityId: "p1", reason: "logout" });
    const m = await h.call<{ fromRegionId: string; entity: { regionId: string } }>("world-state.move-entity", {
      entityId: "fox",
      regionId: "hut",
      position: v(201, 1, 1),
    });
    expect([m.fromRegionId, m.entity.regionId]).toEqual(["forest", "hut"]);
    const hut = await h.call<{ region: { entityCount: number } }>("world-state.query-region", { regionId: "hut" });
    expect(hut.region.entityCount).toBe(1);
    const full = await h.fail("world-state.move-entity", { entityId: "deer", regionId: "hut", position: v(201, 1, 1) });
    expect(full.code).toBe(412);
  });

  it("queries a region by type and radius, nearest first", async () => {
    await h.call("world-state.spawn-entity", {
      entityId: "rock",
      entityType: "prop",
      regionId: "forest",
      position: v(11, 0, 10),
    });
    const q = await h.call<{ entities: { entityId: string }[]; totalMatches: number }>("world-state.query-region", {
      regionId: "forest",
      entityType: "npc",
      center: v(10, 0, 10),
      radius: 20,
    });
    expect(q.entities.map((e) => e.entityId)).toEqual(["wolf-1", "deer"]);
    expect(q.totalMatches).toBe(2);
    expect((await h.fail("world-state.query-region", { regionId: "forest", radius: 5 })).code).toBe(400);
  });

  it("despawns once and publishes entity events", async () => {
    const d = await h.call<{ despawned: boolean; entity: { entityId: string } }>("world-state.despawn-entity", {
      entityId: "rock",
      reason: "expired",
    });
    expect(d.despawned).toBe(true);
    expect((await h.call<{ despawned: boolean }>("world-state.despawn-entity", { entityId: "rock" })).despawned).toBe(
      false,
    );
    await h.nc.flush();
    expect(events).toEqual(
      expect.arrayContaining([
        "events.world-state.region-defined",
        "events.world-state.entity-spawned",
        "events.world-state.entity-moved",
        "events.world-state.entity-despawned",
      ]),
    );
  });
});
