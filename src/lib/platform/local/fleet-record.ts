// .gs/local.json: the running local fleet, written by its supervisor. Other gs commands read
// `nats.url` from it (src/lib/nats/options.ts); the local platform also finds the supervisor's pid
// and every child pid, so `gs down` can stop whatever a killed supervisor left behind.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { LocalPaths } from "./paths.js";
import { isSupervisor } from "./processes.js";

export interface FleetRecord {
  version: 1;
  project: string;
  root: string;
  state: "starting" | "running" | "stopping";
  supervisor: { pid: number; startedAt: string; detached: boolean };
  nats: {
    /** comma-separated URLs of every node */
    url: string;
    nodes: { name: string; port: number; clusterPort?: number; monitorPort?: number; pid?: number }[];
    /** `gs up --secure`: the CA and client certificate every connection presents */
    tls?: { ca: string; cert: string; key: string };
    /** `gs up --secure`: the operator identity's nkey seed file (a path; the seed never leaves it) */
    nkey?: string;
    /** the system account's user `gs status` reads the NATS layer with: its nkey seed file (a path); absent in records of older gs */
    system?: { nkey: string };
    /** each node's monitoring endpoint (`https://` when secure), in node order; absent in records of older gs */
    monitoring?: string[];
  };
  /** `gs up --state redis`: the Redis Cluster's nodes, and the file with its password when the fleet is secure */
  redis?: {
    nodes: { name: string; port: number; busPort: number; pid?: number }[];
    passwordFile?: string;
  };
  /** control subjects: `<prefix>.status`, `.scale`, `.deploy`, `.deployment`, `.stop-deployment`, `.down` */
  control: { prefix: string };
  /** every child process (service instances, nats-server and redis-server nodes), for cleanup */
  pids: { pid: number; what: string }[];
  /** `url`: an HTTP service's address (the gateway) */
  services: Record<string, { desired: number; version?: string; url?: string }>;
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
    return isFleetRecord(rec) ? rec : undefined;
  } catch {
    return undefined;
  }
}

/** The shape gs relies on: a corrupt or hand-edited record counts as no record, never as a crash. */
function isFleetRecord(r: unknown): r is FleetRecord {
  const rec = r as FleetRecord | null;
  const isPid = (p: unknown) => Number.isInteger(p) && (p as number) > 1;
  return (
    !!rec &&
    typeof rec === "object" &&
    rec.version === 1 &&
    typeof rec.supervisor === "object" &&
    rec.supervisor !== null &&
    isPid(rec.supervisor.pid) &&
    typeof rec.nats === "object" &&
    rec.nats !== null &&
    typeof rec.nats.url === "string" &&
    Array.isArray(rec.nats.nodes) &&
    typeof rec.control === "object" &&
    rec.control !== null &&
    typeof rec.control.prefix === "string" &&
    Array.isArray(rec.pids) &&
    rec.pids.every((p) => p && isPid(p.pid)) &&
    typeof rec.services === "object" &&
    rec.services !== null
  );
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
  return rec && isSupervisor(rec.supervisor.pid, { home: paths.home, root: paths.root }) ? rec : undefined;
}
