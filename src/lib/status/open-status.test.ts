// The local fleet's view while its NATS is down: what the supervisor's record holds.
import { describe, expect, it } from "vitest";
import type { FleetRecord } from "../platform/local/fleet-record.js";
import { recordRows } from "./open-status.js";

const record = (pids: FleetRecord["pids"]): FleetRecord => ({
  version: 1,
  project: "p",
  root: "/p",
  state: "running",
  supervisor: { pid: 100, startedAt: "2026-05-01T12:00:00Z", detached: true },
  nats: { url: "nats://127.0.0.1:4222", nodes: [{ name: "node1", port: 4222 }] },
  control: { prefix: "gs.control" },
  pids,
  services: { "world-state": { desired: 2, version: "0.1.0+abc" }, world: { desired: 1 } },
  updatedAt: "2026-05-01T12:00:00Z",
});

describe("the local fleet's record as the platform's view", () => {
  it("gives each service's desired count and version, and counts its instance processes still alive", () => {
    const rec = record([
      { pid: 200, what: "nats-server node1" },
      { pid: 201, what: "world-state-a1b2c3" },
      { pid: 202, what: "world-state-d4e5f6" },
      { pid: 203, what: "world-0a0b0c" },
    ]);
    const dead = new Set([202]);
    expect(recordRows(rec, (pid) => !dead.has(pid))).toEqual([
      { name: "world", desired: 1, running: 1, pending: null, restarts: null, version: null, state: null },
      { name: "world-state", desired: 2, running: 1, pending: null, restarts: null, version: "0.1.0+abc", state: null },
    ]);
  });
});
