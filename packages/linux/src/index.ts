// @stopsim/linux: the kernel code the POWER9 host (powernv + KVM) and the pseries guest share:
// cputable (CPU_FTR_*, PPC_FEATURE*, the POWER9 cpu specs), hcall numbers and return codes, the
// lppaca and XICS constants both sides use, and the cpuidle core with the menu and teo governors.
export {
  CpuidleDevice,
  type CpuidleGovernor,
  type CpuidleStateUsage,
  type CpuidleSysfsState,
  type GovernorContext,
  type GovernorSelection,
  type ReflectContext,
} from "./cpuidle/core.js";
export {
  BUCKETS,
  getTypicalInterval,
  INTERVALS,
  MAX_INTERESTING,
  MenuDevice,
  MenuGovernor,
  RESOLUTION,
  whichBucket,
} from "./cpuidle/menu.js";
export { type CpuidleDriver, type CpuidleState, cpuidleState } from "./cpuidle/state.js";
export { TEO_INTERVALS, TeoCpu, TeoGovernor, type TeoIdleState } from "./cpuidle/teo.js";
export * from "./cputable.js";
export * from "./hvcall.js";
export * from "./lppaca.js";
export * from "./xics.js";
