// The jobs a sweep hands to its worker processes: plain data in, plain data out (they cross a
// process boundary as JSON), each one a whole full-stack simulation of its own seed.

import {
  BENCH_CASES,
  type BenchCase,
  benchRateCase,
  benchWakeupCase,
  type RateBench,
  type RateEntry,
  type WakeupEntry,
} from "./bench.js";
import { type MatrixCell, type MatrixSeedResult, runMatrixCell } from "./matrix.js";
import type { DesignSpec, HostPreset } from "./presets.js";
import { type ProbeCase, type ProbeResult, type ProbeRunOptions, runProbeCase } from "./probe.js";
import type { GuestOptions } from "./run.js";
import { runSweepTask, type SweepSample, type SweepTask } from "./sweep.js";

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

/** Runs one job in this process (the serial path, and the body of every worker process). */
export function runJob<J extends Job>(job: J): ResultOf<J>;
export function runJob(job: Job): JobResults[Job["kind"]] {
  switch (job.kind) {
    case "cell":
      return runMatrixCell(job.cell, {
        seed: job.seed,
        durationNs: job.durationNs,
        guest: job.guest,
        hosts: job.hosts,
        designs: job.designs,
      });
    case "sweep":
      return runSweepTask(job.task);
    case "wakeup":
      return benchWakeupCase(benchCase(job.caseIndex), job.seed, job.samples);
    case "rate":
      return benchRateCase(job.what, benchCase(job.caseIndex), job.seed, job.windowNs);
    case "probe":
      return runProbeCase(job.probe, job.options);
  }
}

function benchCase(i: number): BenchCase {
  const c = BENCH_CASES[i];
  if (c === undefined) throw new RangeError(`no benchmark case ${i} (there are ${BENCH_CASES.length})`);
  return c;
}
