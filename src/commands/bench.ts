import os from "node:os";
import { Flags } from "@oclif/core";
import { BaseCommand, type CommandFlags } from "../base-command.js";
import {
  durationFlag,
  durationOrZeroFlag,
  messageArgs,
  natsFlags,
  payloadFlags,
  schemaFlags,
  targetFlags,
} from "../flags.js";
import { parseHeaders } from "../lib/messaging/data.js";
import { bench } from "../lib/bench/bench.js";
import { compareWithBaseline, describeRegression, parsePercent } from "../lib/bench/compare.js";
import { preparePayload } from "../lib/bench/payload.js";
import { checkBenchOptions } from "../lib/bench/plan.js";
import { renderReport } from "../lib/bench/report.js";
import { readBaseline, writeResult } from "../lib/bench/result-file.js";
import { schemaForSubject, schemaSource, schemaOptionsOf } from "../lib/proto/schema-source.js";
import { lazyNats, natsSettings } from "../nats-session.js";
import type { BenchResult } from "../lib/bench/types.js";
import { benchWorkerFile } from "../lib/bench/worker-file.js";
import { EXIT, UsageError } from "../lib/output/errors.js";
import { catchInterrupts } from "../lib/process/interrupt.js";
import { benchProgress } from "../lib/ui/bench-live.js";
import { liveOutput } from "../lib/ui/live-output.js";

export type BenchJson = BenchResult;

export default class Bench extends BaseCommand {
  static override summary = "Load-test a request/reply subject: throughput, latency percentiles, errors by kind.";
  static override description =
    "Closed loop by default (--concurrency requests in flight). With --rate the load is an open loop: requests leave on a fixed schedule " +
    "and each latency counts from when its request was due, so a stall of the service shows in the percentiles (no coordinated omission). " +
    "DATA is JSON for the rpc's request type, encoded with the .proto files; --raw sends it as bytes, --size N sends N random bytes.";
  static override examples = [
    `<%= config.bin %> bench npc-behavior.decide '{"npcId":"n1"}' --rate 10000 --duration 30s --warmup 2s`,
    `<%= config.bin %> bench payment.get-balance '{"playerId":"p1"}' --concurrency 128 --requests 100000`,
    `<%= config.bin %> bench echo --size 1KiB --rate 5000 --json --out bench.json`,
    `<%= config.bin %> bench auth.login --data-file login.json --rate 2000 --baseline bench.json --max-regression 10%`,
  ];
  static override args = messageArgs;
  static override flags = {
    ...natsFlags,
    ...targetFlags,
    ...schemaFlags,
    ...payloadFlags,
    size: Flags.string({ description: "Send N random bytes, e.g. 128, 1KiB (instead of DATA).", helpGroup: "PAYLOAD" }),
    rate: Flags.integer({
      char: "r",
      description: "Open loop: send R requests/s on a fixed schedule.",
      min: 1,
      helpGroup: "LOAD",
    }),
    concurrency: Flags.integer({
      char: "c",
      description: "Closed loop: keep C requests in flight [default: 64].",
      min: 1,
      helpGroup: "LOAD",
    }),
    duration: durationFlag({ char: "d", description: "How long to measure [default: 10s].", helpGroup: "LOAD" }),
    requests: Flags.integer({
      char: "n",
      description: "Measure N requests instead of a duration.",
      min: 1,
      helpGroup: "LOAD",
    }),
    warmup: durationOrZeroFlag({
      description: "Send load this long first, unmeasured.",
      default: 0,
      helpGroup: "LOAD",
    }),
    workers: Flags.integer({
      char: "w",
      description: "Worker threads generating load [default: the machine's cores].",
      min: 1,
      helpGroup: "LOAD",
    }),
    connections: Flags.integer({
      description: "NATS connections in all, shared out among workers [default: one per worker].",
      min: 1,
      helpGroup: "LOAD",
    }),
    out: Flags.string({ char: "o", description: "Also save the --json result to FILE.", helpGroup: "RESULT" }),
    baseline: Flags.string({
      description: "Compare throughput and p99 with a saved result; exit 1 on a regression.",
      helpGroup: "RESULT",
    }),
    "max-regression": Flags.string({
      description: "Largest allowed regression against --baseline [default: 10%].",
      helpGroup: "RESULT",
    }),
  };

