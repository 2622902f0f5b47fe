// How `gs trace` shows its trace, chosen by live-output.ts: nothing but the JSON under --json, the
// waterfall as plain lines once collected, or live the Ink waterfall (trace-view.tsx), drawn once the
// reply is in, growing as late spans come, and kept on screen at the end.
import type { SpanRecord } from "@gs/fleet/sdk/trace";
import type { TraceReport } from "../trace/trace-report.js";
import { partialWaterfall } from "../trace/trace-report.js";
import { waterfallLines, waterfallRows } from "../trace/waterfall.js";
import { LiveView, type LiveOutput } from "./live-output.js";
import type { TraceViewProps } from "./trace-view.js";

export interface TraceDisplay {
  /** what has come so far: gs's span (still growing until `replied`) and the spans */
  update(root: SpanRecord, spans: readonly SpanRecord[], replied: boolean): void;
  /** the finished trace: the last frame, or the lines */
  end(report: TraceReport): Promise<void>;
  /** no trace to show (the request failed before any hop ran): nothing drawn stays; safe after end() */
  close(): Promise<void>;
}

export function traceDisplay(out: LiveOutput, print: (line: string) => void): TraceDisplay {
  if (out.renderer === "live") return new TraceLive(out, print);
  return {
    update: () => undefined,
    end: async (report) => {
      if (out.renderer === "lines") for (const l of linesOf(report)) print(l);
    },
    close: async () => undefined,
  };
}

function linesOf(report: TraceReport): string[] {
  return waterfallLines(
    {
      trace_id: report.trace_id,
      subject: report.subject,
      duration_ms: report.duration_ms,
      span_count: report.span_count,
    },
    waterfallRows(report.root),
  );
}

class TraceLive implements TraceDisplay {
  private props: TraceViewProps;
  /** made once the reply is in: loading Ink while the request is out would delay gs reading the reply, and the root span with it */
  private view: LiveView<TraceViewProps> | undefined;

  constructor(
    private readonly out: LiveOutput,
    private readonly print: (line: string) => void,
  ) {
    this.props = { summary: undefined, rows: [], total_ms: 0, phase: "collecting", color: out.color };
  }

  private shown(): LiveView<TraceViewProps> {
    return (this.view ??= new LiveView({
      view: () => import("./trace-view.js").then((m) => m.TraceView),
      props: () => this.props,
      term: this.out.term,
      onClose: "keep",
    }));
  }

  update(root: SpanRecord, spans: readonly SpanRecord[], replied: boolean): void {
    this.props = { ...this.props, ...partialWaterfall(root, spans) };
    if (replied) this.shown().changed();
  }

  async end(report: TraceReport): Promise<void> {
    this.props = {
      ...this.props,
      summary: {
        trace_id: report.trace_id,
        subject: report.subject,
        duration_ms: report.duration_ms,
        span_count: report.span_count,
      },
      rows: waterfallRows(report.root),
      total_ms: report.end_ms,
      phase: "done",
    };
    try {
      await this.shown().close();
    } catch {
      // Ink failed to load or mount: the same waterfall as lines
      for (const l of linesOf(report)) this.print(l);
    }
  }

  async close(): Promise<void> {
    await this.view?.close().catch(() => undefined);
  }
}
