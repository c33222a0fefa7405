// @stopsim/host: the host Linux kernel of a POWER9 PowerNV machine with KVM HV.
export {
  buildKnowsIdleStopGuest,
  KVM_BUILDS,
  type KvmBuild,
  KvmBuildError,
  type KvmBuildName,
  type PsscrPolicy,
  resolveKvmBuild,
} from "./build.js";
export { CostTableError, DEFAULT_HOST_COSTS, type HostCostTable, resolveCosts } from "./costs.js";
export {
  type CpuState,
  DECREMENTER_DEFAULT_MAX,
  HostCpu,
  type HostIdleConfig,
  type HostOp,
  type HostTask,
  type HostTaskStep,
  HostTimer,
} from "./cpu.js";
export {
  type CpuSpec,
  type DtCpuFeature,
  type DtCpuFtrsOptions,
  findCpuFeaturesNode,
  HV_SUPPORT_HFSCR,
  HV_SUPPORT_NONE,
  hasArch300,
  IDLE_STOP_GUEST,
  ISA_V3_0B,
  ISA_V3_1,
  OS_SUPPORT_FSCR,
  OS_SUPPORT_NONE,
  scanDtCpuFeatures,
  USABLE_HV,
  USABLE_OS,
  USABLE_PR,
} from "./dt-cpu-ftrs.js";
export { HostBootError, HostConfigError } from "./errors.js";
export {
  type BootHostOptions,
  bootHost,
  Host,
  type HostCoreView,
  type HostCpuView,
  setDecrementerMax,
} from "./host.js";
export * from "./idle.js";
export {
  type FwFeatures,
  type KvmPpcCpuChar,
  kvmppcGetCpuChar,
  readFwFeatures,
} from "./kvm/cpu-char.js";
export {
  adjustHaltPoll,
  DEFAULT_HALT_POLL,
  type HaltPollParams,
  type HaltPollStats,
} from "./kvm/halt-poll.js";
export {
  type CreateVmOptions,
  type ExitHandler,
  guestPsscrClearsTrapBits,
  Kvm,
  type KvmHostInfo,
  type KvmMemoryRegion,
  type KvmRegs,
  type KvmRun,
  type OneRegResult,
} from "./kvm/kvm.js";
export { exitName, KVM_TRACE_SYMBOL_EXIT } from "./kvm/trace-names.js";
export * from "./kvm/uapi.js";
export { KvmVcpu } from "./kvm/vcpu.js";
export { initVmLpcr, KvmVm, XIVE_DEVICE_FD } from "./kvm/vm.js";
export {
  type KvmPpcXiveEq,
  KvmXiveNativeDevice,
  type XiveNativeVcpu,
  type XiveNativeVm,
  XiveVcpuState,
} from "./kvm/xive-native.js";
export { KernelLog, type LogLevel, type LogLine } from "./log.js";
export { HOST_XIVE_PRIORITY, type HostIrqHandler, HostXive } from "./xive-host.js";
