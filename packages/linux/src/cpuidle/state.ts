// What a cpuidle driver registers: its states (struct cpuidle_state, the fields the governors and
// the accounting read) and the driver (struct cpuidle_driver). Each platform driver
// (cpuidle-powernv on the host, cpuidle-pseries in the guest) extends them with what its enter
// functions need. linux: include/linux/cpuidle.h

/** A struct cpuidle_state. Latencies in ns as the cpuidle core converts them (exit_latency_ns). */
export interface CpuidleState {
  readonly name: string;
  readonly desc: string;
  /** exit_latency in us, as the driver table gives it. */
  readonly exitLatencyUs: number;
  /** target_residency in us, as the driver table gives it. */
  readonly targetResidencyUs: number;
  /** exit_latency_ns (exit_latency * NSEC_PER_USEC, __cpuidle_driver_init). */
  readonly exitLatencyNs: number;
  /** target_residency_ns. */
  readonly targetResidencyNs: number;
  /** CPUIDLE_FLAG_POLLING (neither pseries nor powernv snooze sets it in 2020). */
  readonly polling: boolean;
}

/** A struct cpuidle_driver: its name and its state table (index 0 is the shallowest). */
export interface CpuidleDriver<S extends CpuidleState = CpuidleState> {
  readonly name: string;
  readonly states: readonly S[];
}

/**
 * A state as a driver table gives it in us, with the ns fields the cpuidle core derives
 * (__cpuidle_driver_init: exit_latency_ns = exit_latency * NSEC_PER_USEC, likewise the residency).
 */
export function cpuidleState(
  name: string,
  desc: string,
  exitLatencyUs: number,
  targetResidencyUs: number,
  polling = false,
): CpuidleState {
  return {
    name,
    desc,
    exitLatencyUs,
    targetResidencyUs,
    exitLatencyNs: exitLatencyUs * 1000,
    targetResidencyNs: targetResidencyUs * 1000,
    polling,
  };
}
