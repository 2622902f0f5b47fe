// The dashboard's rendered frames for each state of the fleet, from a fake feed (no network).
import { createElement } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";

// Ink's chalk decides on colour when it loads, from the test runner's (non-)terminal
vi.hoisted(() => {
  process.env.FORCE_COLOR = "1";
});
import { Dashboard } from "./dashboard-app.js";
import { currentRow, initialView } from "./dashboard-keys.js";
import { listFrame, renderLine, styled } from "./fleet-lines.js";
import { theme } from "./theme.js";
import { fleetLatency } from "../status/fleet-latency.js";
import { key, renderFrames, type Frames } from "../../../test/support/ink-frames.js";
import {
  degradedFleet,
  failingFleet,
  FakeFeed,
  healthyFleet,
  instanceWindow,
  natsDownFleet,
  natsUnavailableFleet,
  NOW,
  platformDownFleet,
  rollingOutFleet,
  service,
  fleetFrom,
} from "../../../test/support/fleet-fixtures.js";

let open: Frames | undefined;
afterEach(() => {
  open?.unmount();
  open = undefined;
});

function show(
  feed: FakeFeed,
  opts: { columns?: number; rows?: number; color?: boolean; stdinTTY?: boolean } = {},
): Frames {
  open = renderFrames(createElement(Dashboard, { feed, color: opts.color ?? false, changeLog: false }), opts);
  return open;
}

const ESC = "\u001b";
const rowOf = (frame: string, name: string) =>
  frame.split("\n").find((l) => new RegExp(`^[› ] ${name} `).test(l)) ?? "";

