// world-state: regions (axis-aligned boxes) and the entities inside them.
// State: `region.<regionId>` = RegionDoc (the region plus its member entity ids, so capacity checks and
// membership change atomically), `entity.<entityId>` = Entity. Both written with optimistic concurrency.
// Env: WORLD_QUERY_DEFAULT_LIMIT (default 100), WORLD_QUERY_MAX_LIMIT (default 1000).
import { randomUUID } from "node:crypto";
import { defineService, ServiceBase, type RpcHandlers } from "../sdk/runtime.js";
import { badRequest, conflict, failedPrecondition, notFound } from "../sdk/errors.js";
import { RevisionConflict } from "../sdk/state.js";
import { admit, boundsProblem, contains, isFiniteVec, normalizeHeading, selectEntities, type Vec3 } from "./domain.js";
import type {
  DefineRegionRequest,
  DefineRegionResponse,
  DespawnEntityRequest,
  DespawnEntityResponse,
  Entity,
  GetEntityRequest,
  GetEntityResponse,
  ListRegionsRequest,
  ListRegionsResponse,
  MoveEntityRequest,
  MoveEntityResponse,
  QueryRegionRequest,
  QueryRegionResponse,
  Region,
  SpawnEntityRequest,
  SpawnEntityResponse,
  WorldStateServiceRpcs,
} from "../generated/world_state/v1/world_state.js";

// ---- state ----
type RegionDoc = Omit<Region, "entityCount"> & { members: string[] };
const regionKey = (id: string) => `region.${id}`;
const entityKey = (id: string) => `entity.${id}`;
const MAX_ID = 128;
const MAX_ATTRS = 64;
const MAX_MOVE_RETRIES = 5;

function requireId(value: string, field: string): string {
  const v = value.trim();
  if (!v) throw badRequest(`${field} is required`);
  if (v.length > MAX_ID) throw badRequest(`${field} is longer than ${MAX_ID} characters`);
  return v;
}

function checkMap(map: Record<string, string>, field: string): void {
  const entries = Object.entries(map);
  if (entries.length > MAX_ATTRS) throw badRequest(`${field} has more than ${MAX_ATTRS} entries`);
  for (const [k, v] of entries) if (k.length > MAX_ID || v.length > 1024) throw badRequest(`${field}.${k} is too long`);
}

function requirePosition(p: Vec3 | undefined, field: string): Vec3 {
  if (!p) throw badRequest(`${field} is required`);
  if (!isFiniteVec(p)) throw badRequest(`${field} must be finite`);
  return { x: p.x, y: p.y, z: p.z };
}

const toRegion = ({ members, ...r }: RegionDoc): Region => ({ ...r, entityCount: members.length });

function checkInside(region: RegionDoc, p: Vec3): void {
  if (!contains({ min: region.min!, max: region.max! }, p)) {
    throw badRequest(`position (${p.x}, ${p.y}, ${p.z}) is outside region ${region.regionId}`);
  }
}

class WorldState extends ServiceBase implements RpcHandlers<WorldStateServiceRpcs> {
  private readonly defaultLimit = Number(this.ctx.env.WORLD_QUERY_DEFAULT_LIMIT ?? 100);
  private readonly maxLimit = Number(this.ctx.env.WORLD_QUERY_MAX_LIMIT ?? 1000);

  async DefineRegion(req: DefineRegionRequest): Promise<DefineRegionResponse> {
    const r = req.region;
    if (!r) throw badRequest("region is required");
    const regionId = requireId(r.regionId, "region.regionId");
    const problem = boundsProblem(r.min, r.max);
    if (problem) throw badRequest(problem);
    if ((r.name ?? "").length > 200) throw badRequest("region.name is longer than 200 characters");
    checkMap(r.tags ?? {}, "region.tags");
    let created = false;
    const saved = await this.ctx.state.update<RegionDoc>(regionKey(regionId), (cur) => {
      created = !cur;
      const members = cur?.members ?? [];
      if (r.capacity > 0 && members.length > r.capacity) {
        throw failedPrecondition(
          `region ${regionId} holds ${members.length} entities, more than the new capacity ${r.capacity}`,
        );
      }
      return {
        regionId,
        name: r.name || regionId,
        biome: (r.biome ?? "").trim().toLowerCase(),
        min: r.min,
        max: r.max,
        capacity: r.capacity,
        tags: r.tags ?? {},
        members,
      };
    });
    const region = toRegion(saved.value);
    await this.ctx.events.publish("RegionDefinedEvent", { region, created });
    return { region, created };
  }

