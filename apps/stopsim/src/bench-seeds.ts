// The thread's benchmarks over many seeds: every (case, seed) is one full-stack run on the process
// pool; each case's figure is the median over the seeds of that seed's figure, with an
// order-statistics confidence interval (interval.ts), next to the figure the thread measured.
import { BENCH_CASES, type LatencyStats, type RateBench } from "./bench.js";
import { CI_METHOD, type MedianInterval, medianInterval } from "./interval.js";
import type { RateJob, WakeupJob } from "./jobs.js";
import { type PoolOptions, runJobs } from "./pool.js";

/**
 * Wakeup latency medians in ns measured on POWER9 by the thread ("[RFC/PATCH 0/3] Add support for
 * stop instruction inside KVM guest", G. R. Shenoy, linuxppc-dev, 2020-03-31; DOMAIN.md section 6):
 * guest smp 8 (1 socket x 2 cores x 4 threads), each vCore bound to a physical core.
 */
export const THREAD_WAKEUP_MEDIANS_NS: Readonly<Record<string, { timer: number; ipi: number }>> = {
  snooze: { timer: 938, ipi: 2259 },
  stop0lite: { timer: 948, ipi: 2653 },
  "stop0lite (emulated)": { timer: 5006, ipi: 5596 },
  "Shared CEDE": { timer: 29219, ipi: 21827 },
};

/** The thread's ebizzy figure (records/s, one thread, three idle siblings; DOMAIN.md section 6). */
export const THREAD_EBIZZY_RECORDS_PER_S: Readonly<Record<string, number>> = {
  snooze: 1_379_032,
  stop0lite: 1_561_906,
};

export interface SeedsRun {
  seeds: (number | string)[];
  /** How each interval was made. */
  method: string;
  runs: { done: number; total: number };
  interrupted: boolean;
}

export interface WakeupSeed {
  seed: number | string;
  guestState: string;
  timer: LatencyStats;
  ipi: LatencyStats;
  emulatedStops: number;
}

export interface WakeupVerdict {
  state: string;
  host: string;
  /** The thread's medians, ns. */
  thread: { timer: number; ipi: number } | null;
  /** Median over the seeds of each seed's median, with its interval, ns. */
  timer: MedianInterval;
  ipi: MedianInterval;
  /** Every seed's run, in seed-list order (the per-seed samples are in `samplesNs`). */
  seeds: WakeupSeed[];
}

export interface WakeupSeedsResult extends SeedsRun {
  samples: number;
  states: WakeupVerdict[];
  /** Every sample of every seed per case (for histograms), not printed by --json. */
  samplesNs: { timer: number[]; ipi: number[] }[];
}

/** Per case, the finished runs of a pool's results (case-major, seed-minor) with their seeds. */
function byCase<R>(
  results: readonly (R | undefined)[],
  seeds: readonly (number | string)[],
): { seed: number | string; r: R }[][] {
  return BENCH_CASES.map((_, i) =>
    results
      .slice(i * seeds.length, (i + 1) * seeds.length)
      .flatMap((r, k) => (r === undefined ? [] : [{ seed: seeds[k], r }])),
  );
}

/** `stopsim bench wakeup --seeds ...`: each case's wakeup latency over the seeds. */
export async function benchWakeupSeeds(
  seeds: readonly (number | string)[],
  samples: number,
  pool: PoolOptions = {},
): Promise<WakeupSeedsResult> {
  const jobs: WakeupJob[] = BENCH_CASES.flatMap((_, caseIndex) =>
    seeds.map((seed): WakeupJob => ({ kind: "wakeup", caseIndex, seed, samples })),
  );
  const r = await runJobs(jobs, pool);
  const states: WakeupVerdict[] = [];
  const samplesNs: WakeupSeedsResult["samplesNs"] = [];
  for (const [i, done] of byCase(r.results, seeds).entries()) {
    if (done.length === 0) continue;
    const c = BENCH_CASES[i];
    const runs = done.map((d) => d.r);
    states.push({
      state: c.label,
      host: c.host,
      thread: THREAD_WAKEUP_MEDIANS_NS[c.label] ?? null,
      timer: medianInterval(runs.map((e) => e.timer.median)),
      ipi: medianInterval(runs.map((e) => e.ipi.median)),
      seeds: done.map(({ r: e, seed }) => ({
        seed,
        guestState: e.guestState,
        timer: e.timer,
        ipi: e.ipi,
        emulatedStops: e.emulatedStops,
      })),
    });
    samplesNs.push({
      timer: runs.flatMap((e) => e.timerSamplesNs),
      ipi: runs.flatMap((e) => e.ipiSamplesNs),
    });
  }
  return {
    seeds: [...seeds],
    method: CI_METHOD,
    samples,
    runs: { done: r.done, total: jobs.length },
    interrupted: r.interrupted,
    states,
    samplesNs,
  };
}

export interface RateVerdict {
  state: string;
  host: string;
  unit: string;
  /** The thread's figure where it gave one. */
  thread: number | null;
  rate: MedianInterval;
  seeds: { seed: number | string; rate: number }[];
}

export interface BenchRateSeedsResult extends SeedsRun {
  windowNs: number;
  states: RateVerdict[];
}

/** `stopsim bench ebizzy|ctxsw --seeds ...`: each case's rate over the seeds. */
export async function benchRateSeeds(
  what: RateBench,
  seeds: readonly (number | string)[],
  windowNs: number,
  pool: PoolOptions = {},
): Promise<BenchRateSeedsResult> {
  const jobs: RateJob[] = BENCH_CASES.flatMap((_, caseIndex) =>
    seeds.map((seed): RateJob => ({ kind: "rate", what, caseIndex, seed, windowNs })),
  );
  const r = await runJobs(jobs, pool);
  const states: RateVerdict[] = [];
  for (const [i, done] of byCase(r.results, seeds).entries()) {
    if (done.length === 0) continue;
    const c = BENCH_CASES[i];
    states.push({
      state: c.label,
      host: c.host,
      unit: done[0].r.unit,
      thread: what === "ebizzy" ? (THREAD_EBIZZY_RECORDS_PER_S[c.label] ?? null) : null,
      rate: medianInterval(done.map((d) => d.r.rate)),
      seeds: done.map(({ seed, r: e }) => ({ seed, rate: e.rate })),
    });
  }
  return {
    seeds: [...seeds],
    method: CI_METHOD,
    windowNs,
    runs: { done: r.done, total: jobs.length },
    interrupted: r.interrupted,
    states,
  };
}
