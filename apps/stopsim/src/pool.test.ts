// The process pool: results in job order whatever order the jobs finished in, progress after each
// job, an abort before or during the run keeping what finished, a failing job failing the run, the
// worker count and its refusals. The serial path runs the jobs given to `runJob` (replaced here by
// a recording double for the ordering and abort cases); the process path runs real jobs in real
// worker processes (the built dist/pool-worker.js).
import { execFileSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { NS_PER_MS } from "@stopsim/engine";
import { afterEach, describe, expect, it, vi } from "vitest";
import { UsageError } from "./errors.js";
import type { SweepJob } from "./jobs.js";
import * as jobs from "./jobs.js";
import { LIMITS } from "./limits.js";
import { builtModule, defaultWorkers, parseWorkers, runJobs, workerExecArgv } from "./pool.js";
import { runSweepTask } from "./sweep-task.js";
import { usageMessage } from "./test-helpers/usage.js";

vi.mock("./jobs.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("./jobs.js")>();
  return { ...real, runJob: vi.fn(real.runJob) };
});

const runJob = vi.mocked(jobs.runJob);

/** A sweep job of one seed; the recording double answers with its seed. */
const job = (seed: number, durationNs = NS_PER_MS): SweepJob => ({
  kind: "sweep",
  task: { host: "dd2.3", design: "spapr-cap", durationNs, workload: "timers", seeds: [seed] },
});

function recording(): string[] {
  const log: string[] = [];
  runJob.mockImplementation(async (j) => {
    const seed = (j as SweepJob).task.seeds[0];
    log.push(`run ${seed}`);
    return [{ seed }] as never;
  });
  return log;
}

/** This process's pool worker processes still running. */
function poolWorkers(): string[] {
  try {
    return execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(process.pid)], { encoding: "utf8" })
      .split("\n")
      .filter((l) => l.includes("pool-worker.js"));
  } catch {
    return []; // ps exits 1 when there is no child
  }
}

afterEach(() => {
  runJob.mockReset();
  const real = vi.importActual<typeof import("./jobs.js")>("./jobs.js");
  runJob.mockImplementation(async (j) => (await real).runJob(j));
});

describe("worker counts", () => {
  it("--workers: every core by default, else a whole number from 1 to the limit", () => {
    expect(defaultWorkers()).toBe(availableParallelism());
    expect(parseWorkers(undefined)).toBe(defaultWorkers());
    expect(parseWorkers("1")).toBe(1);
    expect(parseWorkers(String(LIMITS.workers))).toBe(LIMITS.workers);
    expect(usageMessage(() => parseWorkers("0"))).toBe(
      `--workers 0 is out of range: use 1 to ${LIMITS.workers.toLocaleString("en")}`,
    );
    expect(usageMessage(() => parseWorkers("1.5"))).toBe(
      `--workers must be a whole number from 1 to ${LIMITS.workers}, got '1.5'`,
    );
  });

  it("the workers' Node options: single-threaded V8 only when the workers take every core", () => {
    expect(workerExecArgv(2, 2)).toEqual(["--single-threaded"]);
    expect(workerExecArgv(3, 2)).toEqual(["--single-threaded"]);
    expect(workerExecArgv(1, 2)).toEqual([]);
    expect(workerExecArgv(defaultWorkers())).toEqual(["--single-threaded"]);
  });

  it("refuses a worker count that is not a positive whole number", async () => {
    for (const workers of [0, -1, 1.5, Number.NaN]) {
      await expect(runJobs([job(1), job(2)], { workers })).rejects.toThrow(
        new UsageError(`pool: workers must be a positive whole number, got ${String(workers)}`),
      );
    }
    expect(runJob).not.toHaveBeenCalled();
  });
});

describe("builtModule", () => {
  // the app's dist/ beside this src/ (in a mutation sandbox too, which copies both)
  const dist = (file: string) => fileURLToPath(new URL(`../dist/${file}`, import.meta.url));

  it("finds the built module beside the app's dist/ when running from the TypeScript source", () => {
    expect(builtModule("pool-worker.js", "pool")).toBe(dist("pool-worker.js"));
  });

  it("a module that was not built is a usage error naming the caller, the path and the fix", () => {
    const msg = usageMessage(() => builtModule("nope.js", "worker"));
    expect(msg).toBe(
      `worker: ${dist("nope.js")} does not exist; build the app first (pnpm --filter @stopsim/app build)`,
    );
  });
});