describe("dashboard frames", () => {
  it("shows a healthy fleet with totals, rates and the header", async () => {
    const f = await show(new FakeFeed(healthyFleet())).waitFor("SERVICE");
    expect(f).toContain("target local (local)");
    expect(f).toContain("NATS nats://127.0.0.1:4222");
    expect(f).toMatch(/last poll \d\d:\d\d:\d\d/);
    expect(f).toContain("3/3 services healthy, 6/6 tasks · 300 req/s · 0% errors");
    // P50, P99: the last minute over both instances (each 98 requests at 0.4 ms, 2 at 3 ms)
    expect(f).toMatch(/SERVICE\s+STATE\s+TASKS\s+PEND\s+NATS\s+REQ\/S\s+ERR%\s+P50\s+P99\s+RST\s+VERSION\s+LAST EVENT/);
    expect(rowOf(f, "auth")).toMatch(/auth\s+● healthy\s+2\/2\s+0\s+2\s+100\s+0%\s+401µs\s+3\.00ms\s+0\s+0\.1\.0\+/);
    expect(f).toContain("↑↓ select · enter detail · / filter · s sort (name) · q quit");
  });

  it("shows a rollout with its progress bar", async () => {
    // wide enough for the whole event beside the latency columns
    const f = await show(new FakeFeed(rollingOutFleet()), { columns: 150 }).waitFor("SERVICE");
    expect(rowOf(f, "payment")).toContain("◐ rolling out ███░░░ 1/2");
    expect(rowOf(f, "payment")).toMatch(/5s deployment payment-dep-0002 st/);
    expect(f).toContain("2/3 services healthy");
  });

  it("marks a service below its desired count, and one running but silent on NATS, as degraded", async () => {
    const f = await show(new FakeFeed(degradedFleet()), { columns: 150 }).waitFor("SERVICE");
    expect(rowOf(f, "settings")).toMatch(/▲ degraded\s+1\/2\s+1\s+1/);
    expect(rowOf(f, "settings")).toContain("killed by SIGKILL");
    expect(rowOf(f, "auth")).toMatch(/▲ degraded\s+2\/2\s+0\s+1\s/);
    expect(f).toContain("1/3 services healthy, 5/6 tasks");
  });

  it("marks a crash loop and a failed deployment as failing", async () => {
    const f = await show(new FakeFeed(failingFleet())).waitFor("SERVICE");
    expect(rowOf(f, "payment")).toMatch(/✖ failing\s+0\/2\s+2\s+0/);
    expect(rowOf(f, "settings")).toContain("✖ failing");
    expect(rowOf(f, "auth")).toContain("● healthy");
  });

  it("says NATS is down instead of showing zero instances", async () => {
    const f = await show(new FakeFeed(natsDownFleet())).waitFor("SERVICE");
    expect(f).toContain("NATS down: nats://127.0.0.1:4222 does not answer; reconnecting");
    expect(rowOf(f, "auth")).toMatch(/2\/2\s+0\s+down\s+-\s+-\s+-/);
    expect(rowOf(f, "auth")).not.toMatch(/\s0\s+-\s+-\s+-/);
  });

  it("shows the p99 of both instances' requests together, and each instance's own in the detail", async () => {
    const data = healthyFleet();
    // payment's second instance is slow: 98 requests at 20 ms, 2 at 90 ms
    const slow = data.counters!.find((c) => c.id === "payment-nats-1")!;
    slow.windows = [{ subject: "payment.get", window: instanceWindow(20, 90) }];
    data.latency = fleetLatency(data.counters!);
    const feed = new FakeFeed(data);
    const ui = show(feed);
    const f = await ui.waitFor("SERVICE");
    // 200 requests: the 100th is a 3 ms one, the 198th a 20 ms one (HDR: within 1%)
    expect(rowOf(f, "payment")).toMatch(/0%\s+3\.0\dms\s+20ms\s+0\s/);
    expect(rowOf(f, "auth")).toMatch(/0%\s+401µs\s+3\.00ms\s+0\s/);
    await ui.press(key.down, key.enter);
    const d = await ui.waitFor("INSTANCES");
    expect(d).toMatch(/payment-000000\s+running\s+\S+\s+1000\s+yes\s+50\s+0%\s+401µs\s+3\.00ms/);
    expect(d).toMatch(/payment-000001\s+running\s+\S+\s+1001\s+yes\s+50\s+0%\s+20ms\s+90ms/);
    expect(d).toMatch(/payment\.get\s+200\s+0\s+3\.0\dms\s+20ms\s+90ms/);
  });

  it("shows the platform's view when NATS cannot be reached, its columns marked unavailable with the reason", async () => {
    const f = await show(new FakeFeed(natsUnavailableFleet())).waitFor("SERVICE");
    expect(f).toContain(
      "NATS unavailable: cannot connect to NATS at nats://nats.invalid:4222: host not found — showing the platform's view only",
    );
    expect(f).not.toContain("reconnecting");
    expect(rowOf(f, "auth")).toMatch(/● healthy\s+2\/2\s+0\s+n\/a\s+-\s+-\s+-\s+-\s+0\s/);
    expect(f).toContain("3/3 services healthy, 6/6 tasks");
  });

  it("keeps the platform's last data when it stops answering, with its age in the column headers", async () => {
    const f = await show(new FakeFeed(platformDownFleet())).waitFor("SERVICE");
    expect(f).toContain("platform unreachable: no answer within 2000ms (data from 14s ago)");
    expect(f).toMatch(/STATE 14s\s+TASKS 14s/);
    expect(rowOf(f, "auth")).toContain("2/2");
  });

  it("colours rows by state, and not at all without colour", async () => {
    const coloured = show(new FakeFeed(degradedFleet()), { color: true });
    await coloured.waitFor("SERVICE");
    expect(coloured.lastRaw()).toMatch(new RegExp(`${ESC}\\[33m\\s*▲ degraded`));
    coloured.unmount();
    const plain = show(new FakeFeed(degradedFleet()), { color: false });
    await plain.waitFor("SERVICE");
    expect(plain.lastRaw()).not.toMatch(new RegExp(`${ESC}\\[3\\dm`));
  });
});

