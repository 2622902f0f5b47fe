// Read-only access to one service's state store, whichever backend it runs on. Nothing here writes:
// JetStream KV is opened bind-only (never created), Redis is only read (HMGET, SCAN, GETKEYSINSLOT).
import type { StateSource } from "./state-source.js";
import type { StoredValue } from "./stored-value.js";

export interface StateEntry {
  key: string;
  revision: number;
  /** when this revision was written (ISO 8601); Redis does not record it */
  time?: string;
  /** PUT, or (JetStream KV) the marker a delete or purge left */
  operation: "PUT" | "DEL" | "PURGE";
  /** PUT only */
  value?: StoredValue;
}

export interface StateReader {
  readonly source: StateSource;
  /** JetStream KV keeps a few revisions per key (the SDK's buckets: 5); Redis keeps only the current one */
  readonly keepsHistory: boolean;
  /** keys whose first dot-separated tokens equal `prefix`'s (every key without one), sorted */
  keys(prefix?: string): Promise<string[]>;
  /** the newest entry of `key` (a DEL or PURGE marker when it was deleted); null when there is none */
  latest(key: string): Promise<StateEntry | null>;
  /** the revisions kept, oldest first (Redis: the current one) */
  history(key: string): Promise<StateEntry[]>;
  close(): Promise<void>;
}
