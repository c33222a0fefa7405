// PAPR interfaces only the pseries guest kernel uses: RTAS status codes and argument conventions
// (linux: arch/powerpc/include/asm/rtas.h), query-cpu-stopped-state results and the firmware
// features of /rtas ibm,hypertas-functions. The hcall numbers, the lppaca fields and the XICS
// constants both kernels use live in @stopsim/linux.

/** RTAS status codes (PAPR; linux: arch/powerpc/include/asm/rtas.h). */
export const RTAS_UNKNOWN_SERVICE = -1;
export const RTAS_BUSY = -2;
/** Extended delay hints 9900..9905: retry after 10^(status - 9900) ms. */
export const RTAS_EXTENDED_DELAY_MIN = 9900;
export const RTAS_EXTENDED_DELAY_MAX = 9905;

/**
 * query-cpu-stopped-state results (linux: arch/powerpc/platforms/pseries/pseries.h, used by
 * smp.c smp_query_cpu_stopped).
 */
export const QCSS_STOPPED = 0;
export const QCSS_STOPPING = 1;
export const QCSS_NOT_STOPPED = 2;
export const QCSS_HARDWARE_ERROR = -1;
export const QCSS_HARDWARE_BUSY = -2;

/**
 * firmware features from /rtas ibm,hypertas-functions (linux: platforms/pseries/firmware.c
 * hypertas_fw_features_table; Linux matches "hcall-best-energy-1*" as a prefix, the others whole).
 * A string Linux has no entry for sets nothing (QEMU also offers "hcall-term" and "hcall-join").
 */
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
  "hcall-lLAN": "FW_FEATURE_LLAN",
  "hcall-bulk": "FW_FEATURE_BULK_REMOVE",
  "hcall-xdabr": "FW_FEATURE_XDABR",
  "hcall-multi-tce": "FW_FEATURE_PUT_TCE_IND | FW_FEATURE_STUFF_TCE",
  "hcall-splpar": "FW_FEATURE_SPLPAR",
  "hcall-vphn": "FW_FEATURE_VPHN",
  "hcall-set-mode": "FW_FEATURE_SET_MODE",
  "hcall-best-energy-1": "FW_FEATURE_BEST_ENERGY",
  "hcall-hpt-resize": "FW_FEATURE_HPT_RESIZE",
  "hcall-watchdog": "FW_FEATURE_WATCHDOG",
};
/** Flags of the H_INT_* calls (linux: arch/powerpc/sysdev/xive/spapr.c, IBM bit numbering). */
export const XIVE_SRC_SET_EISN = 1n << 1n; // PPC_BIT(62)
export const XIVE_SRC_MASK = 1n << 0n; // PPC_BIT(63)
export const XIVE_EQ_ALWAYS_NOTIFY = 1n << 0n; // PPC_BIT(63)
