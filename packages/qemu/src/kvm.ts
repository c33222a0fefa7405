// What QEMU uses of the host kernel's KVM API: the ioctl-shaped calls of linux:
// include/uapi/linux/kvm.h as accel/kvm/kvm-all.c and target/ppc/kvm.c make them. The constants
// and record types come from the host kernel's uapi (@stopsim/host), as a real QEMU includes
// linux-headers; the fd types below list only the calls QEMU makes, so the host's Kvm, KvmVm and
// KvmVcpu objects are what QEMU runs on.

import type { KvmMemoryRegion, KvmPpcXiveEq, KvmRegs, KvmRun, OneRegResult } from "@stopsim/host";
import type { MmioRegion, ThreadSoftware } from "@stopsim/isa";

export type { KvmMemoryRegion, KvmPpcXiveEq, KvmRegs, KvmRun, OneRegResult };

/** A device fd (KVM_CREATE_DEVICE): the XIVE native device's attributes and mmap. */
export interface KvmDeviceFd {
  readonly fd: number;
  /** KVM_SET_DEVICE_ATTR / KVM_GET_DEVICE_ATTR. */
  setAttr(group: number, attr: bigint, value?: bigint | KvmPpcXiveEq): number;
  getAttr(group: number, attr: bigint): bigint | KvmPpcXiveEq | number;
  /** mmap of the device fd at a page offset (the TIMA at 0, the ESB pages at 4). */
  mmap(pageOffset: number): MmioRegion | number;
}

/** A vCPU fd (KVM_CREATE_VCPU). */
export interface KvmVcpuFd {
  readonly id: number;
  /** The guest kernel's code for this vCPU (the loaded image's per-CPU software). */
  setGuestSoftware(software: ThreadSoftware): number;
  /** KVM_GET_REGS / KVM_SET_REGS. */
  getRegs(): KvmRegs;
  setRegs(regs: KvmRegs): number;
  /** KVM_GET_ONE_REG / KVM_SET_ONE_REG. */
  getOneReg(id: bigint): OneRegResult;
  setOneReg(id: bigint, value: bigint): number;
  /**
   * KVM_RUN: the vCPU runs until it must exit to userspace, then `onExit` gets the kvm_run record;
   * QEMU completes the exit (e.g. run.papr_hcall.ret) and calls run again.
   */
  run(onExit: (run: KvmRun) => void): number;
  /** A signal to the vCPU thread with immediate_exit: the next exit is KVM_EXIT_INTR. */
  requestExit(): void;
  /** KVM_ENABLE_CAP on the vCPU fd (KVM_CAP_PPC_IRQ_XIVE: connect to the XIVE device). */
  enableCap(cap: number, args?: readonly (number | bigint)[], flags?: number): number;
}

/** A VM fd (KVM_CREATE_VM). */
export interface KvmVmFd {
  checkExtension(cap: number): number;
  enableCap(cap: number, args?: readonly (number | bigint)[], flags?: number): number;
  createVcpu(id: number): KvmVcpuFd | number;
  setUserMemoryRegion(region: KvmMemoryRegion): number;
  /** KVM_CREATE_DEVICE (KVM_DEV_TYPE_XIVE). */
  createDevice(type: number): KvmDeviceFd | number;
  /** KVM_PPC_GET_CPU_CHAR, offered by kernels that report KVM_CAP_PPC_GET_CPU_CHAR. */
  getCpuChar?(): KvmPpcCpuChar | number;
}

/** /dev/kvm. */
export interface KvmSystemFd {
  checkExtension(cap: number): number;
  createVm(): KvmVmFd | number;
}

/** struct kvm_ppc_cpu_char (linux: arch/powerpc/include/uapi/asm/kvm.h). */
export interface KvmPpcCpuChar {
  readonly character: bigint;
  readonly behaviour: bigint;
  readonly characterMask: bigint;
  readonly behaviourMask: bigint;
}