  async run(): Promise<BenchJson> {
    const { args, flags } = await this.parse(Bench);
    if (flags["max-regression"] !== undefined && !flags.baseline)
      throw new UsageError("--max-regression needs --baseline FILE", "save a baseline with --out FILE");
    const maxPct = parsePercent(flags["max-regression"] ?? "10%");
    if (maxPct === undefined) throw new UsageError(`bad --max-regression "${flags["max-regression"]}": use e.g. 10%`);
    const load = {
      headers: parseHeaders(flags.header),
      rate: flags.rate,
      concurrency: flags.concurrency,
      workers: flags.workers,
      connections: flags.connections,
      durationMs: flags.duration,
      requests: flags.requests,
      warmupMs: flags.warmup,
      timeoutMs: flags.timeout,
    };
    checkBenchOptions(load);
    const baseline = flags.baseline ? readBaseline(flags.baseline) : undefined;
    const payload = preparePayload({
      subject: args.subject,
      data: args.data,
      dataFile: flags["data-file"],
      raw: flags.raw,
      size: flags.size,
      cwd: process.cwd(),
      proto: flags.proto,
      registry: await this.registryFor(args.subject, flags),
    });
    const progress = benchProgress(liveOutput({ json: this.jsonEnabled() }));
    // the first Ctrl-C stops the run (it still reports), a second one ends the process
    const interrupt = catchInterrupts();
    let result: BenchResult;
    try {
      result = await bench(
        {
          ...load,
          subject: args.subject,
          payload: payload.bytes,
          payloadSizes: payload.sizes,
          replyType: payload.replyType,
        },
        {
          settings: await natsSettings(flags),
          workerFile: benchWorkerFile(),
          cores: os.availableParallelism(),
          signal: interrupt.signal,
          onProgress: (s) => progress.update(s),
          onWarning: (text) => this.note(`${this.color("yellow", "warning:")} ${text}`),
          onStart: (p) => {
            progress.start(p);
            if (this.mode === "plain")
              this.note(
                `benchmarking ${args.subject}: ${p.mode} loop, ${p.workers.length} workers, ${p.connections} connections`,
              );
          },
        },
      );
    } finally {
      await progress.end();
      interrupt.release();
    }
    if (interrupt.received)
      this.note(
        this.color(
          "yellow",
          `stopped early (${interrupt.received === "SIGINT" ? "Ctrl-C" : interrupt.received}): the report covers what was measured until then`,
        ),
      );
    if (baseline) result.regression = compareWithBaseline(result, baseline, maxPct, flags.baseline!);
    if (flags.out) writeResult(flags.out, result);
    if (!this.jsonEnabled())
      this.out(renderReport(result, { paint: this.color, bar: this.mode === "tty" ? "█" : "#" }));
    for (const r of result.regression?.regressed ?? [])
      this.note(`${this.color("red", "regression:")} ${describeRegression(r, maxPct)}`);
    if (result.regression && !result.regression.ok) this.setExit(EXIT.failed);
    if (result.requests > 0 && result.requests === result.errors) {
      this.note(`${this.color("red", "error:")} every request failed`);
      this.setExit(EXIT.failed);
    }
    return result;
  }

  /** The types to encode DATA with, when it is JSON: from the fleet, over a connection of its own; local ones load in preparePayload. */
  private async registryFor(subject: string, flags: CommandFlags<typeof Bench>) {
    if (flags.raw || flags.size !== undefined) return undefined;
    const opts = schemaOptionsOf(flags);
    if (schemaSource(opts) === "local") return undefined;
    const nats = lazyNats(flags);
    try {
      return (await schemaForSubject(opts, subject, nats.connect)).registry;
    } finally {
      await nats.close();
    }
  }
}
