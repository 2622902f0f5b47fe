// `gs metrics` scraped by a real Prometheus (Debian's `prometheus`, started here on a free port),
// against a local fleet (`gs up --detach`, npc-behavior x2) under `gs bench` (the built CLI): what
// PromQL says about the requests agrees with what gs bench measured and with the services' own
// histograms; the example alert rules of docs/prometheus load, evaluate and fire.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { connect } from "@nats-io/transport-node";
import hdr from "hdr-histogram-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LatencyData } from "../../services/sdk/latency.js";
import { freePort } from "../../test/support/free-port.js";
import { startCli, startProcess, type LiveProcess } from "../../test/support/live-process.js";
import { createProject, existingServices, waitFor, type TestProject } from "../../test/support/local-fleet.js";
import { repoRoot, runCli } from "../../test/support/run-cli.js";
import { LATENCY_BUCKETS_SECONDS } from "../lib/metrics/latency-buckets.js";
import type { BenchJson } from "./bench.js";
import type { MetricsJson } from "./metrics.js";

const docs = path.join(repoRoot, "docs", "prometheus");
const DECIDE = '{service="npc-behavior",endpoint="npc-behavior.decide"}';

function tool(name: string): string {
  const probe = spawnSync(name, ["--version"], { encoding: "utf8" });
  if (probe.error) throw new Error(`${name} not found: apt-get install prometheus (scripts/install-system-deps.sh)`);
  return name;
}

describe("the example Prometheus config and alert rules in docs/prometheus", () => {
  it("pass promtool's checks and its unit tests of the rules", () => {
    const promtool = tool("promtool");
    for (const args of [
      ["check", "config", path.join(docs, "prometheus.yml")],
      ["check", "rules", path.join(docs, "alerts.yml")],
      ["test", "rules", path.join(docs, "alerts.test.yml")],
    ]) {
      const r = spawnSync(promtool, args, { encoding: "utf8" });
      expect(r.status, `promtool ${args.join(" ")}: ${r.stdout}${r.stderr}`).toBe(0);
    }
  });
});

const canRun = existingServices().includes("npc-behavior");