describe("serial pool (one worker)", () => {
  it("runs the jobs one after another in job order, reporting progress after each", async () => {
    const log = recording();
    const progress: string[] = [];
    const r = await runJobs([job(5), job(6), job(7)], {
      workers: 1,
      onProgress: (done, total) => {
        progress.push(`${done}/${total}`);
        log.push(`progress ${done}`);
      },
    });
    expect(r).toEqual({
      results: [[{ seed: 5 }], [{ seed: 6 }], [{ seed: 7 }]],
      done: 3,
      interrupted: false,
      workers: 1,
    });
    expect(log).toEqual(["run 5", "progress 1", "run 6", "progress 2", "run 7", "progress 3"]);
    expect(progress).toEqual(["1/3", "2/3", "3/3"]);
  });

  it("one job runs serially whatever the worker count; no jobs: an empty result", async () => {
    recording();
    expect(await runJobs([job(9)], { workers: 8 })).toEqual({
      results: [[{ seed: 9 }]],
      done: 1,
      interrupted: false,
      workers: 1,
    });
    expect(await runJobs([], { workers: 4 })).toEqual({
      results: [],
      done: 0,
      interrupted: false,
      workers: 1,
    });
  });

  it("an abort before the start runs nothing; an abort during the run keeps the jobs that finished", async () => {
    const log = recording();
    const before = new AbortController();
    before.abort();
    expect(await runJobs([job(1), job(2)], { workers: 1, signal: before.signal })).toEqual({
      results: [undefined, undefined],
      done: 0,
      interrupted: true,
      workers: 1,
    });
    expect(log).toEqual([]);
    const during = new AbortController();
    const r = await runJobs([job(1), job(2), job(3)], {
      workers: 1,
      signal: during.signal,
      onProgress: (done) => {
        if (done === 1) during.abort();
      },
    });
    expect(r).toEqual({
      results: [[{ seed: 1 }], undefined, undefined],
      done: 1,
      interrupted: true,
      workers: 1,
    });
    expect(log).toEqual(["run 1"]);
  });

  it("an abort from a signal handler between two jobs is seen before the next job starts", async () => {
    const log = recording();
    const ac = new AbortController();
    runJob.mockImplementation(async (j) => {
      const seed = (j as SweepJob).task.seeds[0];
      log.push(`run ${seed}`);
      // a Ctrl-C handler runs on a later turn of the event loop, after the job returned
      setImmediate(() => ac.abort());
      return [{ seed }] as never;
    });
    const r = await runJobs([job(1), job(2)], { workers: 1, signal: ac.signal });
    expect(r.results).toEqual([[{ seed: 1 }], undefined]);
    expect(r.interrupted).toBe(true);
    expect(log).toEqual(["run 1"]);
  });

  it("a failing job fails the run", async () => {
    runJob.mockImplementation(async () => {
      throw new Error("the guest panicked");
    });
    await expect(runJobs([job(1)], { workers: 1 })).rejects.toThrow("the guest panicked");
  });

  it("a queue address sends the jobs to the queue instead (its address is checked first)", async () => {
    recording();
    await expect(runJobs([job(1)], { workers: 1, queue: "http://127.0.0.1:6379" })).rejects.toThrow(
      /--queue: 'http:\/\/127\.0\.0\.1:6379' is not a redis:\/\/ URL/,
    );
    expect(runJob).not.toHaveBeenCalled();
  });
});

describe("process pool (worker processes running dist/pool-worker.js)", () => {
  it("gives the results in job order although a later job finished first, with progress after each", async () => {
    // job 0 is many times longer than job 1: on two workers job 1 finishes first
    const slow = job(3, 30 * NS_PER_MS);
    const fast = job(4, NS_PER_MS);
    const progress: string[] = [];
    const r = await runJobs([slow, fast], {
      workers: 2,
      onProgress: (done, total) => progress.push(`${done}/${total}`),
    });
    expect(r.workers).toBe(2);
    expect(r.interrupted).toBe(false);
    expect(r.done).toBe(2);
    expect(r.results).toEqual([runSweepTask(slow.task), runSweepTask(fast.task)]);
    expect(progress).toEqual(["1/2", "2/2"]);
    expect(runJob).not.toHaveBeenCalled(); // in the workers, not here
    // the workers were ended once every job had finished
    expect(poolWorkers()).toEqual([]);
  }, 60_000);

  it("uses no more workers than there are jobs", async () => {
    const r = await runJobs([job(1), job(2)], { workers: 5 });
    expect(r.workers).toBe(2);
    expect(r.results.map((x) => x?.[0].seed)).toEqual([1, 2]);
  }, 60_000);

  it("a job failing in a worker fails the run with the worker's error", async () => {
    const bad = { kind: "nope" } as unknown as SweepJob;
    await expect(runJobs([job(1), bad], { workers: 2 })).rejects.toThrow(/no such kind of job: "nope"/);
    expect(poolWorkers()).toEqual([]);
  }, 60_000);

  it("an abort before the start ends the workers: nothing finished, interrupted", async () => {
    const ac = new AbortController();
    ac.abort();
    const progress: number[] = [];
    const r = await runJobs([job(1), job(2)], {
      workers: 2,
      signal: ac.signal,
      onProgress: (d) => progress.push(d),
    });
    expect(r).toEqual({ results: [undefined, undefined], done: 0, interrupted: true, workers: 2 });
    expect(progress).toEqual([]);
  }, 60_000);

  it("an abort during the run keeps the finished jobs and ends the workers running the others", async () => {
    const ac = new AbortController();
    const jobsToRun = [job(1, NS_PER_MS), job(2, 2000 * NS_PER_MS), job(3, 2000 * NS_PER_MS)];
    const r = await runJobs(jobsToRun, {
      workers: 2,
      signal: ac.signal,
      onProgress: (done) => {
        if (done === 1) ac.abort();
      },
    });
    expect(r.interrupted).toBe(true);
    expect(r.done).toBe(1);
    expect(r.results[0]).toEqual(runSweepTask(jobsToRun[0].task));
    expect(r.results.slice(1)).toEqual([undefined, undefined]);
    // the two 2 s runs (minutes of wall time each) were cut off, not waited for: the test's
    // timeout; their workers are killed (the kill is not awaited: wait for them to go)
    for (let i = 0; i < 200 && poolWorkers().length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(poolWorkers()).toEqual([]);
  }, 120_000);
});
