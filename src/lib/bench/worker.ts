// Entry of a bench worker thread (bundled to dist/lib/bench/worker.js): its own NATS connections,
// its share of the load, and an HDR histogram it hands back encoded. An open loop's share starts a
// second thread from this same file, its metronome (see open-loop.ts), which only keeps time.
import { parentPort, Worker, workerData } from "node:worker_threads";
import { closeConnections, openConnections } from "./connections.js";
import { LoadGenerator, type Metronome } from "./load.js";
import { tick, type Schedule } from "./open-loop.js";
import type { ControlMessage, WorkerConfig, WorkerMessage } from "./types.js";

// This thread never shows a stack (failures go back as messages): capturing one for an error that is
// only counted would be CPU taken from the load.
Error.stackTraceLimit = 0;

const port = parentPort!;

interface MetronomeData {
  role: "metronome";
  ctl: SharedArrayBuffer;
}

if ((workerData as Partial<MetronomeData>).role === "metronome") {
  const { ctl } = workerData as MetronomeData;
  port.once("message", (s: Schedule) => {
    tick(new Int32Array(ctl), s);
    port.close();
  });
} else await shareThread(workerData as WorkerConfig);

async function shareThread(cfg: WorkerConfig): Promise<void> {
  const post = (m: WorkerMessage) => port.postMessage(m);
  let ncs;
  try {
    ncs = await openConnections(cfg);
  } catch (err) {
    post({ type: "failed", message: (err as Error).message });
    port.close();
    return;
  }
  const connections = ncs;
  const gen = new LoadGenerator(ncs, cfg, (p) => post(p));
  let clock: Worker | undefined;
  if (cfg.mode === "open") {
    const ctl = new SharedArrayBuffer(8);
    clock = new Worker(new URL(import.meta.url), { workerData: { role: "metronome", ctl } satisfies MetronomeData });
    clock.on("error", (e) => post({ type: "failed", message: `bench metronome failed: ${e.message}` }));
    const m: Metronome = { ctl: new Int32Array(ctl), start: (s) => clock!.postMessage(s) };
    gen.attachMetronome(m);
  }
  port.on("message", (m: ControlMessage) => {
    if (m.type === "stop") gen.stop();
    else if (m.type === "start") {
      // the main thread gives wall-clock time; each thread has its own performance.now() origin
      void gen
        .run(m.startAt - performance.timeOrigin)
        .then(
          (result) => port.postMessage(result, result.sampleReply ? [result.sampleReply.buffer as ArrayBuffer] : []),
          (err: Error) => post({ type: "failed", message: err.message }),
        )
        .finally(async () => {
          await clock?.terminate();
          await closeConnections(connections);
          port.close();
        });
    }
  });
  post({ type: "ready" });
}
