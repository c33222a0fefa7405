// The feature words and cpu table entries pinned to the 2020 kernel's definitions
// (linux: arch/powerpc/include/asm/cputable.h, arch/powerpc/kernel/cputable.c,
// arch/powerpc/include/uapi/asm/cputable.h), so neither kernel's view can drift.
import { describe, expect, it } from "vitest";
import * as cputable from "./cputable.js";
import {
  COMMON_USER_POWER9,
  COMMON_USER2_POWER9,
  CPU_FTR_DAWR,
  CPU_FTR_NAMES,
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
    // COMMON_USER_POWER8 (= POWER9): 32 | 64 | FPU | MMU | SMT | ICACHE_SNOOP | ARCH_2_06 |
    // PSERIES_PERFMON_COMPAT | TRUE_LE
    expect(COMMON_USER_POWER9).toBe(0xcc006142);
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

  it("each boot-log name is its CPU_FTR_ constant's name, one bit each, in bit order", () => {
    const exported = cputable as unknown as Record<string, unknown>;
    let last = 0n;
    for (const [ftr, bit] of CPU_FTR_NAMES) {
      expect([ftr, exported[`CPU_FTR_${ftr}`]]).toEqual([ftr, bit]);
      expect(bit & (bit - 1n)).toBe(0n);
      expect(bit > last).toBe(true);
      last = bit;
    }
    expect(cpuFeatureNames(CPU_FTRS_POWER9)).toContain("ARCH_300");
    expect(cpuFeatureNames(CPU_FTRS_POWER8)).not.toContain("ARCH_300");
  });

  it("cpu_specs[]: each entry's cpu_name, platform and AT_HWCAP/AT_HWCAP2 (cputable.c v5.7)", () => {
    // AT_HWCAP: COMMON_USER_POWER8 (0xcc006142) for POWER8 and POWER9 alike;
    // AT_HWCAP2 POWER8 = ARCH_2_07 | HTM | DSCR | ISEL | TAR | VEC_CRYPTO | HTM_NOSC = 0xef000000,
    // POWER9 adds ARCH_3_00 | IEEE128 | DARN | SCV = 0xeff00000; the default entry is
    // COMMON_USER_PPC64 (32 | 64 | FPU | MMU = 0xcc000000) with no AT_HWCAP2.
    const row = (pvr: number) => {
      const s = identifyCpu(pvr);
      return [s.cpuName, s.platform, s.cpuUserFeatures >>> 0, s.cpuUserFeatures2 >>> 0];
    };
    expect(row(0x0f000004)).toEqual(["POWER8 (architected)", "power8", 0xcc006142, 0xef000000]);
    expect(row(0x0f000005)).toEqual(["POWER9 (architected)", "power9", 0xcc006142, 0xeff00000]);
    expect(row(0x004d0200)).toEqual(["POWER8 (raw)", "power8", 0xcc006142, 0xef000000]);
    for (const pvr of [0x004e0200, 0x004e1201, 0x004e1202])
      expect(row(pvr)).toEqual(["POWER9 (raw)", "power9", 0xcc006142, 0xeff00000]);
    expect(row(0x12345678)).toEqual(["POWER4 (compatible)", "power4", 0xcc000000, 0]);
  });
});
