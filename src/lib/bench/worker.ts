// Entry of a bench worker thread (bundled to dist/lib/bench/worker.js): its own NATS connections,
// its share of the load, and an HDR histogram it hands back encoded.
import { parentPort, workerData } from "node:worker_threads";
import { closeConnections, openConnections } from "./connections.js";
import { LoadGenerator } from "./load.js";
import type { ControlMessage, WorkerConfig, WorkerMessage } from "./types.js";

// This thread never shows a stack (failures go back as messages): capturing one for an error that is
// only counted would be CPU taken from the load.
Error.stackTraceLimit = 0;

const port = parentPort!;
const cfg = workerData as WorkerConfig;
const post = (m: WorkerMessage) => port.postMessage(m);

try {
  const ncs = await openConnections(cfg);
  const gen = new LoadGenerator(ncs, cfg, (p) => post(p));
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
          await closeConnections(ncs);
          port.close();
        });
    }
  });
  post({ type: "ready" });
} catch (err) {
  post({ type: "failed", message: (err as Error).message });
  port.close();
}
