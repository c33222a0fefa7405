import type { LatencyReference } from "./model.js";

/**
 * Wakeup latencies measured on a real POWER9 (median, with min-max range), ns, from the
 * linuxppc-dev thread "[RFC/PATCH 0/3] Add support for stop instruction inside KVM guest"
 * (2020): a guest with smp 8 (1 socket, 2 cores, 4 threads), each vCore bound to a physical
 * core, woken by its own timer or by an IPI. The report draws them as the measured reference
 * beside the simulated histograms.
 */
export const POWER9_WAKEUP_REFERENCE: readonly LatencyReference[] = [
  {
    state: "snooze",
    timerMedianNs: 938,
    timerRangeNs: [787, 1059],
    ipiMedianNs: 2259,
    ipiRangeNs: [2089, 4228],
  },
  {
    state: "stop0lite native",
    timerMedianNs: 948,
    timerRangeNs: [770, 1182],
    ipiMedianNs: 2653,
    ipiRangeNs: [1947, 3674],
  },
  {
    state: "stop0lite emulated",
    timerMedianNs: 5006,
    timerRangeNs: [2378, 7659],
    ipiMedianNs: 5596,
    ipiRangeNs: [3580, 8154],
  },
  {
    state: "Shared CEDE",
    timerMedianNs: 29219,
    timerRangeNs: [9550, 36694],
    ipiMedianNs: 21827,
    ipiRangeNs: [20147, 36305],
  },
];
