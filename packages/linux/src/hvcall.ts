// PAPR hypercall numbers and return codes as the kernel defines them for both sides of the
// interface: the pseries guest makes these calls, KVM HV on the powernv host handles them.
// linux: arch/powerpc/include/asm/hvcall.h (v5.7). The PAPR numbers are the same on every side of
// the interface: real QEMU keeps a copy of them in include/hw/ppc/spapr.h (hvcall.h is not a uapi
// header it could import into linux-headers/), this model's QEMU takes them from here.

export const H_SUCCESS = 0;
export const H_BUSY = 1;
export const H_HARDWARE = -1;
export const H_FUNCTION = -2;
export const H_PRIVILEGE = -3;
export const H_PARAMETER = -4;
export const H_RESOURCE = -16;
/** Parameter 2..5 in error (the H_INT_* calls' return codes). */
export const H_P2 = -55;
export const H_P3 = -56;
export const H_P4 = -57;
export const H_P5 = -58;
/** Kernel-internal: a real-mode handler that cannot complete punts to virtual mode. */
export const H_TOO_HARD = 9999;

export const H_REMOVE = 0x04;
export const H_ENTER = 0x08;
export const H_READ = 0x0c;
export const H_CLEAR_MOD = 0x10;
export const H_CLEAR_REF = 0x14;
export const H_PROTECT = 0x18;
export const H_GET_TCE = 0x1c;
export const H_PUT_TCE = 0x20;
export const H_SET_SPRG0 = 0x24;
export const H_SET_DABR = 0x28;
export const H_PAGE_INIT = 0x2c;
export const H_SET_ASR = 0x30;
export const H_ASR_ON = 0x34;
export const H_ASR_OFF = 0x38;
export const H_LOGICAL_CI_LOAD = 0x3c;
export const H_LOGICAL_CI_STORE = 0x40;
/** The hypervisor virtual console (linux: drivers/tty/hvc/hvc_vio.c; qemu: hw/char/spapr_vty.c). */
export const H_GET_TERM_CHAR = 0x54;
export const H_PUT_TERM_CHAR = 0x58;
export const H_EOI = 0x64;
export const H_CPPR = 0x68;
export const H_IPI = 0x6c;
export const H_IPOLL = 0x70;
export const H_XIRR = 0x74;
export const H_PERFMON = 0x7c;
export const H_REGISTER_VPA = 0xdc;
export const H_CEDE = 0xe0;
export const H_CONFER = 0xe4;
export const H_PROD = 0xe8;
export const H_GET_PPP = 0xec;
export const H_SET_PPP = 0xf0;
export const H_GET_CPU_CHARACTERISTICS = 0x1c8;
export const H_BULK_REMOVE = 0x24c;
export const H_XIRR_X = 0x2fc;
export const H_RANDOM = 0x300;
export const H_SET_MODE = 0x31c;
/** sPAPR interrupt management (XIVE exploitation mode). */
export const H_INT_GET_SOURCE_INFO = 0x3a8;
export const H_INT_SET_SOURCE_CONFIG = 0x3ac;
export const H_INT_GET_SOURCE_CONFIG = 0x3b0;
export const H_INT_GET_QUEUE_INFO = 0x3b4;
export const H_INT_SET_QUEUE_CONFIG = 0x3b8;
export const H_INT_GET_QUEUE_CONFIG = 0x3bc;
export const H_INT_SET_OS_REPORTING_LINE = 0x3c0;
export const H_INT_GET_OS_REPORTING_LINE = 0x3c4;
export const H_INT_ESB = 0x3c8;
export const H_INT_SYNC = 0x3cc;
export const H_INT_RESET = 0x3d0;
/** H_SCM_HEALTH, the last hcall of the 2020 table. */
export const H_SCM_HEALTH = 0x400;
/** Highest hcall number KVM tracks in its enabled-hcall bitmap (v5.7: H_SCM_HEALTH). */
export const MAX_HCALL_OPCODE = H_SCM_HEALTH;
/**
 * Start of the platform-specific hcalls KVM leaves to userspace, in PAPR's 0xf000-0xfffc range
 * (qemu: include/hw/ppc/spapr.h KVMPPC_HCALL_BASE; hvcall.h names only H_RTAS there).
 */
export const KVMPPC_HCALL_BASE = 0xf000;
/** RTAS through an hcall (hvcall.h: "Platform specific hcalls, used by KVM"; QEMU's KVMPPC_H_RTAS). */
export const H_RTAS = KVMPPC_HCALL_BASE + 0x0;
/**
 * ibm,client-architecture-support through the firmware, which SLOF passes on as this hcall
 * (qemu: include/hw/ppc/spapr.h KVMPPC_H_CAS, hw/ppc/spapr_hcall.c h_client_architecture_support).
 */
export const KVMPPC_H_CAS = KVMPPC_HCALL_BASE + 0x2;

/** H_REGISTER_VPA sub-functions, in flags bits 45-47 (hvcall.h H_VPA_FUNC_SHIFT / MASK). */
export const H_VPA_FUNC_SHIFT = 45n;
export const H_VPA_FUNC_MASK = 7n;
export const H_VPA_REG_VPA = 1;
export const H_VPA_REG_DTL = 2;
export const H_VPA_REG_SLB = 3;
export const H_VPA_DEREG_VPA = 5;
export const H_VPA_DEREG_DTL = 6;
export const H_VPA_DEREG_SLB = 7;

/** H_SET_MODE resource: interrupt endianness (hvcall.h H_SET_MODE_RESOURCE_LE). */
export const H_SET_MODE_RESOURCE_LE = 4n;