describe("dashboard layout", () => {
  it("drops the least important columns first on a narrow terminal", async () => {
    const ui = show(new FakeFeed(healthyFleet()), { columns: 160 });
    let f = await ui.waitFor("SERVICE");
    expect(f).toContain("LAST EVENT");
    expect(f).toContain("VERSION");
    await ui.resize(80, 40);
    f = await ui.waitFor((x) => !x.includes("LAST EVENT"));
    expect(f).toMatch(/SERVICE\s+STATE\s+TASKS/);
    expect(f).toContain("REQ/S");
    expect(f).not.toContain("VERSION");
    await ui.resize(40, 40);
    f = await ui.waitFor((x) => !x.includes("REQ/S"));
    expect(f).toMatch(/SERVICE\s+STATE/);
    for (const l of f.split("\n")) expect(l.length).toBeLessThanOrEqual(40);
  });

  it("windows a long list to the terminal's height around the selection", async () => {
    const many = Array.from({ length: 30 }, (_, i) => service(`svc-${String(i).padStart(2, "0")}`));
    const ui = show(new FakeFeed(fleetFrom(many)), { rows: 20 });
    let f = await ui.waitFor("SERVICE");
    expect(f.split("\n").length).toBeLessThan(20);
    expect(f).toContain("1-");
    await ui.press(...Array(20).fill(key.down));
    f = await ui.waitFor((x) => rowOf(x, "svc-20").startsWith("›"));
    expect(f).not.toContain("svc-00");
  });
});

describe("dashboard keys", () => {
  it("moves the selection with the arrows and opens the detail with Enter, Esc goes back", async () => {
    const feed = new FakeFeed(degradedFleet());
    const ui = show(feed);
    await ui.waitFor("SERVICE");
    expect(rowOf(ui.last(), "auth")).toMatch(/^›/);
    await ui.press(key.down, key.down);
    expect(rowOf(await ui.waitFor((x) => rowOf(x, "settings").startsWith("›")), "settings")).toMatch(/^›/);
    await ui.press(key.enter);
    const d = await ui.waitFor("INSTANCES");
    await vi.waitFor(() => expect(feed.focused).toBe("settings"));
    expect(d).toContain("settings  ▲ degraded  1/2 running, 1 pending; last stop: was killed by SIGKILL");
    expect(d).toMatch(/ID\s+STATE\s+VERSION\s+PID\s+NATS\s+REQ\/S\s+ERR%\s+P50\s+P99\s+REQUESTS\s+UP/);
    expect(d).toMatch(/settings-000000\s+running\s+0\.1\.0\+\S+\s+1000\s+yes\s+50\s+0%\s+401µs\s+3\.00ms\s+10000/);
    expect(d).toContain("p50 401µs  p99 3.00ms");
    expect(d).toContain("ENDPOINTS (last minute)");
    expect(d).toMatch(/settings\.get\s+100\s+0\s+401µs\s+3\.00ms\s+3\.00ms/);
    expect(d).toContain("STOPPED");
    expect(d).toMatch(/settings-000001\s+SIGKILL\s+was killed by SIGKILL/);
    expect(d).toContain("RECENT EVENTS");
    expect(d).toContain("LOGS");
    await ui.press(key.escape);
    await ui.waitFor("LAST EVENT");
    await vi.waitFor(() => expect(feed.focused).toBeUndefined());
  });

  it("filters by name with /", async () => {
    const ui = show(new FakeFeed(healthyFleet()));
    await ui.waitFor("SERVICE");
    await ui.press("/", "p", "a");
    let f = await ui.waitFor("/pa");
    expect(rowOf(f, "payment")).not.toBe("");
    expect(rowOf(f, "auth")).toBe("");
    await ui.press(key.enter);
    f = await ui.waitFor('filter "pa"');
    await ui.press(key.escape);
    f = await ui.waitFor((x) => rowOf(x, "auth") !== "");
    expect(f).not.toContain('filter "pa"');
  });

  it("takes keys typed together in one read one after the other", async () => {
    const ui = show(new FakeFeed(healthyFleet()));
    await ui.waitFor("SERVICE");
    await ui.press("/set");
    const f = await ui.waitFor("/set");
    expect(rowOf(f, "settings")).not.toBe("");
    expect(rowOf(f, "payment")).toBe("");
  });

  it("cycles the sort with s: name, state, req/s, errors", async () => {
    const data = degradedFleet();
    data.rates!.set("payment-nats-0", { rps: 900, eps: 90, errorRate: 0.1, avgMs: 2 });
    const ui = show(new FakeFeed(data));
    const order = (f: string) =>
      f
        .split("\n")
        .filter((l) => /^[› ] (auth|payment|settings) /.test(l))
        .map((l) => l.slice(2).split(" ")[0]);
    expect(order(await ui.waitFor("sort (name)"))).toEqual(["auth", "payment", "settings"]);
    await ui.press("s");
    expect(order(await ui.waitFor("sort (state)"))).toEqual(["auth", "settings", "payment"]);
    await ui.press("s");
    expect(order(await ui.waitFor("sort (req/s)"))).toEqual(["payment", "auth", "settings"]);
    await ui.press("s");
    expect(order(await ui.waitFor("sort (errors)"))[0]).toBe("payment");
  });

  it("quits with q", async () => {
    const ui = show(new FakeFeed(healthyFleet()));
    await ui.waitFor("SERVICE");
    await ui.press("q");
    await expect(ui.exited).resolves.toBeUndefined();
  });

  it("shows no key help when stdin is not a terminal", async () => {
    const f = await show(new FakeFeed(healthyFleet()), { stdinTTY: false }).waitFor("SERVICE");
    expect(f).toContain("ctrl-c quits");
    expect(f).not.toContain("enter detail");
  });

  it("updates when the feed brings news", async () => {
    const feed = new FakeFeed(healthyFleet());
    const ui = show(feed);
    await ui.waitFor("3/3 services healthy");
    feed.set(degradedFleet(), NOW + 2000);
    await ui.waitFor("1/3 services healthy");
  });
});

