// A fleet over several seeds, with its full-stack probes on the worker-process pool. Which boot and
// migration cases a fleet needs depends on where its VMs land, so the fleet is first run with
// placeholders for the cases not probed yet (those runs only collect the cases), the collected
// cases are probed over the probe seeds as jobs on the pool, and the fleet runs again, until a run
// asks for no new case: that run used real probe results only and is the fleet's result. Every
// step is a pure function of the seeds, so the results are the same on a pool and serially.
import { type FleetOptions, type FleetResult, RUN_OUTCOMES, type RunOutcome, runFleet } from "./fleet.js";
import type { PoolOptions } from "./pool.js";
import type { FullStackProbe } from "./probe.js";

/**
 * Probe seeds per case by default: each case is a full-stack run per seed (about 0.3 s of CPU), and
 * the default fleet asks for 8-20 cases, so 4 seeds keep `stopsim fleet` to about 10-20 s on two
 * cores while an outcome one seed in four gives still shows up in the counts.
 */
export const DEFAULT_PROBE_SEEDS = 4;

/** The fleet options of one seed's run, without the per-run hooks (progress, trace, Ctrl-C). */
export type FleetBaseOptions = Omit<FleetOptions, "seed" | "onProgress" | "trace" | "traceTo" | "shouldStop">;

export interface FleetSeedsResult {
  /** One result per fleet seed, in seed order (empty when interrupted). */
  results: FleetResult[];
  /** Fleet runs made to find the cases (with placeholders). */
  discoveryRuns: number;
  interrupted: boolean;
}

/**
 * Probes every case the fleets of `seeds` reach (on the pool), then returns each seed's result.
 * Interrupting the pool (its signal) ends it early with `interrupted` and no results.
 */
export async function runFleetSeeds(
  base: FleetBaseOptions,
  seeds: readonly (number | string)[],
  probe: FullStackProbe,
  pool: PoolOptions = {},
): Promise<FleetSeedsResult> {
  const done = new Map<number | string, FleetResult>();
  let discoveryRuns = 0;
  probe.discovering = true;
  try {
    // seeds may repeat (the library takes any list): done when every seed has its final run
    while (seeds.some((s) => !done.has(s))) {
      for (const seed of seeds) {
        if (done.has(seed)) continue;
        probe.askedUnknown = false;
        const r = runFleet({ ...base, seed }, probe);
        discoveryRuns++;
        // a run that asked for no case not probed yet used real results only: it is final
        if (!probe.askedUnknown) done.set(seed, r);
      }
      if (probe.pendingCases > 0 && !(await probe.fill(pool))) {
        return { results: [], discoveryRuns, interrupted: true };
      }
    }
  } finally {
    probe.discovering = false;
  }
  return { results: seeds.map((s) => done.get(s) as FleetResult), discoveryRuns, interrupted: false };
}

/** A count over the fleet seeds: its median and range. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** The statistic the fleet's counts are given with. */
export const SPREAD_STATISTIC = "median [min-max] over the fleet seeds";

export function spreadOf(values: readonly number[]): Spread {
  const v = [...values].sort((a, b) => a - b);
  const n = v.length;
  if (n === 0) throw new RangeError("spreadOf: no values");
  const median = n % 2 === 1 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return { median, min: v[0], max: v[n - 1] };
}

/** The counts of a fleet result that get a spread over seeds. */
export interface FleetSpread {
  boots: Record<RunOutcome, Spread>;
  migrations: Record<RunOutcome, Spread>;
  vmFinal: Record<string, Spread>;
  stopLite: { native: Spread; emulated: Spread; notUsed: Spread };
  restarts: Spread;
  hostsUpgraded: Spread;
  upgradesBlocked: Spread;
  /** Refused migrations per reason (a reason a seed never met counts 0 there). */
  refusals: Record<string, Spread>;
  migrationDowntimeTotalNs: Spread;
  downtimeTotalNs: Spread;
}

/** Each count's median and range over the seeds' results. */
export function fleetSpread(results: readonly FleetResult[]): FleetSpread {
  const of = (f: (r: FleetResult) => number) => spreadOf(results.map(f));
  const byKeys = (keys: Iterable<string>, f: (r: FleetResult, k: string) => number) =>
    Object.fromEntries([...keys].map((k) => [k, of((r) => f(r, k))]));
  const finalKeys = new Set(results.flatMap((r) => Object.keys(r.vmFinal)));
  const reasons = [...new Set(results.flatMap((r) => Object.keys(r.refusals)))].sort();
  return {
    boots: byKeys(RUN_OUTCOMES, (r, k) => r.boots[k as RunOutcome]) as Record<RunOutcome, Spread>,
    migrations: byKeys(RUN_OUTCOMES, (r, k) => r.migrations[k as RunOutcome]) as Record<RunOutcome, Spread>,
    vmFinal: byKeys(finalKeys, (r, k) => r.vmFinal[k] ?? 0),
    stopLite: {
      native: of((r) => r.stopLite.native),
      emulated: of((r) => r.stopLite.emulated),
      notUsed: of((r) => r.stopLite.notUsed),
    },
    restarts: of((r) => r.restarts),
    hostsUpgraded: of((r) => r.hostsUpgraded),
    upgradesBlocked: of((r) => r.upgradesBlocked),
    refusals: byKeys(reasons, (r, k) => r.refusals[k] ?? 0),
    migrationDowntimeTotalNs: of((r) => r.migrationDowntime.totalNs),
    downtimeTotalNs: of((r) => r.downtime.totalNs),
  };
}

/** `12 [9-15]`, or the value alone when every seed gave it. */
export function spreadText(s: Spread, format: (n: number) => string = (n) => n.toLocaleString("en")): string {
  return s.min === s.max ? format(s.median) : `${format(s.median)} [${format(s.min)}-${format(s.max)}]`;
}