  async ListRegions(req: ListRegionsRequest): Promise<ListRegionsResponse> {
    const biome = req.biome.trim().toLowerCase();
    const docs = await Promise.all((await this.ctx.state.keys("region")).map((k) => this.ctx.state.get<RegionDoc>(k)));
    const regions = docs.flatMap((d) => (d && (!biome || d.value.biome === biome) ? [toRegion(d.value)] : []));
    return { regions: regions.sort((a, b) => a.regionId.localeCompare(b.regionId)) };
  }

  async SpawnEntity(req: SpawnEntityRequest): Promise<SpawnEntityResponse> {
    const entityType = requireId(req.entityType, "entityType");
    const regionId = requireId(req.regionId, "regionId");
    const entityId = req.entityId ? requireId(req.entityId, "entityId") : randomUUID();
    const position = requirePosition(req.position, "position");
    if (!Number.isFinite(req.headingDeg)) throw badRequest("headingDeg must be finite");
    checkMap(req.attributes, "attributes");
    checkInside(await this.loadRegion(regionId), position);
    const now = new Date().toISOString();
    const entity: Entity = {
      entityId,
      entityType,
      regionId,
      position,
      headingDeg: normalizeHeading(req.headingDeg),
      attributes: req.attributes,
      version: "1",
      spawnedAt: now,
      updatedAt: now,
    };
    try {
      await this.ctx.state.put(entityKey(entityId), entity, 0);
    } catch (err) {
      if (err instanceof RevisionConflict) throw conflict(`entity ${entityId} already exists`);
      throw err;
    }
    try {
      await this.join(regionId, entityId);
    } catch (err) {
      await this.ctx.state.delete(entityKey(entityId)); // region full: the spawn did not happen
      throw err;
    }
    await this.ctx.events.publish("EntitySpawnedEvent", { entity });
    return { entity };
  }

  async MoveEntity(req: MoveEntityRequest): Promise<MoveEntityResponse> {
    const entityId = requireId(req.entityId, "entityId");
    const position = requirePosition(req.position, "position");
    if (!Number.isFinite(req.headingDeg)) throw badRequest("headingDeg must be finite");
    const expected = BigInt(req.expectedVersion);
    for (let attempt = 0; ; attempt++) {
      const cur = await this.ctx.state.get<Entity>(entityKey(entityId));
      if (!cur) throw notFound(`no entity ${entityId}`);
      const from = cur.value;
      if (expected !== 0n && BigInt(from.version) !== expected) {
        throw conflict(`entity ${entityId} is at version ${from.version}, not ${req.expectedVersion}`);
      }
      const toRegionId = req.regionId ? requireId(req.regionId, "regionId") : from.regionId;
      checkInside(await this.loadRegion(toRegionId), position);
      const crossing = toRegionId !== from.regionId;
      if (crossing) await this.join(toRegionId, entityId);
      const next: Entity = {
        ...from,
        regionId: toRegionId,
        position,
        headingDeg: normalizeHeading(req.headingDeg),
        version: String(BigInt(from.version) + 1n),
        updatedAt: new Date().toISOString(),
      };
      try {
        await this.ctx.state.put(entityKey(entityId), next, cur.revision);
      } catch (err) {
        if (crossing) await this.leave(toRegionId, entityId);
        // someone else changed the entity meanwhile: with an expected version that is the caller's conflict
        if (err instanceof RevisionConflict && expected === 0n && attempt < MAX_MOVE_RETRIES) continue;
        if (err instanceof RevisionConflict) throw conflict(`entity ${entityId} was modified concurrently`);
        throw err;
      }
      if (crossing) await this.leave(from.regionId, entityId);
      await this.ctx.events.publish("EntityMovedEvent", {
        entityId,
        entityType: next.entityType,
        fromRegionId: from.regionId,
        toRegionId,
        fromPosition: from.position,
        toPosition: position,
        version: next.version,
        at: next.updatedAt,
      });
      return { entity: next, fromRegionId: from.regionId, fromPosition: from.position };
    }
  }