/**
 * KVM_CAP_PPC_RPT_INVALIDATE (linux: include/uapi/linux/kvm.h, 5.14). QEMU's own copy of the
 * kernel headers may know capabilities the running kernel predates; such a kernel answers 0.
 */
export const KVM_CAP_PPC_RPT_INVALIDATE = 193;

// linux: arch/powerpc/include/asm/hvcall.h H_CPU_CHAR_* / H_CPU_BEHAV_* (IBM bit numbering)
const H_CPU_CHAR_SPEC_BAR_ORI31 = 1n << 63n;
const H_CPU_CHAR_BCCTRL_SERIALISED = 1n << 62n;
const H_CPU_CHAR_L1D_FLUSH_ORI30 = 1n << 61n;
const H_CPU_CHAR_L1D_FLUSH_TRIG2 = 1n << 60n;
const H_CPU_CHAR_L1D_THREAD_PRIV = 1n << 59n;
const H_CPU_CHAR_CACHE_COUNT_DIS = 1n << 56n;
const H_CPU_CHAR_BCCTR_FLUSH_ASSIST = 1n << 54n;
const H_CPU_BEHAV_L1D_FLUSH_PR = 1n << 62n;
const H_CPU_BEHAV_BNDS_CHK_SPEC_BAR = 1n << 61n;
const H_CPU_BEHAV_FLUSH_COUNT_CACHE = 1n << 58n;

/**
 * The spapr cap levels QEMU derives from KVM_PPC_GET_CPU_CHAR (qemu: target/ppc/kvm.c
 * parse_cap_ppc_safe_cache, _safe_bounds_check, _safe_indirect_branch,
 * _count_cache_flush_assist; a POWER9 host, so L1D thread-private flushing is required).
 */
export function parseCpuChar(c: KvmPpcCpuChar): {
  safeCache: number;
  safeBoundsCheck: number;
  safeIndirectBranch: number;
  countCacheFlushAssist: number;
} {
  const ch = (bit: bigint) => (c.character & c.characterMask & bit) !== 0n;
  const notCh = (bit: bigint) => (~c.character & c.characterMask & bit) !== 0n;
  const be = (bit: bigint) => (c.behaviour & c.behaviourMask & bit) !== 0n;
  const notBe = (bit: bigint) => (~c.behaviour & c.behaviourMask & bit) !== 0n;
  let safeCache = 0;
  if (notBe(H_CPU_BEHAV_L1D_FLUSH_PR)) safeCache = 2;
  else if (ch(H_CPU_CHAR_L1D_THREAD_PRIV) && ch(H_CPU_CHAR_L1D_FLUSH_ORI30 | H_CPU_CHAR_L1D_FLUSH_TRIG2))
    safeCache = 1;
  let safeBoundsCheck = 0;
  if (notBe(H_CPU_BEHAV_BNDS_CHK_SPEC_BAR)) safeBoundsCheck = 2;
  else if (ch(H_CPU_CHAR_SPEC_BAR_ORI31)) safeBoundsCheck = 1;
  // SPAPR_CAP_BROKEN 0, WORKAROUND 1, FIXED_IBS 2, FIXED_CCD 3, FIXED_NA 4
  let safeIndirectBranch = 0;
  if (
    notBe(H_CPU_BEHAV_FLUSH_COUNT_CACHE) &&
    notCh(H_CPU_CHAR_CACHE_COUNT_DIS) &&
    notCh(H_CPU_CHAR_BCCTRL_SERIALISED)
  )
    safeIndirectBranch = 4;
  else if (be(H_CPU_BEHAV_FLUSH_COUNT_CACHE)) safeIndirectBranch = 1;
  else if (ch(H_CPU_CHAR_CACHE_COUNT_DIS)) safeIndirectBranch = 3;
  else if (ch(H_CPU_CHAR_BCCTRL_SERIALISED)) safeIndirectBranch = 2;
  return {
    safeCache,
    safeBoundsCheck,
    safeIndirectBranch,
    countCacheFlushAssist: ch(H_CPU_CHAR_BCCTR_FLUSH_ASSIST) ? 1 : 0,
  };
}
