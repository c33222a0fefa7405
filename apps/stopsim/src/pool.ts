// The process pool of sweeps: independent full-stack runs (one seed of a matrix cell, of a
// benchmark case, of a fleet probe) spread over worker processes (workerpool, workerType
// "process": child_process.fork). Separate processes, because worker threads of one process were
// measured to contend. Results come back in job order whatever the order they finished in, so a
// pooled run gives exactly what a serial run gives. An abort signal (Ctrl-C) stops the pool: the
// workers are ended, and the jobs that finished are reported.
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import workerpool from "workerpool";
import { parseCount } from "./commands/args.js";
import { UsageError } from "./errors.js";
import { type Job, type ResultOf, runJob } from "./jobs.js";
import { LIMITS } from "./limits.js";

export interface PoolOptions {
  /** Worker processes; 1 runs every job in this process, one after another (default: every core). */
  workers?: number;
  /** Called after each finished job with the count finished so far. */
  onProgress?: (done: number, total: number) => void;
  /** Aborting stops the pool; the result then holds the jobs that had finished. */
  signal?: AbortSignal;
  /**
   * A Redis server (redis://HOST:PORT): the jobs go through its BullMQ queue to `stopsim worker`
   * processes anywhere instead of to worker processes here (queue.ts).
   */
  queue?: string;
}

export interface PoolResult<R> {
  /** One entry per job, in job order; undefined for a job that did not finish (interrupted). */
  results: (R | undefined)[];
  done: number;
  interrupted: boolean;
  workers: number;
}

/** Worker processes by default: every core the OS offers. */
export function defaultWorkers(): number {
  return availableParallelism();
}

/** `--workers`: a positive whole number of worker processes. */
export function parseWorkers(text: string | undefined): number {
  if (text === undefined) return defaultWorkers();
  return parseCount(text, "--workers", 1, LIMITS.workers);
}

/**
 * A built module of the app (`file`, e.g. "pool-worker.js"), also when this module runs from its
 * TypeScript source (tests, tsx): a forked process or a worker thread of Node 20 does not inherit a
 * TypeScript loader, so it always loads dist/. `who` names the caller in the error.
 */
export function builtModule(file: string, who: string): string {
  const here = import.meta.url;
  const url = here.endsWith(".ts") ? new URL(`../dist/${file}`, here) : new URL(`./${file}`, here);
  const path = fileURLToPath(url);
  if (!existsSync(path)) {
    throw new UsageError(
      `${who}: ${path} does not exist; build the app first (pnpm --filter @stopsim/app build)`,
    );
  }
  return path;
}

/**
 * Node options of the worker processes. When the workers take every core, V8's helper threads of
 * one worker (parallel and concurrent GC, concurrent TurboFan and Sparkplug compiling) only take
 * CPU from the others and add their own synchronisation: each worker collects and compiles on its
 * own thread (`--single-threaded`). Measured on 2 cores against `--single-threaded-gc` alone (the
 * option before), alternated: a 1,000-seed boot sweep 5.7-6.2 s vs 6.8-7.7 s on the pool
 * (11.2-12.2 vs 13.3-15.2 s of CPU), `stopsim matrix --seeds 4` 9.6 vs 10.1 s, `stopsim bench
 * wakeup` 5.1 vs 5.5 s. With cores to spare the defaults stay.
 */
export function workerExecArgv(workers: number, cores = availableParallelism()): string[] {
  return workers >= cores ? ["--single-threaded"] : [];
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function runSerial<J extends Job>(
  jobs: readonly J[],
  o: PoolOptions,
): Promise<PoolResult<ResultOf<J>>> {
  const results: (ResultOf<J> | undefined)[] = new Array(jobs.length).fill(undefined);
  let done = 0;
  for (const [i, job] of jobs.entries()) {
    // a turn of the event loop between runs lets a SIGINT handler abort
    await nextTurn();
    if (o.signal?.aborted) return { results, done, interrupted: true, workers: 1 };
    results[i] = await runJob(job);
    done++;
    o.onProgress?.(done, jobs.length);
  }
  return { results, done, interrupted: false, workers: 1 };
}

/** Runs every job, on `workers` processes (or here, one after another, with workers = 1). */
export async function runJobs<J extends Job>(
  jobs: readonly J[],
  o: PoolOptions = {},
): Promise<PoolResult<ResultOf<J>>> {
  if (o.queue !== undefined) {
    // loaded only for a queue: the pool's worker processes never need BullMQ
    const { runJobsOnQueue } = await import("./queue.js");
    return runJobsOnQueue(jobs, o.queue, o);
  }
  const workers = Math.min(o.workers ?? defaultWorkers(), Math.max(1, jobs.length));
  if (!Number.isSafeInteger(workers) || workers < 1) {
    throw new UsageError(`pool: workers must be a positive whole number, got ${String(o.workers)}`);
  }
  if (workers === 1) return runSerial(jobs, o);
  const results: (ResultOf<J> | undefined)[] = new Array(jobs.length).fill(undefined);
  // aborted already (Ctrl-C before this sweep began): start no worker (a terminated workerpool
  // pool starts new workers for the jobs given to it afterwards, which would run every job)
  if (o.signal?.aborted) return { results, done: 0, interrupted: true, workers };
  const pool = workerpool.pool(builtModule("pool-worker.js", "pool"), {
    workerType: "process",
    maxWorkers: workers,
    // the worker ignores SIGINT itself (pool-worker.ts): this process decides when it ends
    forkOpts: { stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv: workerExecArgv(workers) },
  });
  let done = 0;
  let interrupted = false;
  const stop = () => {
    interrupted = true;
    void pool.terminate(true);
  };
  o.signal?.addEventListener("abort", stop, { once: true });
  try {
    await Promise.all(
      jobs.map(async (job, i) => {
        try {
          const r = (await pool.exec("run", [job])) as ResultOf<J>;
          results[i] = r;
          done++;
          o.onProgress?.(done, jobs.length);
        } catch (e) {
          // a job cut off by the abort is simply not finished; any other failure is real
          if (!interrupted) throw e;
        }
      }),
    );
  } finally {
    o.signal?.removeEventListener("abort", stop);
    if (!interrupted) await pool.terminate();
  }
  return { results, done, interrupted, workers };
}
