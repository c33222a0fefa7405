// The feature words and cpu table entries pinned to the 2020 kernel's definitions
// (linux: arch/powerpc/include/asm/cputable.h, arch/powerpc/kernel/cputable.c,
// arch/powerpc/include/uapi/asm/cputable.h), so neither kernel's view can drift.
import { describe, expect, it } from "vitest";
import {
  COMMON_USER_POWER9,
  COMMON_USER2_POWER9,
  CPU_FTR_DAWR,
  CPU_FTR_P9_TLBIE_ERAT_BUG,
  CPU_FTRS_POWER8,
  CPU_FTRS_POWER9,
  CPU_FTRS_POWER9_DD2_1,
  CPU_FTRS_POWER9_DD2_2,
  cpuFeatureNames,
  identifyCpu,
} from "./cputable.js";

describe("cputable", () => {
  it("has the POWER8 and POWER9 feature words of cputable.h (v5.7), summed by hand from the bits", () => {
    expect(CPU_FTRS_POWER8).toBe(0x000000ff8b5db1a5n);
    expect(CPU_FTRS_POWER9).toBe(0x0001c07f8b5fb1a5n);
    // POWER9's DAWR is left out (it does not work), the TLBIE erratum is in
    expect(CPU_FTRS_POWER9 & CPU_FTR_DAWR).toBe(0n);
    expect(CPU_FTRS_POWER9 & CPU_FTR_P9_TLBIE_ERAT_BUG).toBe(CPU_FTR_P9_TLBIE_ERAT_BUG);
  });

  it("has the POWER9 user features (AT_HWCAP / AT_HWCAP2)", () => {
    expect(COMMON_USER_POWER9).toBe(0xcc000142);
    expect(COMMON_USER2_POWER9).toBe(0xeff00000);
  });

  it("identify_cpu: first matching entry, DD levels by PVR, architected PVRs, the default", () => {
    expect(identifyCpu(0x004e0200).cpuFeatures).toBe(CPU_FTRS_POWER9);
    expect(identifyCpu(0x004e1201).cpuFeatures).toBe(CPU_FTRS_POWER9_DD2_1);
    expect(identifyCpu(0x004e1202).cpuFeatures).toBe(CPU_FTRS_POWER9_DD2_2);
    expect(identifyCpu(0x004e1203).cpuFeatures).toBe(CPU_FTRS_POWER9_DD2_2);
    expect(identifyCpu(0x0f000004).cpuName).toBe("POWER8 (architected)");
    expect(identifyCpu(0x0f000005).platform).toBe("power9");
    expect(identifyCpu(0x004d0200).cpuFeatures).toBe(CPU_FTRS_POWER8);
    expect(identifyCpu(0x12345678).cpuName).toBe("POWER4 (compatible)");
  });

  it("names the set bits in bit order", () => {
    expect(cpuFeatureNames(CPU_FTRS_POWER9_DD2_2).slice(-6)).toEqual([
      "POWER9_DD2_1",
      "P9_TM_HV_ASSIST",
      "P9_TM_XER_SO_BUG",
      "P9_TLBIE_STQ_BUG",
      "P9_TIDR",
      "P9_TLBIE_ERAT_BUG",
    ]);
  });
});
