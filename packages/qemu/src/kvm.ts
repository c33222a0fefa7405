// What QEMU uses of the host kernel's KVM API: the ioctl-shaped calls of linux:
// include/uapi/linux/kvm.h as target/ppc/kvm.c and accel/kvm/kvm-all.c make them. The types are
// structural so that any host model offering these calls can run this QEMU.

import type { Memory } from "@stopsim/isa";

// linux: include/uapi/linux/kvm.h (values as the kernel defines them)
export const KVM_CAP_PPC_HTM = 132;
export const KVM_CAP_PPC_MMU_RADIX = 134;
export const KVM_CAP_PPC_FWNMI = 146;
export const KVM_CAP_PPC_SMT_POSSIBLE = 147;
export const KVM_CAP_PPC_GET_CPU_CHAR = 151;
export const KVM_CAP_PPC_NESTED_HV = 160;
export const KVM_CAP_PPC_FIXUP_HCALL = 103;
export const KVM_CAP_PPC_RPT_INVALIDATE = 193;
/** New in the host-probed design: KVM_CAP_STOP (the host enables guest stop). */
export const KVM_CAP_STOP = 0x53540001;
/** New in the capability design: "this KVM handles guest lite stop" (native or trap + emulate). */
export const KVM_CAP_PPC_GUEST_STOP = 0x53540002;

export const KVM_EXIT_UNKNOWN = 0;
export const KVM_EXIT_SHUTDOWN = 8;
export const KVM_EXIT_INTERNAL_ERROR = 17;
export const KVM_EXIT_PAPR_HCALL = 19;
export const KVM_EXIT_SYSTEM_EVENT = 24;

/** KVM_GET_REGS / KVM_SET_REGS on powerpc (linux: arch/powerpc/include/uapi/asm/kvm.h struct kvm_regs). */
export interface KvmRegs {
  pc: bigint;
  cr: bigint;
  ctr: bigint;
  lr: bigint;
  xer: bigint;
  msr: bigint;
  srr0: bigint;
  srr1: bigint;
  pid: bigint;
  sprg0: bigint;
  sprg1: bigint;
  sprg2: bigint;
  sprg3: bigint;
  sprg4: bigint;
  sprg5: bigint;
  sprg6: bigint;
  sprg7: bigint;
  gpr: bigint[];
}

/** One kvm_run exit as QEMU's kvm_arch_handle_exit sees it. */
export interface KvmRunExit {
  readonly reason: number;
  /** KVM_EXIT_PAPR_HCALL: QEMU sets `ret`, KVM puts it in r3 on the next KVM_RUN. */
  readonly paprHcall?: { readonly nr: number; readonly args: readonly bigint[]; ret: bigint };
  /** KVM_EXIT_INTERNAL_ERROR / FAIL_ENTRY detail for the report. */
  readonly detail?: string;
}

export interface KvmVcpuFd {
  readonly id: number;
  getOneReg(id: bigint): bigint | number;
  setOneReg(id: bigint, value: bigint): number;
  getRegs(): KvmRegs | number;
  setRegs(regs: KvmRegs): number;
  /** KVM_RUN: runs until an exit userspace must handle, then calls onExit from the event loop. */
  run(onExit: (exit: KvmRunExit) => void): number;
  /** Interrupts a running KVM_RUN (a signal to the vCPU thread): onExit gets KVM_EXIT_INTR. */
  kick?(): void;
}

export interface KvmUserMemoryRegion {
  readonly slot: number;
  readonly flags: number;
  readonly guestPhysAddr: number;
  readonly memorySize: number;
  readonly memory: Memory;
}

export interface KvmVmFd {
  checkExtension(cap: number): number;
  enableCap(cap: number, args?: readonly number[]): number;
  createVcpu(id: number, software: unknown): KvmVcpuFd | number;
  setUserMemoryRegion(region: KvmUserMemoryRegion): number;
}

export interface KvmSystemFd {
  checkExtension(cap: number): number;
  createVm(): KvmVmFd | number;
}
