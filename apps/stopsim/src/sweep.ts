// Monte-Carlo seed sweeps: the same full-stack boot (firmware -> host kernel -> QEMU -> guest,
// then idle under a workload) once per seed, summarised. Seeds are independent simulations, so a
// sweep spreads them over a pool of worker processes (pool.ts) and merges the samples in seed
// order: the result is the same whichever way it ran.
import { UsageError } from "./errors.js";
import { RUN_OUTCOMES, type RunOutcome } from "./fleet.js";
import { runJobs } from "./pool.js";
import { DEFAULT_GUEST, type WorkloadName } from "./run.js";
import { runSweepTask, type SweepSample, type SweepTask } from "./sweep-task.js";

export { runSweepTask, type SweepSample, type SweepTask, sweepSample } from "./sweep-task.js";

export interface SweepOptions {
  /** Host preset name (e.g. "dd2.3"). */
  host: string;
  /** Design name (e.g. "spapr-cap"). */
  design: string;
  /** Number of seeds: firstSeed, firstSeed + 1, ... */
  seeds: number;
  firstSeed?: number;
  /** Simulated idle time after QEMU starts, per seed. */
  durationNs: number;
  workload?: WorkloadName;
}

export interface Distribution {
  min: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export interface SweepResult {
  host: string;
  design: string;
  seeds: number;
  outcomes: Record<RunOutcome, number>;
  idleEntries: Distribution;
  kvmExits: Distribution;
  /** Every seed's sample, in seed order. */
  samples: SweepSample[];
}

function checkOptions(o: SweepOptions): void {
  if (!Number.isInteger(o.seeds) || o.seeds < 1) {
    throw new UsageError(`sweep: seeds must be a positive integer, got ${String(o.seeds)}`);
  }
  if (!(o.durationNs > 0) || !Number.isFinite(o.durationNs)) {
    throw new UsageError(`sweep: duration must be a positive number of ns, got ${String(o.durationNs)}`);
  }
}

/** The tasks of a sweep: consecutive seeds in chunks of `chunk`. */
export function sweepTasks(o: SweepOptions, chunk: number): SweepTask[] {
  checkOptions(o);
  const first = o.firstSeed ?? 1;
  const tasks: SweepTask[] = [];
  for (let i = 0; i < o.seeds; i += chunk) {
    const seeds: number[] = [];
    for (let k = i; k < Math.min(i + chunk, o.seeds); k++) seeds.push(first + k);
    tasks.push({
      host: o.host,
      design: o.design,
      durationNs: o.durationNs,
      workload: o.workload ?? DEFAULT_GUEST.workload,
      seeds,
    });
  }
  return tasks;
}

function distribution(values: number[]): Distribution {
  const v = [...values].sort((a, b) => a - b);
  const at = (q: number) => v[Math.min(v.length - 1, Math.floor(q * v.length))];
  return {
    min: v[0],
    p50: at(0.5),
    p99: at(0.99),
    max: v[v.length - 1],
    mean: v.reduce((a, x) => a + x, 0) / v.length,
  };
}

/** Merges samples (any order) into the sweep's result. */
export function summariseSweep(o: SweepOptions, samples: SweepSample[]): SweepResult {
  const sorted = [...samples].sort((a, b) => a.seed - b.seed);
  const outcomes = Object.fromEntries(RUN_OUTCOMES.map((k) => [k, 0])) as Record<RunOutcome, number>;
  for (const s of sorted) outcomes[s.outcome]++;
  return {
    host: o.host,
    design: o.design,
    seeds: sorted.length,
    outcomes,
    idleEntries: distribution(sorted.map((s) => s.idleEntries)),
    kvmExits: distribution(sorted.map((s) => s.kvmExits)),
    samples: sorted,
  };
}

/** The sweep on this thread, one seed after another. */
export function runSweepSerial(o: SweepOptions): SweepResult {
  return summariseSweep(o, sweepTasks(o, o.seeds).flatMap(runSweepTask));
}

/** The sweep over a pool of worker processes (pool.ts); the same result as `runSweepSerial`. */
export async function runSweepPool(
  o: SweepOptions,
  pool: { workers?: number; chunk?: number; signal?: AbortSignal } = {},
): Promise<SweepResult> {
  const tasks = sweepTasks(o, pool.chunk ?? 10);
  const r = await runJobs(
    tasks.map((task) => ({ kind: "sweep" as const, task })),
    { workers: pool.workers, signal: pool.signal },
  );
  return summariseSweep(
    o,
    r.results.flatMap((x) => x ?? []),
  );
}