describe.runIf(canRun)("gs metrics scraped by Prometheus", () => {
  let project: TestProject | undefined;
  let exporter: LiveProcess | undefined;
  let prometheus: LiveProcess | undefined;
  let tmp: string | undefined;
  let api = "";
  let exporterPort = 0;

  /** An instant query's first value (NaN when the result is empty). */
  async function query(promql: string, atMs?: number): Promise<number> {
    const params = new URLSearchParams({ query: promql, ...(atMs ? { time: String(atMs / 1000) } : {}) });
    const res = await fetch(`${api}/api/v1/query?${params}`);
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data: { result: { value: [number, string] }[] };
    };
    if (body.status !== "success") throw new Error(`${promql}: ${body.error}`);
    return body.data.result.length ? Number(body.data.result[0]!.value[1]) : NaN;
  }

  /** gs bench at 200 req/s; it exits 1 when every request failed */
  async function bench(data: string, seconds: number, exitCode = 0): Promise<BenchJson> {
    const r = await runCli(
      ["bench", "npc-behavior.decide", data, "--rate", "200", "--duration", `${seconds}s`, "--json"],
      { cwd: project!.dir, timeoutMs: 60_000 },
    );
    expect(r.code, r.stderr).toBe(exitCode);
    return JSON.parse(r.stdout) as BenchJson;
  }

  beforeAll(async () => {
    const prometheusBin = tool("prometheus");
    if (!existsSync(path.join(repoRoot, "dist/cli.js"))) throw new Error("build first: npm run build");
    project = createProject(["npc-behavior"], { desired: 2 });
    const up = await runCli(["up", "--detach", "--timeout", "60s"], { cwd: project.dir, timeoutMs: 90_000 });
    expect(up.code, up.stderr).toBe(0);

    // polled twice per scrape: each scraped value is at most ~0.5 s older than its timestamp
    exporter = startCli(["metrics", "--listen", "127.0.0.1:0", "--interval", "500ms", "--json"], {
      cwd: project.dir,
      timeoutMs: 170_000,
    });
    await exporter.waitFor("stderr", /serving metrics of target local at http:\/\/127\.0\.0\.1:\d+\/metrics/, 30_000);
    exporterPort = Number(/127\.0\.0\.1:(\d+)\/metrics/.exec(exporter.stderr())![1]);

    tmp = mkdtempSync(path.join(os.tmpdir(), "gs-prometheus-"));
    const config = path.join(tmp, "prometheus.yml");
    writeFileSync(
      config,
      [
        "global: { scrape_interval: 1s, evaluation_interval: 1s }",
        `rule_files: [${JSON.stringify(path.join(docs, "alerts.yml"))}]`,
        "scrape_configs:",
        "  - job_name: gs",
        // as docs/prometheus/prometheus.yml: the exporter's own `instance` label is kept
        "    honor_labels: true",
        `    static_configs: [{ targets: ["127.0.0.1:${exporterPort}"], labels: { gs_target: local } }]`,
      ].join("\n") + "\n",
    );
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    prometheus = startProcess(
      prometheusBin,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${path.join(tmp, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=warn",
      ],
      { timeoutMs: 170_000 },
    );
    await waitFor(
      "Prometheus to be ready",
      async () => (await fetch(`${api}/-/ready`).catch(() => undefined))?.ok || undefined,
      30_000,
    );
    // scraped, with the fleet's first poll in it
    await waitFor(
      "the first scrape of the exporter",
      async () => ((await query(`sum(gs_instances{state="answering"})`)) === 2 ? true : undefined),
      30_000,
    );
  }, 150_000);

  afterAll(async () => {
    for (const p of [exporter, prometheus]) {
      if (p && p.child.exitCode === null && p.child.signalCode === null) {
        p.signal("SIGKILL");
        await p.exit;
      }
    }
    if (project) {
      await runCli(["down", "--purge"], { cwd: project.dir });
      project.remove();
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("agrees with gs bench on the request count and rate, and its p99 with the services' own histograms", async () => {
    const before = await query(`sum(gs_requests_total${DECIDE})`);
    expect(before).toBe(0);
    const started = Date.now();
    const run = await bench('{"npcId":"n1","archetype":"villager"}', 12);
    const ended = Date.now();
    expect(run.errors).toBe(0);

    // every request reached a service and is counted exactly once, with gs bench's one pre-flight request
    const expected = run.requests + 1;
    await waitFor(
      "Prometheus to hold every request",
      async () => ((await query(`sum(gs_requests_total${DECIDE})`)) === expected ? true : undefined),
      15_000,
    ).catch(() => undefined);
    expect(await query(`sum(gs_requests_total${DECIDE})`)).toBe(expected);
    expect(await query(`sum(gs_request_duration_seconds_count${DECIDE})`)).toBe(expected);
    expect(await query(`sum(gs_request_errors_total${DECIDE})`)).toBe(0);
    const settled = Date.now();

    // the rate over 8 s inside the 12 s run, which ended before gs bench printed its report (2.5 s
    // margin for its exit). Each sample's value was polled up to ~0.5 s (plus a poll's own time) before
    // its scrape timestamp; that lag varies by up to ~1 s between the window's two ends, so the rate can
    // be off by up to ~1/8 (12.5%): allow 15%
    const rate = await query(`sum(rate(gs_requests_total${DECIDE}[8s]))`, ended - 2500);
    expect(Math.abs(rate - run.throughput_rps) / run.throughput_rps).toBeLessThan(0.15);

    // p99 over the whole run (the range starts and ends where the counters were flat)
    const rangeS = Math.ceil((settled - started) / 1000) + 3;
    const promP99 = await query(
      `histogram_quantile(0.99, sum by (le) (increase(gs_request_duration_seconds_bucket${DECIDE}[${rangeS}s])))`,
      settled,
    );
    // like with like: the services' own HDR totals (what the exporter read), merged. HDR's p99 is the
    // top of the ~1% sub-bucket holding the 99th-percentile request; PromQL finds the bucket holding that
    // same request (both round its rank up) and interpolates inside it: its answer lies within that
    // bucket's bounds
    const totals = await servicesHistogram();
    expect(totals.totalCount).toBe(expected);
    const [lo, hi] = bucketOf(totals.getValueAtPercentile(99) / 1e9);
    expect(promP99).toBeGreaterThanOrEqual(lo);
    expect(promP99).toBeLessThanOrEqual(hi);
    // and an upper bound from what the client measured: a request's time in the service is part of its
    // round trip, so the service-side p99 is at most the client's, up to the width of its bucket
    const [, clientHi] = bucketOf(run.latency_ms.p99 / 1000);
    expect(promP99).toBeLessThanOrEqual(clientHi);
  }, 60_000);

  it("loads the example alert rules healthy, and the error-ratio alert goes pending on failing requests", async () => {
    const rules = async () => {
      const body = (await (await fetch(`${api}/api/v1/rules`)).json()) as {
        data: { groups: { name: string; rules: { name: string; health: string; lastError?: string }[] }[] };
      };
      return body.data.groups.flatMap((g) => g.rules);
    };
    // evaluated at least once: health turns from unknown to ok
    const loaded = await waitFor(
      "the rules to be evaluated",
      async () => {
        const r = await rules();
        return r.length === 3 && r.every((x) => x.health !== "unknown") ? r : undefined;
      },
      15_000,
    );
    expect(loaded.map((r) => r.name).sort()).toEqual([
      "GsHighErrorRatio",
      "GsHighLatencyP99",
      "GsInstancesBelowDesired",
    ]);
    for (const r of loaded) expect([r.name, r.health, r.lastError ?? ""]).toEqual([r.name, "ok", ""]);

    // the service refuses an npc without an archetype: every request is an error reply
    const failing = await bench('{"npcId":"n1"}', 3, 1);
    expect(failing.errors).toBe(failing.requests);
    const alert = await waitFor(
      "GsHighErrorRatio to go pending",
      async () => {
        const body = (await (await fetch(`${api}/api/v1/alerts`)).json()) as {
          data: { alerts: { labels: Record<string, string>; state: string }[] };
        };
        return body.data.alerts.find((a) => a.labels.alertname === "GsHighErrorRatio");
      },
      15_000,
    );
    // `for: 5m`: pending until then
    expect(alert).toMatchObject({
      state: "pending",
      labels: { service: "npc-behavior", gs_target: "local", severity: "warning" },
    });
  }, 45_000);

  it("stops at Ctrl-C: exit 0, the port closed, and a --json summary", async () => {
    exporter!.signal("SIGINT");
    expect(await exporter!.exit).toEqual({ code: 0, signal: null });
    const doc = JSON.parse(exporter!.stdout()) as MetricsJson;
    expect(doc).toMatchObject({
      target: "local",
      url: `http://127.0.0.1:${exporterPort}/metrics`,
      stoppedBy: "SIGINT",
    });
    expect(doc.polls).toBeGreaterThan(5);
    const refused = await new Promise<boolean>((resolve) => {
      const s = net.connect(exporterPort, "127.0.0.1");
      s.once("connect", () => (s.destroy(), resolve(false)));
      s.once("error", () => resolve(true));
    });
    expect(refused).toBe(true);
  }, 20_000);

  /** npc-behavior.decide's latency histograms of every instance, merged, as the instances report them. */
  async function servicesHistogram() {
    const nc = await connect({ servers: project!.record()!.nats.url });
    try {
      const merged = hdr.build({
        lowestDiscernibleValue: 1000,
        highestTrackableValue: 600_000_000_000,
        numberOfSignificantValueDigits: 2,
      });
      const replies = await nc.requestMany("$SRV.STATS.npc-behavior", "", {
        strategy: "count",
        maxMessages: 2,
        maxWait: 5000,
      });
      for await (const m of replies) {
        const ep = (m.json() as { endpoints: { subject: string; data: LatencyData }[] }).endpoints.find(
          (e) => e.subject === "npc-behavior.decide",
        )!;
        merged.add(hdr.decodeFromCompressedBase64(ep.data.total.hdr));
      }
      return merged;
    } finally {
      await nc.close();
    }
  }
});

/** The Prometheus bucket (lower, upper bound, seconds) holding `seconds`. */
function bucketOf(seconds: number): [number, number] {
  const i = LATENCY_BUCKETS_SECONDS.findIndex((b) => seconds <= b);
  if (i < 0) return [LATENCY_BUCKETS_SECONDS.at(-1)!, Infinity];
  return [i === 0 ? 0 : LATENCY_BUCKETS_SECONDS[i - 1]!, LATENCY_BUCKETS_SECONDS[i]!];
}
