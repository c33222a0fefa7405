// The jobs a sweep hands to its worker processes: plain data in, plain data out (they cross a
// process boundary as JSON), each one a whole full-stack simulation of its own seed. Each kind's
// code is loaded when the first job of that kind runs.

import type { BenchCase, RateBench, RateEntry, WakeupEntry } from "./bench.js";
import type { MatrixCell, MatrixSeedResult } from "./matrix.js";
import type { DesignSpec, HostPreset } from "./presets.js";
import type { ProbeCase, ProbeResult, ProbeRunOptions } from "./probe.js";
import type { GuestOptions } from "./run.js";
import type { SweepSample, SweepTask } from "./sweep-task.js";

/** One seed of one matrix cell. */
export interface CellJob {
  kind: "cell";
  cell: MatrixCell;
  seed: number | string;
  durationNs: number;
  guest: Partial<GuestOptions>;
  hosts?: readonly HostPreset[];
  designs?: readonly DesignSpec[];
}

/** A run of consecutive seeds of a boot sweep. */
export interface SweepJob {
  kind: "sweep";
  task: SweepTask;
}

/** One benchmark case's wakeup latencies at one seed. */
export interface WakeupJob {
  kind: "wakeup";
  caseIndex: number;
  seed: number | string;
  samples: number;
}

/** One benchmark case's ebizzy or context_switch2 rate at one seed. */
export interface RateJob {
  kind: "rate";
  what: RateBench;
  caseIndex: number;
  seed: number | string;
  windowNs: number;
}

/** One fleet probe: a boot or migration case at one seed. */
export interface ProbeJob {
  kind: "probe";
  probe: ProbeCase;
  options: ProbeRunOptions;
}

export type Job = CellJob | SweepJob | WakeupJob | RateJob | ProbeJob;

export interface JobResults {
  cell: MatrixSeedResult;
  sweep: SweepSample[];
  wakeup: WakeupEntry;
  rate: RateEntry;
  probe: ProbeResult;
}

export type ResultOf<J extends Job> = JobResults[J["kind"]];

type JobOfKind<K extends Job["kind"]> = Extract<Job, { kind: K }>;

/** Runs one kind of job in this process. */
export type JobRunner<K extends Job["kind"]> = (job: JobOfKind<K>) => JobResults[K];

/**
 * Each kind's runner, loading only the modules that kind needs: a worker process that runs sweep
 * jobs loads the simulation's layers but not the matrix's, the benchmark's or the fleet's code
 * (nor zod, yaml, ...), which is less start-up per worker.
 */
const LOADERS: { [K in Job["kind"]]: () => Promise<JobRunner<K>> } = {
  cell: async () => {
    const { runMatrixCell } = await import("./matrix.js");
    return (job) =>
      runMatrixCell(job.cell, {
        seed: job.seed,
        durationNs: job.durationNs,
        guest: job.guest,
        hosts: job.hosts,
        designs: job.designs,
      });
  },
  sweep: async () => {
    const { runSweepTask } = await import("./sweep-task.js");
    return (job) => runSweepTask(job.task);
  },
  wakeup: async () => {
    const { BENCH_CASES, benchWakeupCase } = await import("./bench.js");
    return (job) => benchWakeupCase(benchCase(BENCH_CASES, job.caseIndex), job.seed, job.samples);
  },
  rate: async () => {
    const { BENCH_CASES, benchRateCase } = await import("./bench.js");
    return (job) => benchRateCase(job.what, benchCase(BENCH_CASES, job.caseIndex), job.seed, job.windowNs);
  },
  probe: async () => {
    const { runProbeCase } = await import("./probe.js");
    return (job) => runProbeCase(job.probe, job.options);
  },
};

const loaded: { [K in Job["kind"]]?: JobRunner<K> } = {};

/** The runner of one kind of job (its modules loaded on first use). */
export async function loadJobRunner<K extends Job["kind"]>(kind: K): Promise<JobRunner<K>> {
  const known = loaded[kind];
  if (known !== undefined) return known;
  const loader = LOADERS[kind] as (() => Promise<JobRunner<K>>) | undefined;
  if (loader === undefined) throw new TypeError(`no such kind of job: ${JSON.stringify(kind)}`);
  const runner = await loader();
  (loaded as Record<string, unknown>)[kind] = runner;
  return runner;
}

/** Runs one job in this process (the serial path, and the body of every worker process). */
export async function runJob<J extends Job>(job: J): Promise<ResultOf<J>> {
  const run = (await loadJobRunner(job.kind)) as unknown as (job: J) => ResultOf<J>;
  return run(job);
}

function benchCase(cases: readonly BenchCase[], i: number): BenchCase {
  const c = cases[i];
  if (c === undefined) throw new RangeError(`no benchmark case ${i} (there are ${cases.length})`);
  return c;
}
