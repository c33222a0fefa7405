// @stopsim/guest: the pseries guest Linux kernel (boot from the guest DTB, cpuidle-pseries with
// the stop0lite state of the 2020 RFC, scheduler and workloads; the cpuidle core and governors,
// cputable and hcall numbers come from @stopsim/linux).
export {
  type BootParams,
  type CpuThread,
  DEFAULT_TB_FREQ,
  GuestBootPanic,
  IBM_PA_FEATURES,
  type ScanOptions,
  STOP_LITE_PERMITTED_PROP,
  scanBootDevicetree,
  scanFeatures,
} from "./boot/devtree.js";
export {
  CEDE_STATE,
  type IdleStateKind,
  type PseriesIdleDriver,
  type PseriesIdleProbe,
  type PseriesIdleState,
  pseriesIdleProbe,
  SHARED_CEDE_STATE,
  SNOOZE_STATE,
  STOP0LITE_STATE,
  type Stop0liteMode,
  stop0liteEnabled,
} from "./cpuidle/driver.js";
export { type ConsoleLine, KernelConsole, type LogLevel } from "./kernel/console.js";
export { DEFAULT_GUEST_COSTS, GuestCostError, type GuestCosts, resolveCosts } from "./kernel/costs.js";
export {
  GuestCpu,
  type HrTimer,
  type KCode,
  type KOp,
  PACA_IRQ_DBELL,
  PACA_IRQ_DEC,
  PACA_IRQ_EE,
  PACA_IRQ_HARD_DIS,
  PPC_MSG_CALL_FUNCTION,
  PPC_MSG_RESCHEDULE,
} from "./kernel/cpu.js";
export { KERNEL_ENTRY, SECONDARY_ENTRY, TEXT, type TextSymbol } from "./kernel/image.js";
export {
  createGuestKernel,
  GuestKernel,
  type GuestKernelConfig,
  GuestKernelError,
  type GuestKernelImage,
  type GuestState,
  LATE_WAKEUP_FACTOR,
  LATE_WAKEUP_LOG_MAX,
  type LateWakeup,
  type LockupReport,
  STALL_NS,
} from "./kernel/kernel.js";
export { Pipe, Task, type TaskOp, type TaskProgram, type TaskState } from "./kernel/task.js";
export * from "./linux/papr.js";
export {
  measureWakeupLatency,
  type WakeupLatencyOptions,
  type WakeupLatencyResult,
} from "./workloads/wakeup.js";
export {
  ContextSwitch2,
  Ebizzy,
  type EbizzyOptions,
  type PeriodicTimerResult,
  periodicTimer,
  type RandomMixOptions,
  type RateResult,
  randomMix,
  WorkloadError,
} from "./workloads/workloads.js";
