// A share of the load on a worker thread of its own. (Running one share on the main thread was tried:
// in the CLI's isolate, with oclif loaded, a request cost more CPU than on a worker.)
import { Worker } from "node:worker_threads";
import { OperationError } from "../output/errors.js";
import type { WorkerConfig, WorkerMessage, WorkerProgress, WorkerResult } from "./types.js";

export interface LoadShare {
  /** connected and waiting for start() */
  ready: Promise<void>;
  /** begin at `startAt`, wall-clock ms */
  start(startAt: number): void;
  stop(): void;
  result: Promise<WorkerResult>;
  /** release the thread and connections; `abandon` skips waiting for a clean exit */
  close(abandon: boolean): Promise<void>;
}

type OnProgress = (p: WorkerProgress) => void;

export function workerThreadShare(file: string, cfg: WorkerConfig, onProgress: OnProgress): LoadShare {
  const w = new Worker(file, { workerData: cfg });
  let started = false;
  let settleReady!: { resolve(): void; reject(e: Error): void };
  const ready = new Promise<void>((resolve, reject) => (settleReady = { resolve, reject }));
  const result = new Promise<WorkerResult>((resolve, reject) => {
    const fail = (e: Error) => (started ? reject(e) : settleReady.reject(e));
    w.on("message", (m: WorkerMessage) => {
      if (m.type === "ready") {
        started = true;
        settleReady.resolve();
      } else if (m.type === "progress") onProgress(m);
      else if (m.type === "done") resolve(m);
      else if (m.type === "failed")
        fail(new OperationError(m.message, { hint: "check the NATS server and the connection settings" }));
    });
    w.on("error", (e) => fail(e));
    w.on("exit", (code) => fail(new Error(`bench worker exited (code ${code}) before reporting`)));
  });
  // a result may fail before anyone awaits it (a worker dying during start-up)
  result.catch(() => {});
  return {
    ready,
    start: (startAt) => w.postMessage({ type: "start", startAt }),
    stop: () => w.postMessage({ type: "stop" }),
    result,
    close: (abandon) => (abandon ? w.terminate().then(() => {}) : exitOrTerminate(w)),
  };
}

/** Workers close their connections and exit on their own; one that does not is ended after a grace period. */
function exitOrTerminate(w: Worker): Promise<void> {
  return new Promise((resolve) => {
    if (w.threadId === -1) return resolve();
    const timer = setTimeout(() => void w.terminate().then(() => resolve()), 1000);
    w.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