  async DespawnEntity(req: DespawnEntityRequest): Promise<DespawnEntityResponse> {
    const entityId = requireId(req.entityId, "entityId");
    if (req.reason.length > 200) throw badRequest("reason is longer than 200 characters");
    for (let attempt = 0; ; attempt++) {
      const cur = await this.ctx.state.get<Entity>(entityKey(entityId));
      if (!cur) return { despawned: false };
      try {
        await this.ctx.state.delete(entityKey(entityId), cur.revision);
      } catch (err) {
        if (err instanceof RevisionConflict && attempt < MAX_MOVE_RETRIES) continue;
        throw err;
      }
      const entity = cur.value;
      await this.leave(entity.regionId, entityId);
      await this.ctx.events.publish("EntityDespawnedEvent", {
        entityId,
        entityType: entity.entityType,
        regionId: entity.regionId,
        reason: req.reason || "despawned",
        at: new Date().toISOString(),
      });
      return { despawned: true, entity };
    }
  }

  async GetEntity(req: GetEntityRequest): Promise<GetEntityResponse> {
    const cur = await this.ctx.state.get<Entity>(entityKey(requireId(req.entityId, "entityId")));
    return cur ? { found: true, entity: cur.value } : { found: false };
  }

  async QueryRegion(req: QueryRegionRequest): Promise<QueryRegionResponse> {
    const regionId = requireId(req.regionId, "regionId");
    if (!Number.isFinite(req.radius) || req.radius < 0) throw badRequest("radius must be >= 0");
    if (req.radius > 0 && !req.center) throw badRequest("radius needs a center");
    if (req.center && !isFiniteVec(req.center)) throw badRequest("center must be finite");
    if (req.limit > this.maxLimit) throw badRequest(`limit must be <= ${this.maxLimit}`);
    const region = await this.loadRegion(regionId);
    const loaded = await Promise.all(region.members.map((id) => this.ctx.state.get<Entity>(entityKey(id))));
    // a member whose entity is gone or elsewhere (a move or despawn half done) is not in the region
    const entities = loaded.flatMap((e) => (e && e.value.regionId === regionId ? [e.value] : []));
    const { matches, total } = selectEntities(entities, {
      entityType: req.entityType.trim(),
      center: req.center,
      radius: req.radius,
      limit: req.limit || this.defaultLimit,
    });
    return { region: toRegion(region), entities: matches, totalMatches: total };
  }

  private async loadRegion(id: string): Promise<RegionDoc> {
    const r = await this.ctx.state.get<RegionDoc>(regionKey(id));
    if (!r) throw notFound(`no region ${id}`);
    return r.value;
  }

  /** Adds `entityId` to a region's members, refusing when the region is full. */
  private async join(regionId: string, entityId: string): Promise<void> {
    await this.ctx.state.update<RegionDoc>(regionKey(regionId), (cur) => {
      if (!cur) throw notFound(`no region ${regionId}`);
      const members = admit(cur.members, entityId, cur.capacity);
      if (!members) throw failedPrecondition(`region ${regionId} is full (capacity ${cur.capacity})`);
      return { ...cur, members };
    });
  }

  private async leave(regionId: string, entityId: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const cur = await this.ctx.state.get<RegionDoc>(regionKey(regionId));
      if (!cur || !cur.value.members.includes(entityId)) return;
      const members = cur.value.members.filter((m) => m !== entityId);
      try {
        await this.ctx.state.put(regionKey(regionId), { ...cur.value, members }, cur.revision);
        return;
      } catch (err) {
        if (!(err instanceof RevisionConflict) || attempt >= 20) throw err;
        await new Promise((r) => setTimeout(r, Math.random() * 5 * (attempt + 1)));
      }
    }
  }
}

export default defineService({
  name: "world-state",
  description: "Regions and the entities in them",
  start: (ctx) => new WorldState(ctx),
});
