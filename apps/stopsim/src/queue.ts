// Sweeps beyond one machine: the same jobs the process pool runs (a matrix cell at a seed, a
// benchmark case at a seed, a fleet probe) go through a Redis-backed BullMQ queue, and
// `stopsim worker --queue redis://HOST:PORT` processes run them on any machine that reaches the
// server. The client adds the jobs, collects each result by its job id (job order, whatever the
// order they finished in) and so prints what a local run prints. A worker that dies mid-job holds
// the job's lock until it expires; then another worker's stalled-job check moves the job back to
// the wait list and it runs again (BullMQ's stalled jobs): nothing is lost.
import { randomUUID } from "node:crypto";
import { Worker as Thread } from "node:worker_threads";
import { Job as BullJob, type ConnectionOptions, Queue, QueueEvents, Worker } from "bullmq";
import { Redis } from "ioredis";
import { UsageError } from "./errors.js";
import type { Job, ResultOf } from "./jobs.js";
import { builtModule, type PoolOptions, type PoolResult } from "./pool.js";
import { DEFAULT_LOCK_MS, parseQueueUrl, type QueueAddress } from "./queue-url.js";

/** The BullMQ queue every stopsim client and worker uses on a server. */
export const QUEUE_NAME = "stopsim-jobs";

/** How long a connection attempt may take before the server counts as unreachable. */
export const CONNECT_TIMEOUT_MS = 3000;

/** A job may stall (its worker died) this many times before BullMQ fails it. */
const MAX_STALLED = 5;

function connection(a: QueueAddress): ConnectionOptions {
  // BullMQ's workers need maxRetriesPerRequest null (blocking commands are retried by BullMQ)
  return { host: a.host, port: a.port, maxRetriesPerRequest: null };
}

/**
 * Checks that a Redis server answers at `a` within CONNECT_TIMEOUT_MS, before any queue is made
 * (BullMQ itself would retry for ever): a usage error names the address and how to start one.
 */
export async function checkServer(a: QueueAddress, option = "--queue"): Promise<void> {
  const client = new Redis({
    host: a.host,
    port: a.port,
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on("error", () => {});
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      (async () => {
        await client.connect();
        const pong = await client.ping();
        if (pong !== "PONG") throw new Error(`PING answered ${pong}`);
      })(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer in ${CONNECT_TIMEOUT_MS} ms`)),
          CONNECT_TIMEOUT_MS,
        );
      }),
    ]);
  } catch (e) {
    const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
    throw new UsageError(
      `${option}: cannot reach a Redis server at ${a.host}:${a.port} (${why}); start one with \`redis-server --port ${a.port}\` there (Debian: apt-get install redis-server) or fix the address`,
    );
  } finally {
    if (timer) clearTimeout(timer);
    client.disconnect();
  }
}

/**
 * Runs `jobs` through the queue at `url` (workers elsewhere take them) and returns their results in
 * job order, as `runJobs` does. An aborted signal removes the jobs not started yet and returns what
 * finished.
 */
export async function runJobsOnQueue<J extends Job>(
  jobs: readonly J[],
  url: string,
  o: PoolOptions = {},
): Promise<PoolResult<ResultOf<J>>> {
  const address = parseQueueUrl(url);
  await checkServer(address);
  const results: (ResultOf<J> | undefined)[] = new Array(jobs.length).fill(undefined);
  if (jobs.length === 0) return { results, done: 0, interrupted: false, workers: 0 };
  const queue = new Queue(QUEUE_NAME, { connection: connection(address) });
  const events = new QueueEvents(QUEUE_NAME, { connection: connection(address) });
  const sweep = randomUUID();
  const ids = jobs.map((_, i) => `${sweep}-${i}`);
  const index = new Map(ids.map((id, i) => [id, i]));
  let done = 0;
  let failure: string | undefined;
  let wake: () => void = () => {};
  const settle = (id: string, value: unknown) => {
    const i = index.get(id);
    if (i === undefined || results[i] !== undefined) return;
    // BullMQ parses a job's return value both in its completed event and in Job.fromId
    results[i] = value as ResultOf<J>;
    done++;
    o.onProgress?.(done, jobs.length);
    wake();
  };
  events.on("completed", ({ jobId, returnvalue }) => settle(jobId, returnvalue));
  const fail = (id: string, reason: string) => {
    const i = index.get(id);
    if (i === undefined || failure !== undefined) return;
    failure = `job ${i} failed on a worker: ${reason}`;
    wake();
  };
  events.on("failed", ({ jobId, failedReason }) => fail(jobId, failedReason));
  let interrupted = false;
  const onAbort = () => {
    interrupted = true;
    wake();
  };
  o.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await events.waitUntilReady();
    await queue.addBulk(
      jobs.map((job, i) => ({
        name: job.kind,
        data: job,
        opts: {
          jobId: ids[i],
          removeOnComplete: { age: 3600 },
          removeOnFail: { age: 24 * 3600 },
        },
      })),
    );
    // events say when a job finished; a look at the jobs themselves now and then catches any
    // event the connection missed
    let sinceCheck = 0;
    while (done < jobs.length && !interrupted && failure === undefined) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 1000);
      });
      if (++sinceCheck >= 5 && done < jobs.length) {
        sinceCheck = 0;
        for (const [i, id] of ids.entries()) {
          if (results[i] !== undefined) continue;
          const j = await BullJob.fromId(queue, id);
          // finished: completed with its result, or failed with its reason
          if (j?.finishedOn === undefined) continue;
          if (j.failedReason === undefined) settle(id, j.returnvalue);
          else fail(id, j.failedReason);
        }
      }
    }
    if (failure !== undefined) throw new Error(failure);
    if (interrupted) {
      // the jobs nobody has taken yet go; a job a worker is running finishes there unseen
      for (const [i, id] of ids.entries()) {
        if (results[i] !== undefined) continue;
        const j = await BullJob.fromId(queue, id);
        if (j && (await j.isWaiting())) await j.remove();
      }
    }
  } finally {
    o.signal?.removeEventListener("abort", onAbort);
    await events.close();
    await queue.close();
  }
  return { results, done, interrupted, workers: 0 };
}

