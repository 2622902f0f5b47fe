import { BaseCommand } from "../base-command.js";
import {
  durationFlag,
  durationText,
  messageArgs,
  natsFlags,
  payloadFlags,
  schemaFlags,
  targetFlags,
} from "../flags.js";
import { parseHeaders, parseJsonData, readData } from "../lib/messaging/data.js";
import { errorLine } from "../lib/output/error-report.js";
import { catchInterrupts } from "../lib/process/interrupt.js";
import { schemaForSubject, schemaOptionsOf } from "../lib/proto/schema-source.js";
import { MAX_COLLECT_MS, prepareTrace, traceRequest } from "../lib/trace/collect-trace.js";
import { traceReport, type TraceReport } from "../lib/trace/trace-report.js";
import { liveOutput } from "../lib/ui/live-output.js";
import { traceDisplay } from "../lib/ui/trace-live.js";
import { lazyNats } from "../nats-session.js";

export type TraceJson = TraceReport;

const DEFAULT_WAIT_MS = 500;

export default class Trace extends BaseCommand {
  static override summary = "Send one sampled request and show where its time went, service by service.";
  static override description =
    "Sends DATA to SUBJECT with a sampled W3C traceparent; every service the request reaches reports a span to gs.trace.<trace-id> " +
    "(the calls it makes, the events it publishes). gs collects them until the trace has been quiet for --wait after the reply " +
    `(at most ${durationText(MAX_COLLECT_MS)} more) and prints the spans as a waterfall: bars on a terminal, plain lines otherwise, ` +
    "the span tree with --json. An error reply or a timeout still prints the trace, then exits 1 or 4. See docs/tracing.md.";
  static override examples = [
    `<%= config.bin %> trace environmental-narrative.describe '{"regionId":"elder","locale":"en"}'`,
    `<%= config.bin %> trace orchestration.start-flow '{"flowName":"purchase-item","params":{"playerId":"p1","sku":"sword","currency":"GOLD","price":"100"},"wait":true}'`,
    `<%= config.bin %> trace payment.get-balance '{"playerId":"p1"}' --json`,
    `<%= config.bin %> trace orchestration.start-flow --data-file flow.json --wait 3s`,
  ];
  static override args = messageArgs;
  static override flags = {
    ...natsFlags,
    ...targetFlags,
    ...schemaFlags,
    "data-file": payloadFlags["data-file"],
    header: payloadFlags.header,
    wait: durationFlag({
      description: "How long the trace must be quiet after the reply before the waterfall is final.",
      default: DEFAULT_WAIT_MS,
    }),
  };

  async run(): Promise<TraceJson> {
    const { args, flags } = await this.parse(Trace);
    const bytes = readData({ arg: args.data, file: flags["data-file"] });
    const json = parseJsonData(bytes, flags["data-file"] ? `--data-file ${flags["data-file"]}` : "DATA");
    const nats = lazyNats(flags);
    let nc;
    let registry;
    let prepared;
    try {
      ({ registry } = await schemaForSubject(schemaOptionsOf(flags), args.subject, nats.connect));
      prepared = prepareTrace(registry, { subject: args.subject, json, timeout: flags.timeout });
      nc = await nats.connect();
    } catch (err) {
      await nats.close();
      throw err;
    }
    const out = liveOutput({ json: this.jsonEnabled() });
    const interrupt = catchInterrupts();
    const display = traceDisplay(out, (line) => this.out(line));
    try {
      const run = await traceRequest(nc, registry, prepared, {
        subject: args.subject,
        headers: parseHeaders(flags.header),
        timeout: flags.timeout,
        settleMs: flags.wait,
        signal: interrupt.signal,
        onSpan: (root, spans, replied) => display.update(root, spans, replied),
      });
      const report = traceReport(run);
      await display.end(report);
      if (run.failure) {
        // the trace is the answer; the failed request still sets the exit code
        if (!this.jsonEnabled()) this.note(errorLine(run.failure, this.color));
        this.setExit(run.failure.exitCode);
      }
      return report;
    } finally {
      await display.close();
      interrupt.release();
      await nats.close();
    }
  }
}
