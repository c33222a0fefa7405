// One worker's share of a boot sweep: consecutive seeds of the same full-stack boot, each reduced
// to its sample. Kept apart from sweep.ts (which plans sweeps and drives the pool) so that a worker
// process running sweep jobs loads only the simulation's own modules.
import type { RunOutcome } from "./fleet-probe.js";
import type { WorkloadName } from "./run.js";
import { runBoot } from "./scenarios.js";

/** What one seed's run reported. */
export interface SweepSample {
  seed: number;
  outcome: RunOutcome;
  /** Guest cpuidle entries over every state and CPU. */
  idleEntries: number;
  stop0liteUsage: number;
  emulatedStops: number;
  kvmExits: number;
}

/** A worker's share of a sweep: a run of consecutive seeds. */
export interface SweepTask {
  host: string;
  design: string;
  durationNs: number;
  workload: WorkloadName;
  seeds: number[];
}

/** Runs one seed through every layer. */
export function sweepSample(task: Omit<SweepTask, "seeds">, seed: number): SweepSample {
  const r = runBoot(task.host, task.design, {
    seed,
    durationNs: task.durationNs,
    guest: { workload: task.workload },
  });
  let idleEntries = 0;
  for (const s of Object.values(r.guest.idleStates)) idleEntries += s.usage;
  let kvmExits = 0;
  for (const n of Object.values(r.exits)) kvmExits += n;
  return {
    seed,
    outcome: r.outcome,
    idleEntries,
    stop0liteUsage: r.guest.idleStates.stop0lite?.usage ?? 0,
    emulatedStops: r.emulatedStops,
    kvmExits,
  };
}

export function runSweepTask(task: SweepTask): SweepSample[] {
  return task.seeds.map((seed) => sweepSample(task, seed));
}