/**
 * One thread that runs jobs one after another, off the worker's main thread. A thread that dies
 * (an uncaught error, out of memory, terminated) fails the job it was running with the reason, and
 * the next job starts a new thread.
 */
function jobThread(): { run: (job: Job) => Promise<unknown>; close: () => Promise<void> } {
  type Waiting = Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>;
  const start = () => {
    const thread = new Thread(builtModule("queue-thread.js", "worker"));
    const waiting: Waiting = new Map();
    const self = { thread, waiting };
    thread.on("message", (m: { id: number; ok: boolean; result?: unknown; error?: string }) => {
      const w = waiting.get(m.id);
      waiting.delete(m.id);
      if (m.ok) w?.resolve(m.result);
      else w?.reject(new Error(m.error ?? "job failed"));
    });
    // an uncaught error comes first, then the exit: the job it was running fails with the first
    const die = (e: Error) => {
      if (current === self) current = undefined;
      for (const w of waiting.values()) w.reject(e);
      waiting.clear();
    };
    thread.on("error", die);
    thread.on("exit", (code) => die(new Error(`the job thread exited with code ${code}`)));
    return self;
  };
  // started now, so the job code loads while the worker waits for its first job
  let current: { thread: Thread; waiting: Waiting } | undefined = start();
  let next = 0;
  return {
    run: (job) =>
      new Promise((resolve, reject) => {
        current ??= start();
        const id = next++;
        current.waiting.set(id, { resolve, reject });
        current.thread.postMessage({ id, job });
      }),
    close: async () => {
      const c = current;
      current = undefined;
      await c?.thread.terminate();
    },
  };
}

export interface QueueWorkerOptions {
  /** The job lock (ms): a job whose worker died runs again after it (and the stalled check). */
  lockMs?: number;
  /** Called as each job starts and ends (the `worker` command logs them). */
  onJob?: (event: "start" | "done", id: string, kind: string) => void;
}

/**
 * A worker process's BullMQ worker: takes one job at a time from the queue at `url` and runs it
 * here (`runJob`, the body of a pool worker too). Returns a function that closes it (after the job
 * it is running).
 */
export async function startQueueWorker(
  url: string,
  o: QueueWorkerOptions = {},
): Promise<() => Promise<void>> {
  const address = parseQueueUrl(url);
  await checkServer(address);
  const lockMs = o.lockMs ?? DEFAULT_LOCK_MS;
  const thread = jobThread();
  const worker = new Worker(
    QUEUE_NAME,
    async (job) => {
      const data = job.data as Job;
      o.onJob?.("start", String(job.id), data.kind);
      // on the job thread: this thread keeps renewing the job's lock while it runs
      const r = await thread.run(data);
      o.onJob?.("done", String(job.id), data.kind);
      return r;
    },
    {
      connection: connection(address),
      concurrency: 1,
      lockDuration: lockMs,
      // every worker looks for jobs whose worker died (lock expired) this often
      stalledInterval: lockMs,
      maxStalledCount: MAX_STALLED,
    },
  );
  worker.on("error", () => {});
  await worker.waitUntilReady();
  return async () => {
    await worker.close();
    await thread.close();
  };
}
