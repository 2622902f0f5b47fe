// .gs/local.json: the running local fleet, written by its supervisor. Other gs commands read
// `nats.url` from it (src/lib/nats/options.ts); the local platform also finds the supervisor's pid
// and every child pid, so `gs down` can stop whatever a killed supervisor left behind.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { LocalPaths } from "./paths.js";
import { isAlive } from "./processes.js";

export interface FleetRecord {
  version: 1;
  project: string;
  root: string;
  state: "starting" | "running" | "stopping";
  supervisor: { pid: number; startedAt: string; detached: boolean };
  nats: {
    /** comma-separated URLs of every node */
    url: string;
    nodes: { name: string; port: number; clusterPort?: number; pid?: number }[];
  };
  /** control subjects: `<prefix>.status`, `.scale`, `.deploy`, `.deployment`, `.stop-deployment`, `.down` */
  control: { prefix: string };
  /** every child process (service instances and nats-server nodes), for cleanup */
  pids: { pid: number; what: string }[];
  services: Record<string, { desired: number; version?: string }>;
  updatedAt: string;
}

export function readFleetRecord(paths: LocalPaths): FleetRecord | undefined {
  let text: string;
  try {
    text = readFileSync(paths.record, "utf8");
  } catch {
    return undefined;
  }
  try {
    const rec = JSON.parse(text) as FleetRecord;
    return rec && typeof rec === "object" && rec.version === 1 && rec.supervisor && rec.nats ? rec : undefined;
  } catch {
    return undefined;
  }
}

export function writeFleetRecord(paths: LocalPaths, rec: FleetRecord): void {
  mkdirSync(path.dirname(paths.record), { recursive: true });
  const tmp = `${paths.record}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(rec, null, 2) + "\n");
  renameSync(tmp, paths.record);
}

export function removeFleetRecord(paths: LocalPaths): void {
  rmSync(paths.record, { force: true });
}

/** The record of a fleet whose supervisor is alive, or undefined. */
export function liveFleetRecord(paths: LocalPaths): FleetRecord | undefined {
  const rec = readFleetRecord(paths);
  return rec && isAlive(rec.supervisor.pid) ? rec : undefined;
}
