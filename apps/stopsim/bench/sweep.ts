// Monte-Carlo sweep benchmark: 1,000 seeds of a full-stack boot of a spapr-cap guest on a dd2.3
// host (new firmware) idling 10 ms under the "mixed" workload, once on a pool of worker processes
// using every core and once on this thread alone; `speedup` = serial wall / pool wall. Both
// runs must give the same samples. Writes bench-results/sweep.json (the app must be built: the
// pool's workers run dist/pool-worker.js).
// What is timed: the pool from its creation (the workers' start-up and module loading included,
// as a user pays them) to its end (workers reaped), the serial run from its first seed to its
// summary; this process has loaded the app before either, as the CLI has for both.
// Besides wall time it records CPU time: the serial run's (process.cpuUsage: every thread of
// this process, V8's GC and compiler threads included; and its main thread's alone, from
// /proc/self/task), and the pool's: the worker processes' (Linux /proc/self/stat cutime + cstime
// once the pool has reaped them) plus this process's while it drives the pool. On a shared
// machine wall time is bounded by the cores the others leave; CPU seconds are not (much), so the
// JSON also predicts the speedup on a quiet machine: there the serial run's wall time is its main
// thread's CPU (its helper threads run on the other core) and the pool's is its CPU over the
// cores, hence `predictedQuietSpeedup` = cores x serial main-thread CPU / pool CPU (an upper
// bound: it assumes the pool keeps every core busy from start to end).

import { readFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { isDeepStrictEqual } from "node:util";
import { NS_PER_MS, writeBenchResult } from "@stopsim/engine";
import { workerExecArgv } from "../src/pool.js";
import { runSweepPool, runSweepSerial, type SweepOptions } from "../src/sweep.js";

const SEEDS = Number(process.env.SWEEP_BENCH_SEEDS ?? 1000);
const OPTS: SweepOptions = {
  host: "dd2.3",
  design: "spapr-cap",
  seeds: SEEDS,
  firstSeed: 1,
  durationNs: 10 * NS_PER_MS,
  workload: "mixed",
};

/** CPU seconds of the reaped child processes (Linux; null elsewhere). */
function childrenCpuSeconds(): number | null {
  try {
    // fields after "(comm) ": state is [0], cutime [13], cstime [14] (proc(5)), in clock ticks
    const f = readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
    return (Number(f[13]) + Number(f[14])) / 100;
  } catch {
    return null;
  }
}
/** CPU seconds of this process's main thread (Linux; null elsewhere). */
function mainThreadCpuSeconds(): number | null {
  try {
    const f = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime (proc(5) fields 14, 15)
  } catch {
    return null;
  }
}
const cpuSeconds = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1e6;
const load = () => Number(loadavg()[0].toFixed(2));

const round3 = (x: number | null) => (x === null ? null : Number(x.toFixed(3)));
const threads = availableParallelism();
const loadBefore = load();
const children0 = childrenCpuSeconds();
const parent0 = process.cpuUsage();
let t0 = performance.now();
const pooled = await runSweepPool(OPTS, { workers: threads });
const poolWallSeconds = (performance.now() - t0) / 1000;
const poolParentCpuSeconds = cpuSeconds(process.cpuUsage(parent0));
const children1 = childrenCpuSeconds();
const poolWorkersCpuSeconds = children0 === null || children1 === null ? null : children1 - children0;
const poolCpuSeconds = poolWorkersCpuSeconds === null ? null : poolWorkersCpuSeconds + poolParentCpuSeconds;
const loadBetween = load();
const cpu0 = process.cpuUsage();
const main0 = mainThreadCpuSeconds();
t0 = performance.now();
const serial = runSweepSerial(OPTS);
const serialWallSeconds = (performance.now() - t0) / 1000;
const main1 = mainThreadCpuSeconds();
const serialCpuSeconds = cpuSeconds(process.cpuUsage(cpu0));
const serialMainThreadCpuSeconds = main0 === null || main1 === null ? null : main1 - main0;
const loadAfter = load();
if (!isDeepStrictEqual(pooled, serial)) {
  throw new Error(
    "sweep: the pool's samples differ from the serial run's: a seed's run is not deterministic",
  );
}
const speedup = serialWallSeconds / poolWallSeconds;
const { samples: _samples, ...summary } = serial;
const path = writeBenchResult("sweep", OPTS.firstSeed ?? 1, {
  seeds: SEEDS,
  run: `runBoot ${OPTS.host} ${OPTS.design}, ${OPTS.durationNs / NS_PER_MS} ms idle, workload ${OPTS.workload}`,
  threads,
  poolWallSeconds: Number(poolWallSeconds.toFixed(3)),
  serialWallSeconds: Number(serialWallSeconds.toFixed(3)),
  seedsPerSecondPool: Math.round(SEEDS / poolWallSeconds),
  seedsPerSecondSerial: Math.round(SEEDS / serialWallSeconds),
  speedup: Number(speedup.toFixed(2)),
  identicalResults: true,
  serialCpuSeconds: Number(serialCpuSeconds.toFixed(3)),
  /** cores the serial run kept busy on average (its GC and compiler threads included) */
  serialCpuPerWall: Number((serialCpuSeconds / serialWallSeconds).toFixed(2)),
  /** CPU ms per seed of the serial run (every thread) */
  serialCpuMsPerSeed: Number(((1000 * serialCpuSeconds) / SEEDS).toFixed(2)),
  /** the serial run's main thread alone (its wall time on a quiet machine) */
  serialMainThreadCpuSeconds: round3(serialMainThreadCpuSeconds),
  /** the serial run's other threads (V8's GC and compiler threads): the second core it uses */
  serialOtherThreadsCpuSeconds: round3(
    serialMainThreadCpuSeconds === null ? null : serialCpuSeconds - serialMainThreadCpuSeconds,
  ),
  /** the worker processes' CPU plus this process's while driving the pool */
  poolCpuSeconds: round3(poolCpuSeconds),
  poolWorkersCpuSeconds: round3(poolWorkersCpuSeconds),
  poolParentCpuSeconds: round3(poolParentCpuSeconds),
  /** the pool's workers' Node options (pool.ts workerExecArgv) */
  poolWorkerExecArgv: workerExecArgv(threads, threads),
  /** CPU the pool spent over the serial run's for the same seeds (start-up, warm-up, messages) */
  poolCpuOverSerial: poolCpuSeconds === null ? null : Number((poolCpuSeconds / serialCpuSeconds).toFixed(3)),
  /** cores x serial main-thread CPU / pool CPU: the speedup on a quiet machine (see the header) */
  predictedQuietSpeedup:
    poolCpuSeconds === null || serialMainThreadCpuSeconds === null
      ? null
      : Number(((threads * serialMainThreadCpuSeconds) / poolCpuSeconds).toFixed(2)),
  /** 1-minute load average before the pool, between the runs and after the serial run */
  loadAverage: [loadBefore, loadBetween, loadAfter],
  summary,
});
console.log(
  `sweep: ${SEEDS} seeds, pool of ${threads} ${poolWallSeconds.toFixed(2)} s, one thread ${serialWallSeconds.toFixed(2)} s, speedup ${speedup.toFixed(2)} (CPU ${poolCpuSeconds?.toFixed(1)} s vs ${serialCpuSeconds.toFixed(1)} s, serial main thread ${serialMainThreadCpuSeconds?.toFixed(1)} s, predicted quiet speedup ${((threads * (serialMainThreadCpuSeconds ?? Number.NaN)) / (poolCpuSeconds ?? Number.NaN)).toFixed(2)}; load ${loadBefore}/${loadBetween}/${loadAfter}) -> ${path}`,
);
