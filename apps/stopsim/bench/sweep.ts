// Monte-Carlo sweep benchmark: 1,000 seeds of a full-stack boot of a spapr-cap guest on a dd2.3
// host (new firmware) idling 10 ms under the "mixed" workload, once on a pool of worker processes
// using every core and once on this thread alone; `speedup` = serial wall / pool wall. Both
// runs must give the same samples. Writes bench-results/sweep.json (the app must be built: the
// pool's workers run dist/pool-worker.js).

import { availableParallelism } from "node:os";
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

const threads = availableParallelism();
let t0 = performance.now();
const pooled = await runSweepPool(OPTS, { workers: threads });
const poolWallSeconds = (performance.now() - t0) / 1000;
t0 = performance.now();
const serial = runSweepSerial(OPTS);
const serialWallSeconds = (performance.now() - t0) / 1000;
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
  summary,
});
console.log(
  `sweep: ${SEEDS} seeds, pool of ${threads} ${poolWallSeconds.toFixed(2)} s, one thread ${serialWallSeconds.toFixed(2)} s, speedup ${speedup.toFixed(2)} -> ${path}`,
);
