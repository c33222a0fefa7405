// The PAPR numbers and names the pseries guest kernel uses (papr.ts), pinned to the Linux sources
// they come from: module-level constants are static mutants (each would rerun a whole suite), so
// this fast suite checks them value by value.
import { describe, expect, it } from "vitest";
import {
  HYPERTAS_FW_FEATURES,
  QCSS_HARDWARE_BUSY,
  QCSS_HARDWARE_ERROR,
  QCSS_NOT_STOPPED,
  QCSS_STOPPED,
  QCSS_STOPPING,
  RTAS_BUSY,
  RTAS_UNKNOWN_SERVICE,
  XIVE_EQ_ALWAYS_NOTIFY,
  XIVE_SRC_MASK,
  XIVE_SRC_SET_EISN,
} from "./papr.js";

/** PPC_BIT(n): IBM bit numbering of a 64-bit word (linux: arch/powerpc/include/asm/bitops.h). */
const ppcBit = (n: number) => 1n << BigInt(63 - n);

describe("PAPR numbers (linux: arch/powerpc)", () => {
  it("RTAS status codes: include/asm/rtas.h RTAS_UNKNOWN_SERVICE (-1), RTAS_BUSY (-2)", () => {
    expect([RTAS_UNKNOWN_SERVICE, RTAS_BUSY]).toEqual([-1, -2]);
  });

  it("query-cpu-stopped-state results: platforms/pseries/pseries.h QCSS_*", () => {
    expect([QCSS_STOPPED, QCSS_STOPPING, QCSS_NOT_STOPPED, QCSS_HARDWARE_ERROR, QCSS_HARDWARE_BUSY]).toEqual([
      0, 1, 2, -1, -2,
    ]);
  });

  it("the H_INT_* flags: sysdev/xive/spapr.c XIVE_SRC_SET_EISN PPC_BIT(62), XIVE_SRC_MASK and XIVE_EQ_ALWAYS_NOTIFY PPC_BIT(63)", () => {
    expect([XIVE_SRC_SET_EISN, XIVE_SRC_MASK, XIVE_EQ_ALWAYS_NOTIFY]).toEqual([
      ppcBit(62),
      ppcBit(63),
      ppcBit(63),
    ]);
  });
});

describe("ibm,hypertas-functions (linux: platforms/pseries/firmware.c hypertas_fw_features_table)", () => {
  it("names the feature of each string modelled here as Linux's table does", () => {
    expect(HYPERTAS_FW_FEATURES).toEqual({
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
      // (sic: Linux's string has a capital LAN)
      "hcall-lLAN": "FW_FEATURE_LLAN",
      "hcall-bulk": "FW_FEATURE_BULK_REMOVE",
      "hcall-xdabr": "FW_FEATURE_XDABR",
      // FW_FEATURE_MULTITCE until Linux split it in two
      "hcall-multi-tce": "FW_FEATURE_PUT_TCE_IND | FW_FEATURE_STUFF_TCE",
      "hcall-splpar": "FW_FEATURE_SPLPAR",
      "hcall-vphn": "FW_FEATURE_VPHN",
      "hcall-set-mode": "FW_FEATURE_SET_MODE",
      "hcall-best-energy-1": "FW_FEATURE_BEST_ENERGY",
      "hcall-hpt-resize": "FW_FEATURE_HPT_RESIZE",
      "hcall-watchdog": "FW_FEATURE_WATCHDOG",
    });
  });

  it("QEMU's strings Linux has no entry for set no feature", () => {
    // qemu: hw/ppc/spapr.c spapr_dt_rtas also adds hcall-term and hcall-join
    for (const s of ["hcall-term", "hcall-join", "hcall-memop1"])
      expect(HYPERTAS_FW_FEATURES[s]).toBeUndefined();
  });
});
