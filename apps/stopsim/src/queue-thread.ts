// The thread a `stopsim worker` runs its jobs on: a job is seconds of synchronous simulation, and
// while it runs the worker's main thread must stay free to renew the job's lock in Redis (BullMQ
// renews it every half lock period); otherwise a long job would look like one whose worker died.
import { parentPort } from "node:worker_threads";
import { type Job, runJob } from "./jobs.js";

parentPort?.on("message", async (m: { id: number; job: Job }) => {
  try {
    parentPort?.postMessage({ id: m.id, ok: true, result: await runJob(m.job) });
  } catch (e) {
    parentPort?.postMessage({
      id: m.id,
      ok: false,
      error: e instanceof Error ? (e.stack ?? e.message) : String(e),
    });
  }
});
