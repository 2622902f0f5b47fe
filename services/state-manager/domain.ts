// State-manager domain: an entity record holding its recent revisions, and the rules for saving and
// deleting against an expected revision. Pure functions; the service stores the record. No NATS here.

export interface Revision {
  revision: number;
  dataJson: string;
  updatedBy: string;
  savedAt: string;
  sizeBytes: number;
}

/**
 * One entity. After a delete the record stays as a tombstone (`deleted`, no history) so numbering
 * continues: a client holding revision 3 of the old entity cannot overwrite a re-created one at revision 3.
 */
export interface EntityRecord {
  /** latest revision ever written (also after delete) */
  revision: number;
  deleted: boolean;
  /** newest first */
  history: Revision[];
}

export interface HistoryLimits {
  /** revisions kept per entity (the latest always stays) */
  maxRevisions: number;
  /** total data bytes kept per entity (older revisions are dropped first) */
  maxBytes: number;
}

export const ENTITY_TYPE_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** The revision callers compare against: 0 when the entity does not exist (never saved, or deleted). */
export function currentRevision(rec: EntityRecord | undefined): number {
  return !rec || rec.deleted ? 0 : rec.revision;
}

export type SaveDecision = { ok: true; next: EntityRecord; revision: Revision } | { ok: false; current: number };

export function decideSave(
  rec: EntityRecord | undefined,
  req: { dataJson: string; expectedRevision: number; force: boolean; updatedBy: string },
  savedAt: string,
  limits: HistoryLimits,
): SaveDecision {
  const current = currentRevision(rec);
  if (!req.force && req.expectedRevision !== current) return { ok: false, current };
  const revision: Revision = {
    revision: (rec?.revision ?? 0) + 1,
    dataJson: req.dataJson,
    updatedBy: req.updatedBy,
    savedAt,
    sizeBytes: Buffer.byteLength(req.dataJson, "utf8"),
  };
  const history = trimHistory([revision, ...(rec && !rec.deleted ? rec.history : [])], limits);
  return { ok: true, next: { revision: revision.revision, deleted: false, history }, revision };
}

export function trimHistory(history: Revision[], limits: HistoryLimits): Revision[] {
  const kept: Revision[] = [];
  let bytes = 0;
  for (const r of history) {
    if (kept.length >= limits.maxRevisions) break;
    if (kept.length > 0 && bytes + r.sizeBytes > limits.maxBytes) break;
    kept.push(r);
    bytes += r.sizeBytes;
  }
  return kept;
}

export type DeleteDecision =
  { ok: true; next: EntityRecord; lastRevision: number } | { ok: false; current: number; conflict: boolean };

export function decideDelete(
  rec: EntityRecord | undefined,
  req: { expectedRevision: number; force: boolean },
): DeleteDecision {
  const current = currentRevision(rec);
  if (current === 0) return { ok: false, current, conflict: !req.force && req.expectedRevision !== 0 };
  if (!req.force && req.expectedRevision !== current) return { ok: false, current, conflict: true };
  return { ok: true, next: { revision: rec!.revision, deleted: true, history: [] }, lastRevision: current };
}

/** Opaque page cursor: the revision to continue below. */
export function encodeCursor(revision: number): string {
  return Buffer.from(`rev:${revision}`).toString("base64url");
}
export function decodeCursor(token: string): number {
  const m = /^rev:(\d+)$/.exec(Buffer.from(token, "base64url").toString());
  if (!m) throw new RangeError("page_token is not a token this service issued");
  return Number(m[1]);
}
