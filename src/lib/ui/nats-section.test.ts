// The dashboard's NATS section below the services table: what it shows for a healthy cluster and
// for a node down, how it gives way on a short terminal, and a stale read. From fixtures, no network.
import { describe, expect, it } from "vitest";
import { buildSnapshot } from "../status/fleet-snapshot.js";
import { currentRow, initialView } from "./dashboard-keys.js";
import { listFrame } from "./fleet-lines.js";
import { theme } from "./theme.js";
import { healthyFleet, NOW } from "../../../test/support/fleet-fixtures.js";
import { healthyLayer, nodeDownLayer, withLayer } from "../../../test/support/nats-layer-fixtures.js";
import type { FleetData } from "../status/fleet-snapshot.js";

function frame(data: FleetData, rows = 40, columns = 120): string[] {
  const snap = buildSnapshot(data, NOW);
  return listFrame({
    snap,
    view: initialView,
    selected: currentRow(initialView, snap.services),
    columns,
    rows,
    keys: true,
    th: theme(false),
  }).map(plain);
}

/** Without the bold and dim codes, which show even without colour. */
const SGR = new RegExp(`${String.fromCharCode(27)}\\[\\d+m`, "g");
const plain = (l: string) => l.replace(SGR, "");

const after = (lines: string[], first: RegExp) => lines.slice(lines.findIndex((l) => first.test(l)));

describe("the dashboard's NATS section", () => {
  it("shows the servers and every stream below the services, with a summary", () => {
    const lines = frame(withLayer(healthyFleet(), healthyLayer()));
    const section = after(lines, /^NATS {2}/);
    // below the services table, above the keys
    expect(lines.findIndex((l) => /^NATS {2}/.test(l))).toBeGreaterThan(
      lines.findIndex((l) => /^[› ] settings /.test(l)),
    );
    expect(section.at(-1)).toMatch(/^↑↓ select/);
    expect(section[0]).toBe(
      "NATS  3/3 servers up · JetStream meta leader node1 (3 nodes) · 1 stream, 3 KV buckets · system account",
    );
    expect(section).toContain("  SERVER  STATE  VERSION  CONNS  CPU    MEM  SLOW  UPTIME");
    expect(section).toContain("  node2   up     2.9.10      15   1%  21MiB     0  5m");
    expect(section.find((l) => l.includes("stream EVENTS"))).toMatch(
      /stream EVENTS\s+3\/3\s+node1\s+1,234\s+2MiB\s+1\s+0\s+0$/,
    );
    expect(section.filter((l) => l.includes("KV gs_"))).toHaveLength(3);
  });

  it("lists what is wrong first, and the stream a problem is about before the healthy ones", () => {
    const section = after(frame(withLayer(healthyFleet(), nodeDownLayer())), /^NATS {2}/);
    expect(section[0]).toMatch(/^NATS {2}2\/3 servers up/);
    expect(section.slice(1, 3)).toEqual([
      "  ✖ server node3 is down",
      "  ✖ KV gs_payment has no leader (node3, named as its leader, does not answer)",
    ]);
    expect(section.find((l) => /^ {2}node3 /.test(l))).toMatch(/node3\s+down\s+-/);
    const streamRows = section.filter((l) => /^ {2}(stream|KV) /.test(l));
    expect(streamRows[0]).toMatch(/KV gs_payment\s+0\/3\s+none/);
  });

  it("gives way on a short terminal: the summary and the problems stay, the services keep their rows", () => {
    const lines = frame(withLayer(healthyFleet(), nodeDownLayer()), 16);
    expect(lines.length).toBeLessThan(16);
    expect(lines.filter((l) => /^[› ] (auth|payment|settings) /.test(l))).toHaveLength(3);
    const section = after(lines, /^NATS {2}/);
    expect(section.slice(0, 3)).toEqual([
      expect.stringMatching(/^NATS {2}2\/3 servers up/),
      "  ✖ server node3 is down",
      expect.stringMatching(/^ {2}✖ KV gs_payment has no leader/),
    ]);
  });

  it("counts the streams it has no room for", () => {
    const section = after(frame(withLayer(healthyFleet(), healthyLayer()), 20), /^NATS {2}/);
    expect(section.at(-2)).toMatch(/^ {2}… \d more streams?, with a leader and their replicas$/);
  });

  it("says how old a read is when the last one failed, and what it knows before the first", () => {
    const stale = after(frame(withLayer(healthyFleet(), healthyLayer(), 9000, "no answer within 1500ms")), /^NATS {2}/);
    expect(stale[0]).toMatch(/^NATS {2}stale: no answer within 1500ms \(data from 9s ago\) {2}3\/3 servers up/);
    const none = after(frame(withLayer(healthyFleet(), undefined)), /^NATS {2}/);
    expect(none[0]).toBe("NATS  reading the NATS layer...");
  });

  it("is not there when the store does not read the NATS layer", () => {
    expect(frame(healthyFleet()).some((l) => /^NATS {2}/.test(l))).toBe(false);
  });
});
