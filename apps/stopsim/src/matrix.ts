// The matrix over many seeds on the process pool: one job per (cell, seed), rows assembled in cell
// and seed-list order, so the result is the same on any number of workers.
import type { CellJob } from "./jobs.js";
import { type PoolOptions, runJobs } from "./pool.js";
import { type MatrixOptions, type MatrixRow, matrixCells, matrixRow } from "./scenarios.js";

export interface MatrixResult {
  seeds: (number | string)[];
  /** One row per cell whose every seed finished (all of them unless interrupted). */
  rows: MatrixRow[];
  /** Runs finished out of cells x seeds. */
  runs: { done: number; total: number };
  interrupted: boolean;
  workers: number;
}

/** The jobs of a matrix: cells in order, each cell's seeds in list order. */
export function matrixJobs(opts: MatrixOptions, seeds: readonly (number | string)[]): CellJob[] {
  return matrixCells(opts).flatMap((cell) =>
    seeds.map(
      (seed): CellJob => ({
        kind: "cell",
        cell,
        seed,
        durationNs: opts.durationNs,
        guest: opts.guest ?? {},
        ...(opts.hosts ? { hosts: opts.hosts } : {}),
        ...(opts.designs ? { designs: opts.designs } : {}),
      }),
    ),
  );
}

/** Every design x every ordered host pair over `seeds`, on a pool of worker processes. */
export async function runMatrixPool(
  opts: MatrixOptions,
  seeds: readonly (number | string)[],
  pool: PoolOptions = {},
): Promise<MatrixResult> {
  const cells = matrixCells(opts);
  const r = await runJobs(matrixJobs(opts, seeds), pool);
  const rows: MatrixRow[] = [];
  for (const [i, cell] of cells.entries()) {
    const mine = r.results.slice(i * seeds.length, (i + 1) * seeds.length);
    const finished = mine.filter((x) => x !== undefined);
    if (finished.length === seeds.length) rows.push(matrixRow(cell, finished));
  }
  return {
    seeds: [...seeds],
    rows,
    runs: { done: r.done, total: cells.length * seeds.length },
    interrupted: r.interrupted,
    workers: r.workers,
  };
}
