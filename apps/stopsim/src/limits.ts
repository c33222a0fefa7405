// The documented maxima of every size the CLI takes (README "Limits"), checked before any work.
import { NS_PER_S } from "@stopsim/engine";

const DAY = 86_400 * NS_PER_S;
const HOUR = 3_600 * NS_PER_S;

/** The documented maxima (README "Limits"); every one is checked before any work starts. */
export const LIMITS = {
  /** Largest seed: seeds are unsigned 64-bit integers. */
  seedMax: 2n ** 64n - 1n,
  /** Seeds of one verdict (`--seeds`: matrix, bench, fleet, report); each is a run per cell or case. */
  seeds: 10_000,
  /** Worker processes of a sweep (`--workers`). */
  workers: 256,
  /** Simulated time of one full-stack run (boot, idle, migrate, matrix, qemu). */
  fullStackDurationNs: HOUR,
  /** Simulated time of a fleet: virtual time is integer ns, exact up to 2^53 ns (104 days). */
  fleetDurationNs: 100 * DAY,
  fleetHosts: 100_000,
  fleetVms: 1_000_000,
  /** VMs per host the fleet's placement allows. */
  vmsPerHost: 64,
  /** Wakeup samples per state and method (bench wakeup, report). */
  samples: 10_000,
  /** The report's vCPU timeline window (a full-stack run, traced). */
  timelineNs: 10 * NS_PER_S,
  /** Scenario files: size, hosts + designs, nesting. */
  scenarioBytes: 1024 * 1024,
  scenarioEntries: 1_000,
  scenarioDepth: 16,
} as const;