describe("the first frame written before Ink loads", () => {
  const strip = (s: string) => s.replace(new RegExp(`${ESC}\\[[0-9;]*m`, "g"), "");

  it("is the frame Ink then draws, line for line, in every state", async () => {
    for (const fleet of [
      healthyFleet(),
      rollingOutFleet(),
      degradedFleet(),
      failingFleet(),
      natsDownFleet(),
      platformDownFleet(),
    ]) {
      const feed = new FakeFeed(fleet);
      const snap = feed.snapshot();
      const pre = listFrame({
        snap,
        view: initialView,
        selected: currentRow(initialView, snap.services),
        columns: 120,
        rows: 30,
        keys: true,
        th: theme(false),
      });
      const ui = show(feed, { columns: 120, rows: 30 });
      const f = await ui.waitFor("SERVICE");
      expect(f.split("\n").map((l) => l.trimEnd())).toEqual(pre.map((l) => strip(l).trimEnd()));
      ui.unmount();
      open = undefined;
    }
  });

  it("fits the width: long lines end in an ellipsis, styles are closed", () => {
    expect(renderLine([["abcdef"], ["ghij", { bold: true }]], 8)).toBe(`abcdef${ESC}[1mg…${ESC}[22m`);
    expect(renderLine([["abc   "], ["  "]], 10)).toBe("abc   ");
    expect(renderLine([["abcdef"]], 6)).toBe("abcdef");
    expect(renderLine([["abcdefg"]], 6)).toBe("abcde…");
    expect(styled("x", { color: "red", bold: true })).toBe(`${ESC}[31m${ESC}[1mx${ESC}[22m${ESC}[39m`);
    const snap = new FakeFeed(degradedFleet()).snapshot();
    for (const l of listFrame({ snap, view: initialView, columns: 41, rows: 20, keys: false, th: theme(true) }))
      expect(strip(l).length).toBeLessThanOrEqual(40);
  });
});
