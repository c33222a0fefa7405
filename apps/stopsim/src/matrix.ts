// The matrix over many seeds on the process pool: one job per (cell, seed), rows assembled in cell
// and seed-list order, so the result is the same on any number of workers; the cells and one
// seed of a cell (runMatrixCell), which boots or migrates as scenarios.ts and migrate.ts do.

import { RUN_OUTCOMES, type RunOutcome } from "./fleet.js";
import { HAZARD_KINDS, type HazardKind, type Hazards, hazardKinds } from "./hazards.js";
import type { CellJob } from "./jobs.js";
import { runMigrate } from "./migrate.js";
import { type PoolOptions, runJobs } from "./pool.js";
import type { WorkloadName } from "./run.js";
import { bootDetail, type RunOptions, runBoot } from "./scenarios.js";

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

/** The default guest workload of the matrix and of migrations (see runMatrixCell). */
export const MATRIX_WORKLOAD: WorkloadName = "mixed";

/** One seed of a matrix cell: what the run reported. */
export interface MatrixSeedResult {
  seed: number | string;
  outcome: RunOutcome;
  detail: string;
  hazards: Hazards;
}

/** A matrix cell over its seeds: the distribution of outcomes and the seeds of each minority. */
export interface MatrixRow {
  design: string;
  from: string;
  to: string;
  /** The majority outcome (ties: the first in RUN_OUTCOMES order). */
  outcome: RunOutcome;
  /** The detail of the first seed with the majority outcome. */
  detail: string;
  /** Seeds per outcome, only outcomes that occurred, majority first. */
  outcomes: Partial<Record<RunOutcome, number>>;
  /** Every outcome other than the majority, with the seeds that gave it (replay one with --seed). */
  minority: { outcome: RunOutcome; seeds: (number | string)[] }[];
  /** Every seed's result, in the order of the seed list. */
  seeds: MatrixSeedResult[];
  /** Each hazard kind any seed counted, with those seeds. */
  hazards: { kind: HazardKind; seeds: (number | string)[] }[];
  /** Hazards in a seed whose outcome was clean (native, emulated, not-used): the table's mark. */
  hazardMark: boolean;
}

/** Outcomes that are not failures: a hazard in such a run is otherwise invisible. */
export const CLEAN_OUTCOMES: readonly RunOutcome[] = ["native", "emulated", "not-used"];

export interface MatrixOptions extends RunOptions {
  designNames?: string[];
  hostNames?: string[];
}

/** A matrix cell's key: one design, one ordered host pair (from === to: boot and idle on one host). */
export interface MatrixCell {
  design: string;
  from: string;
  to: string;
}

/** The cells of the matrix: every design x every ordered host pair, scenario ones first. */
export function matrixCells(opts: MatrixOptions): MatrixCell[] {
  const designs = opts.designNames ?? [
    ...(opts.designs ?? []).map((d) => d.name),
    "upstream-2020",
    "rfc-as-posted",
    "host-probed",
    "emulate-fallback",
    "spapr-cap",
  ];
  const hosts = opts.hostNames ?? [
    ...(opts.hosts ?? []).map((h) => h.name),
    "dd2.2-old",
    "dd2.3-old",
    "dd2.2",
    "dd2.3",
  ];
  const cells: MatrixCell[] = [];
  for (const design of designs) {
    for (const from of hosts) for (const to of hosts) cells.push({ design, from, to });
  }
  return cells;
}

/** One seed of one cell: a boot (from === to) or a migration, through every layer. */
export function runMatrixCell(cell: MatrixCell, opts: RunOptions): MatrixSeedResult {
  // Each cell must exercise its guest's stop0lite path. The 2020 default governor (menu) under the
  // timers workload falls into snooze-timeout chains on its 100 us CPU and seldom enters stop0lite
  // (packages/guest/README.md); the random mix of compute and sleeps gives menu varied idle
  // periods, and it enters stop0lite hundreds of times in a few ms. A workload given by the caller
  // wins.
  const o = { ...opts, trace: false, guest: { workload: MATRIX_WORKLOAD, ...(opts.guest ?? {}) } };
  if (cell.from === cell.to) {
    const r = runBoot(cell.from, cell.design, o);
    return { seed: opts.seed, outcome: r.outcome, detail: bootDetail(r), hazards: r.hazards };
  }
  const r = runMigrate(cell.from, cell.to, cell.design, o);
  return { seed: opts.seed, outcome: r.outcome, detail: r.detail, hazards: r.hazards };
}

/** A cell's row from its seeds' results (given in seed-list order). */
export function matrixRow(cell: MatrixCell, results: readonly MatrixSeedResult[]): MatrixRow {
  const counts = new Map<RunOutcome, (number | string)[]>();
  for (const o of RUN_OUTCOMES) counts.set(o, []);
  for (const r of results) counts.get(r.outcome)?.push(r.seed);
  const ranked = RUN_OUTCOMES.filter((o) => (counts.get(o)?.length ?? 0) > 0).sort(
    (a, b) => (counts.get(b)?.length ?? 0) - (counts.get(a)?.length ?? 0),
  );
  const majority = ranked[0];
  const outcomes: Partial<Record<RunOutcome, number>> = {};
  for (const o of ranked) outcomes[o] = counts.get(o)?.length ?? 0;
  return {
    ...cell,
    outcome: majority,
    detail: results.find((r) => r.outcome === majority)?.detail ?? "",
    outcomes,
    minority: ranked.slice(1).map((o) => ({ outcome: o, seeds: counts.get(o) ?? [] })),
    seeds: [...results],
    hazards: HAZARD_KINDS.map((kind) => ({
      kind,
      seeds: results.filter((r) => r.hazards[kind] > 0).map((r) => r.seed),
    })).filter((h) => h.seeds.length > 0),
    hazardMark: results.some((r) => CLEAN_OUTCOMES.includes(r.outcome) && hazardKinds(r.hazards).length > 0),
  };
}

/**
 * Every design x every ordered host pair over `seeds`, in this process, one run after another
 * (`runMatrixPool` spreads the same runs over worker processes).
 */
export function runMatrix(
  opts: MatrixOptions & { seeds?: readonly (number | string)[]; onRow?: (r: MatrixRow) => void },
): MatrixRow[] {
  const seeds = opts.seeds ?? [opts.seed];
  const rows: MatrixRow[] = [];
  for (const cell of matrixCells(opts)) {
    const row = matrixRow(
      cell,
      seeds.map((seed) => runMatrixCell(cell, { ...opts, seed })),
    );
    rows.push(row);
    opts.onRow?.(row);
  }
  return rows;
}
