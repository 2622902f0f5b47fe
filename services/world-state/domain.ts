// World geometry: axis-aligned region bounds, positions inside them, and region queries
// (type filter, sphere around a point, nearest first, limit). Pure functions, no I/O.

import type { Vec3 } from "../generated/gs/common/v1/common.js";

// proto messages as generated from proto/ (services/generated)
export type { Vec3 };

export interface Bounds {
  min: Vec3;
  max: Vec3;
}

const AXES = ["x", "y", "z"] as const;

/** A problem with a pair of bounds, or undefined when min <= max on every axis and all are finite. */
export function boundsProblem(min: Vec3 | undefined, max: Vec3 | undefined): string | undefined {
  if (!min || !max) return "region needs both min and max bounds";
  for (const a of AXES) {
    if (!Number.isFinite(min[a]) || !Number.isFinite(max[a])) return `bounds must be finite numbers (${a})`;
    if (min[a] > max[a]) return `min.${a} (${min[a]}) is greater than max.${a} (${max[a]})`;
  }
  return undefined;
}

/** Inclusive containment, as the proto defines region bounds. */
export function contains(b: Bounds, p: Vec3): boolean {
  return AXES.every((a) => p[a] >= b.min[a] && p[a] <= b.max[a]);
}

export function isFiniteVec(p: Vec3): boolean {
  return AXES.every((a) => Number.isFinite(p[a]));
}

export function distance(a: Vec3, b: Vec3): number {
  return Math.hypot(a.x - b.x, a.y - b.y, a.z - b.z);
}

/** Yaw in degrees folded into [0, 360). */
export function normalizeHeading(deg: number): number {
  const h = deg % 360;
  const folded = h < 0 ? h + 360 : h;
  return folded === 360 || Object.is(folded, -0) ? 0 : folded;
}

export interface Locatable {
  entityId: string;
  entityType: string;
  position?: Vec3;
}

export interface RegionQuery {
  entityType?: string;
  center?: Vec3;
  /** > 0 enables the sphere filter around `center` */
  radius?: number;
  limit: number;
}

/**
 * Entities matching a query: type filter, optional sphere, sorted by distance to the center when a sphere
 * is given (ties and the no-sphere case by id), cut at `limit`. `total` counts matches before the cut.
 */
export function selectEntities<T extends Locatable>(
  entities: readonly T[],
  q: RegionQuery,
): { matches: T[]; total: number } {
  const sphere = q.center && q.radius && q.radius > 0 ? { c: q.center, r: q.radius } : undefined;
  const scored: { e: T; d: number }[] = [];
  for (const e of entities) {
    if (q.entityType && e.entityType !== q.entityType) continue;
    const d = sphere ? distance(sphere.c, e.position ?? { x: 0, y: 0, z: 0 }) : 0;
    if (sphere && d > sphere.r) continue;
    scored.push({ e, d });
  }
  scored.sort((a, b) => a.d - b.d || (a.e.entityId < b.e.entityId ? -1 : a.e.entityId > b.e.entityId ? 1 : 0));
  return { matches: scored.slice(0, q.limit).map((s) => s.e), total: scored.length };
}

/** Adds an id to a membership list unless the capacity (0 = unlimited) is reached; returns the new list or null when full. */
export function admit(members: readonly string[], id: string, capacity: number): string[] | null {
  if (members.includes(id)) return [...members];
  if (capacity > 0 && members.length >= capacity) return null;
  return [...members, id].sort();
}
