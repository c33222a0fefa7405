// Monte-Carlo sweep benchmark: 1,000 seeds of a full-stack boot of a spapr-cap guest on a dd2.3
// host (new firmware) idling 10 ms under the "mixed" workload, once on a pool of worker processes
// using every core and once on this thread alone; `speedup` = serial wall / pool wall. Both
// runs must give the same samples. Writes bench-results/sweep.json (the app must be built: the
// pool's workers run dist/pool-worker.js).
// Besides wall time it records CPU time: the serial run's (process.cpuUsage: every thread of
// this process, V8's GC and compiler threads included) and the pool's worker processes' (Linux
// /proc/self/stat cutime + cstime once the pool has reaped them), and the load average around
// each run: on a shared machine the speedup is bounded by the cores the others leave, while the
// CPU ratio says whether a seed costs more on the pool than alone.

import { readFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { isDeepStrictEqual } from "node:util";
import { NS_PER_MS, writeBenchResult } from "@stopsim/engine";
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
const load = () => Number(loadavg()[0].toFixed(2));

const threads = availableParallelism();
const loadBefore = load();
const children0 = childrenCpuSeconds();
let t0 = performance.now();
const pooled = await runSweepPool(OPTS, { workers: threads });
const poolWallSeconds = (performance.now() - t0) / 1000;
const children1 = childrenCpuSeconds();
const poolCpuSeconds = children0 === null || children1 === null ? null : children1 - children0;
const loadBetween = load();
const cpu0 = process.cpuUsage();
t0 = performance.now();
const serial = runSweepSerial(OPTS);
const serialWallSeconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const serialCpuSeconds = (cpu.user + cpu.system) / 1e6;
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
  poolCpuSeconds: poolCpuSeconds === null ? null : Number(poolCpuSeconds.toFixed(3)),
  /** CPU the pool's workers spent over the serial run's for the same seeds (startup and warm-up) */
  poolCpuOverSerial: poolCpuSeconds === null ? null : Number((poolCpuSeconds / serialCpuSeconds).toFixed(3)),
  /** 1-minute load average before the pool, between the runs and after the serial run */
  loadAverage: [loadBefore, loadBetween, loadAfter],
  summary,
});
console.log(
  `sweep: ${SEEDS} seeds, pool of ${threads} ${poolWallSeconds.toFixed(2)} s, one thread ${serialWallSeconds.toFixed(2)} s, speedup ${speedup.toFixed(2)} (CPU ${poolCpuSeconds?.toFixed(1)} s vs ${serialCpuSeconds.toFixed(1)} s; load ${loadBefore}/${loadBetween}/${loadAfter}) -> ${path}`,
);
