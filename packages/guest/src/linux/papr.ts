// PAPR interfaces the pseries guest kernel uses: hypercall numbers and return codes
// (linux: arch/powerpc/include/asm/hvcall.h), RTAS argument blocks (linux:
// arch/powerpc/include/asm/rtas-types.h struct rtas_args) and the lppaca fields it reads
// (linux: arch/powerpc/include/asm/lppaca.h).

export const H_SUCCESS = 0;
export const H_BUSY = 1;
export const H_HARDWARE = -1;
export const H_FUNCTION = -2;
export const H_PRIVILEGE = -3;
export const H_PARAMETER = -4;
export const H_P2 = -55;
export const H_P3 = -56;

export const H_EOI = 0x64;
export const H_CPPR = 0x68;
export const H_IPI = 0x6c;
export const H_IPOLL = 0x70;
export const H_XIRR = 0x74;
export const H_REGISTER_VPA = 0xdc;
export const H_CEDE = 0xe0;
export const H_CONFER = 0xe4;
export const H_PROD = 0xe8;
export const H_SET_MODE = 0x31c;
/** H_SET_MODE resource: interrupt endianness (linux: arch/powerpc/include/asm/hvcall.h). */
export const H_SET_MODE_RESOURCE_LE = 4n;
/** RTAS through a hypercall (qemu: include/hw/ppc/spapr.h KVMPPC_H_RTAS). */
export const H_RTAS = 0xf000;

/** H_REGISTER_VPA sub-function "register VPA", in flags bits 16-18 (linux: hvcall.h). */
export const H_VPA_FUNC_SHIFT = 45n;
export const H_VPA_REG_VPA = 1n;

/** Size the kernel writes in the lppaca size field (linux: lppaca.h, 1 KiB for old KVM). */
export const LPPACA_SIZE = 0x400;
/** Offset of lppaca.size (be16). */
export const LPPACA_SIZE_OFFSET = 4;
/** Offset of lppaca.__old_status (u8). */
export const LPPACA_OLD_STATUS_OFFSET = 9;
/** Shared-processor bit of __old_status (linux: lppaca.h LPPACA_OLD_SHARED_PROC). */
export const LPPACA_OLD_SHARED_PROC = 2;
/** XICS interrupt numbers and priorities (linux: arch/powerpc/include/asm/xics.h). */
export const XICS_IRQ_SPURIOUS = 0;
export const XICS_IPI = 2;
export const IPI_PRIORITY = 4;
export const DEFAULT_PRIORITY = 5;
export const LOWEST_PRIORITY = 0xff;

/** RTAS status codes (PAPR; linux: arch/powerpc/include/asm/rtas.h). */
export const RTAS_UNKNOWN_SERVICE = -1;
export const RTAS_BUSY = -2;

/** query-cpu-stopped-state results (linux: arch/powerpc/platforms/pseries/smp.c). */
export const QCSS_STOPPED = 0;
export const QCSS_STOPPING = 1;
export const QCSS_NOT_STOPPED = 2;
export const QCSS_HARDWARE_ERROR = -1;
export const QCSS_HARDWARE_BUSY = -2;

/** firmware features from /rtas ibm,hypertas-functions (linux: platforms/pseries/firmware.c). */
export const HYPERTAS_FW_FEATURES: Readonly<Record<string, string>> = {
  "hcall-pft": "FW_FEATURE_PFT",
  "hcall-tce": "FW_FEATURE_TCE",
  "hcall-sprg0": "FW_FEATURE_SPRG0",
  "hcall-dabr": "FW_FEATURE_DABR",
  "hcall-copy": "FW_FEATURE_COPY",
  "hcall-asr": "FW_FEATURE_ASR",
  "hcall-debug": "FW_FEATURE_DEBUG",
  "hcall-perf": "FW_FEATURE_PERF",
  "hcall-dump": "FW_FEATURE_DUMP",
  "hcall-interrupt": "FW_FEATURE_INTERRUPT",
  "hcall-migrate": "FW_FEATURE_MIGRATE",
  "hcall-perfmon": "FW_FEATURE_PERFMON",
  "hcall-crq": "FW_FEATURE_CRQ",
  "hcall-vio": "FW_FEATURE_VIO",
  "hcall-rdma": "FW_FEATURE_RDMA",
  "hcall-lpar": "FW_FEATURE_LLAN",
  "hcall-bulk": "FW_FEATURE_BULK_REMOVE",
  "hcall-xdabr": "FW_FEATURE_XDABR",
  "hcall-multi-tce": "FW_FEATURE_PUT_TCE_IND | FW_FEATURE_STUFF_TCE",
  "hcall-splpar": "FW_FEATURE_SPLPAR",
  "hcall-vphn": "FW_FEATURE_VPHN",
  "hcall-set-mode": "FW_FEATURE_SET_MODE",
  "hcall-best-energy-1": "FW_FEATURE_BEST_ENERGY",
  "hcall-hpt-resize": "FW_FEATURE_HPT_RESIZE",
  "hcall-watchdog": "FW_FEATURE_WATCHDOG",
  "hcall-join": "FW_FEATURE_JOIN",
};

/** sPAPR interrupt management hcalls (linux: arch/powerpc/include/asm/hvcall.h). */
export const H_INT_GET_SOURCE_INFO = 0x3a8;
export const H_INT_SET_SOURCE_CONFIG = 0x3ac;
export const H_INT_GET_SOURCE_CONFIG = 0x3b0;
export const H_INT_GET_QUEUE_INFO = 0x3b4;
export const H_INT_SET_QUEUE_CONFIG = 0x3b8;
export const H_INT_GET_QUEUE_CONFIG = 0x3bc;
export const H_INT_ESB = 0x3c8;
export const H_INT_SYNC = 0x3cc;
export const H_INT_RESET = 0x3d0;
/** Flags of the H_INT_* calls (linux: arch/powerpc/sysdev/xive/spapr.c, IBM bit numbering). */
export const XIVE_SRC_SET_EISN = 1n << 1n; // PPC_BIT(62)
export const XIVE_SRC_MASK = 1n << 0n; // PPC_BIT(63)
export const XIVE_EQ_ALWAYS_NOTIFY = 1n << 0n; // PPC_BIT(63)
/** Client architecture support through the firmware (qemu: include/hw/ppc/spapr.h KVMPPC_H_CAS). */
export const KVMPPC_H_CAS = 0xf002;
