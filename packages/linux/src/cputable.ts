// CPU feature bits, user-visible feature bits and the POWER9 entries of the cpu table, shared by
// the host (powernv) and guest (pseries) kernels: one tree, two platforms.
// linux: arch/powerpc/include/asm/cputable.h (CPU_FTR_* values of v5.6/v5.7, where
// CPU_FTR_ARCH_300 is 0x20000), arch/powerpc/include/uapi/asm/cputable.h (PPC_FEATURE*),
// arch/powerpc/kernel/cputable.c (cpu_specs[], identify_cpu), arch/powerpc/include/asm/dt_cpu_ftrs.h
// and arch/powerpc/kernel/dt_cpu_ftrs.c (the base set dt_cpu_ftrs starts from).

export const CPU_FTR_COHERENT_ICACHE = 0x0000000000000001n;
export const CPU_FTR_ALTIVEC = 0x0000000000000002n;
export const CPU_FTR_DBELL = 0x0000000000000004n;
export const CPU_FTR_CAN_NAP = 0x0000000000000008n;
export const CPU_FTR_DEBUG_LVL_EXC = 0x0000000000000010n;
export const CPU_FTR_NODSISRALIGN = 0x0000000000000020n;
export const CPU_FTR_FPU_UNAVAILABLE = 0x0000000000000040n;
export const CPU_FTR_LWSYNC = 0x0000000000000080n;
export const CPU_FTR_NOEXECUTE = 0x0000000000000100n;
export const CPU_FTR_EMB_HV = 0x0000000000000200n;
export const CPU_FTR_REAL_LE = 0x0000000000001000n;
export const CPU_FTR_HVMODE = 0x0000000000002000n;
export const CPU_FTR_ARCH_206 = 0x0000000000008000n;
export const CPU_FTR_ARCH_207S = 0x0000000000010000n;
export const CPU_FTR_ARCH_300 = 0x0000000000020000n;
export const CPU_FTR_MMCRA = 0x0000000000040000n;
export const CPU_FTR_CTRL = 0x0000000000080000n;
export const CPU_FTR_SMT = 0x0000000000100000n;
export const CPU_FTR_PAUSE_ZERO = 0x0000000000200000n;
export const CPU_FTR_PURR = 0x0000000000400000n;
export const CPU_FTR_CELL_TB_BUG = 0x0000000000800000n;
export const CPU_FTR_SPURR = 0x0000000001000000n;
export const CPU_FTR_DSCR = 0x0000000002000000n;
export const CPU_FTR_VSX = 0x0000000004000000n;
export const CPU_FTR_SAO = 0x0000000008000000n;
export const CPU_FTR_CP_USE_DCBTZ = 0x0000000010000000n;
export const CPU_FTR_UNALIGNED_LD_STD = 0x0000000020000000n;
export const CPU_FTR_ASYM_SMT = 0x0000000040000000n;
export const CPU_FTR_STCX_CHECKS_ADDRESS = 0x0000000080000000n;
export const CPU_FTR_POPCNTB = 0x0000000100000000n;
export const CPU_FTR_POPCNTD = 0x0000000200000000n;
export const CPU_FTR_PKEY = 0x0000000400000000n;
export const CPU_FTR_VMX_COPY = 0x0000000800000000n;
export const CPU_FTR_TM = 0x0000001000000000n;
export const CPU_FTR_CFAR = 0x0000002000000000n;
export const CPU_FTR_HAS_PPR = 0x0000004000000000n;
export const CPU_FTR_DAWR = 0x0000008000000000n;
export const CPU_FTR_DABRX = 0x0000010000000000n;
export const CPU_FTR_PMAO_BUG = 0x0000020000000000n;
export const CPU_FTR_POWER9_DD2_1 = 0x0000080000000000n;
export const CPU_FTR_P9_TM_HV_ASSIST = 0x0000100000000000n;
export const CPU_FTR_P9_TM_XER_SO_BUG = 0x0000200000000000n;
export const CPU_FTR_P9_TLBIE_STQ_BUG = 0x0000400000000000n;
export const CPU_FTR_P9_TIDR = 0x0000800000000000n;
export const CPU_FTR_P9_TLBIE_ERAT_BUG = 0x0001000000000000n;
export const CPU_FTR_P9_RADIX_PREFETCH_BUG = 0x0002000000000000n;

/** Both kernels are built with CONFIG_PPC_TRANSACTIONAL_MEM (distribution configs of 2020 are). */
export const CPU_FTR_TM_COMP = CPU_FTR_TM;
export const CPU_FTR_PPCAS_ARCH_V2 = CPU_FTR_NOEXECUTE | CPU_FTR_NODSISRALIGN;

/** linux: arch/powerpc/include/asm/dt_cpu_ftrs.h CPU_FTRS_DT_CPU_BASE */
export const CPU_FTRS_DT_CPU_BASE =
  CPU_FTR_LWSYNC |
  CPU_FTR_FPU_UNAVAILABLE |
  CPU_FTR_NODSISRALIGN |
  CPU_FTR_NOEXECUTE |
  CPU_FTR_COHERENT_ICACHE |
  CPU_FTR_STCX_CHECKS_ADDRESS |
  CPU_FTR_POPCNTB |
  CPU_FTR_POPCNTD |
  CPU_FTR_DAWR |
  CPU_FTR_ARCH_206 |
  CPU_FTR_ARCH_207S;

/** The features POWER8 and POWER9 share (cputable.h CPU_FTRS_POWER8 without DAWR). */
const CPU_FTRS_BOOK3S_64_COMMON =
  CPU_FTR_LWSYNC |
  CPU_FTR_PPCAS_ARCH_V2 |
  CPU_FTR_CTRL |
  CPU_FTR_ARCH_206 |
  CPU_FTR_MMCRA |
  CPU_FTR_SMT |
  CPU_FTR_COHERENT_ICACHE |
  CPU_FTR_PURR |
  CPU_FTR_SPURR |
  CPU_FTR_REAL_LE |
  CPU_FTR_DSCR |
  CPU_FTR_SAO |
  CPU_FTR_STCX_CHECKS_ADDRESS |
  CPU_FTR_POPCNTB |
  CPU_FTR_POPCNTD |
  CPU_FTR_CFAR |
  CPU_FTR_HVMODE |
  CPU_FTR_VMX_COPY |
  CPU_FTR_DBELL |
  CPU_FTR_HAS_PPR |
  CPU_FTR_ARCH_207S |
  CPU_FTR_TM_COMP |
  CPU_FTR_PKEY;

/** linux: cputable.h CPU_FTRS_POWER8 */
export const CPU_FTRS_POWER8 = CPU_FTRS_BOOK3S_64_COMMON | CPU_FTR_DAWR;
/**
 * linux: cputable.h CPU_FTRS_POWER9 (no DAWR: POWER9's DAWR is broken), with ARCH_300, the
 * TLBIE bugs and TIDR: the PVR table's set, used when there is no dt-cpu-features node.
 */
export const CPU_FTRS_POWER9 =
  CPU_FTRS_BOOK3S_64_COMMON |
  CPU_FTR_ARCH_300 |
  CPU_FTR_P9_TLBIE_STQ_BUG |
  CPU_FTR_P9_TLBIE_ERAT_BUG |
  CPU_FTR_P9_TIDR;
export const CPU_FTRS_POWER9_DD2_0 = CPU_FTRS_POWER9;
export const CPU_FTRS_POWER9_DD2_1 = CPU_FTRS_POWER9 | CPU_FTR_POWER9_DD2_1;
export const CPU_FTRS_POWER9_DD2_2 =
  CPU_FTRS_POWER9 | CPU_FTR_POWER9_DD2_1 | CPU_FTR_P9_TM_HV_ASSIST | CPU_FTR_P9_TM_XER_SO_BUG;
/** Conservative set used for an unknown PVR (linux: cputable.c "default match"). */
export const CPU_FTRS_COMPATIBLE = CPU_FTR_PPCAS_ARCH_V2;

/** Names of the feature bits, in bit order, for the boot logs of both kernels. */
export const CPU_FTR_NAMES: ReadonlyArray<readonly [string, bigint]> = [
  ["COHERENT_ICACHE", CPU_FTR_COHERENT_ICACHE],
  ["ALTIVEC", CPU_FTR_ALTIVEC],
  ["DBELL", CPU_FTR_DBELL],
  ["CAN_NAP", CPU_FTR_CAN_NAP],
  ["DEBUG_LVL_EXC", CPU_FTR_DEBUG_LVL_EXC],
  ["NODSISRALIGN", CPU_FTR_NODSISRALIGN],
  ["FPU_UNAVAILABLE", CPU_FTR_FPU_UNAVAILABLE],
  ["LWSYNC", CPU_FTR_LWSYNC],
  ["NOEXECUTE", CPU_FTR_NOEXECUTE],
  ["EMB_HV", CPU_FTR_EMB_HV],
  ["REAL_LE", CPU_FTR_REAL_LE],
  ["HVMODE", CPU_FTR_HVMODE],
  ["ARCH_206", CPU_FTR_ARCH_206],
  ["ARCH_207S", CPU_FTR_ARCH_207S],
  ["ARCH_300", CPU_FTR_ARCH_300],
  ["MMCRA", CPU_FTR_MMCRA],
  ["CTRL", CPU_FTR_CTRL],
  ["SMT", CPU_FTR_SMT],
  ["PAUSE_ZERO", CPU_FTR_PAUSE_ZERO],
  ["PURR", CPU_FTR_PURR],
  ["CELL_TB_BUG", CPU_FTR_CELL_TB_BUG],
  ["SPURR", CPU_FTR_SPURR],
  ["DSCR", CPU_FTR_DSCR],
  ["VSX", CPU_FTR_VSX],
  ["SAO", CPU_FTR_SAO],
  ["CP_USE_DCBTZ", CPU_FTR_CP_USE_DCBTZ],
  ["UNALIGNED_LD_STD", CPU_FTR_UNALIGNED_LD_STD],
  ["ASYM_SMT", CPU_FTR_ASYM_SMT],
  ["STCX_CHECKS_ADDRESS", CPU_FTR_STCX_CHECKS_ADDRESS],
  ["POPCNTB", CPU_FTR_POPCNTB],
  ["POPCNTD", CPU_FTR_POPCNTD],
  ["PKEY", CPU_FTR_PKEY],
  ["VMX_COPY", CPU_FTR_VMX_COPY],
  ["TM", CPU_FTR_TM],
  ["CFAR", CPU_FTR_CFAR],
  ["HAS_PPR", CPU_FTR_HAS_PPR],
  ["DAWR", CPU_FTR_DAWR],
  ["DABRX", CPU_FTR_DABRX],
  ["PMAO_BUG", CPU_FTR_PMAO_BUG],
  ["POWER9_DD2_1", CPU_FTR_POWER9_DD2_1],
  ["P9_TM_HV_ASSIST", CPU_FTR_P9_TM_HV_ASSIST],
  ["P9_TM_XER_SO_BUG", CPU_FTR_P9_TM_XER_SO_BUG],
  ["P9_TLBIE_STQ_BUG", CPU_FTR_P9_TLBIE_STQ_BUG],
  ["P9_TIDR", CPU_FTR_P9_TIDR],
  ["P9_TLBIE_ERAT_BUG", CPU_FTR_P9_TLBIE_ERAT_BUG],
  ["P9_RADIX_PREFETCH_BUG", CPU_FTR_P9_RADIX_PREFETCH_BUG],
];

/** The names of the bits set in `ftrs`, in bit order. */
export function cpuFeatureNames(ftrs: bigint): string[] {
  return CPU_FTR_NAMES.filter(([, bit]) => (ftrs & bit) !== 0n).map(([name]) => name);
}

// User-visible features (AT_HWCAP / AT_HWCAP2), linux: arch/powerpc/include/uapi/asm/cputable.h.
export const PPC_FEATURE_32 = 0x80000000;
export const PPC_FEATURE_64 = 0x40000000;
export const PPC_FEATURE_HAS_ALTIVEC = 0x10000000;
export const PPC_FEATURE_HAS_FPU = 0x08000000;
export const PPC_FEATURE_HAS_MMU = 0x04000000;
export const PPC_FEATURE_SMT = 0x00004000;
export const PPC_FEATURE_ICACHE_SNOOP = 0x00002000;
export const PPC_FEATURE_HAS_DFP = 0x00000400;
export const PPC_FEATURE_ARCH_2_06 = 0x00000100;
export const PPC_FEATURE_HAS_VSX = 0x00000080;
export const PPC_FEATURE_PSERIES_PERFMON_COMPAT = 0x00000040;
export const PPC_FEATURE_TRUE_LE = 0x00000002;
export const PPC_FEATURE2_ARCH_2_07 = 0x80000000;
export const PPC_FEATURE2_HTM = 0x40000000;
export const PPC_FEATURE2_DSCR = 0x20000000;
export const PPC_FEATURE2_ISEL = 0x08000000;
export const PPC_FEATURE2_TAR = 0x04000000;
export const PPC_FEATURE2_VEC_CRYPTO = 0x02000000;
export const PPC_FEATURE2_HTM_NOSC = 0x01000000;
export const PPC_FEATURE2_ARCH_3_00 = 0x00800000;
export const PPC_FEATURE2_HAS_IEEE128 = 0x00400000;
export const PPC_FEATURE2_DARN = 0x00200000;
export const PPC_FEATURE2_SCV = 0x00100000;

/** linux: arch/powerpc/kernel/dt_cpu_ftrs.c COMMON_USER_BASE / COMMON_USER2_BASE (the base cpu_spec). */
export const COMMON_USER_BASE =
  (PPC_FEATURE_32 | PPC_FEATURE_64 | PPC_FEATURE_ARCH_2_06 | PPC_FEATURE_ICACHE_SNOOP) >>> 0;
export const COMMON_USER2_BASE = (PPC_FEATURE2_ARCH_2_07 | PPC_FEATURE2_ISEL) >>> 0;

// linux: arch/powerpc/kernel/cputable.c (v5.7): COMMON_USER = 32 | FPU | MMU, COMMON_USER_PPC64 adds
// PPC_FEATURE_64; COMMON_USER_POWER8 = COMMON_USER_PPC64 | ARCH_2_06 | SMT | ICACHE_SNOOP | TRUE_LE |
// PSERIES_PERFMON_COMPAT and COMMON_USER_POWER9 = COMMON_USER_POWER8; the AT_HWCAP2 sets as built
// with CONFIG_PPC_TRANSACTIONAL_MEM (HTM_COMP = HTM, HTM_NOSC_COMP = HTM_NOSC).
/** The compatible default entry's user features (COMMON_USER_PPC64). */
export const COMMON_USER_PPC64 =
  (PPC_FEATURE_32 | PPC_FEATURE_HAS_FPU | PPC_FEATURE_HAS_MMU | PPC_FEATURE_64) >>> 0;
export const COMMON_USER_POWER8 =
  (COMMON_USER_PPC64 |
    PPC_FEATURE_ARCH_2_06 |
    PPC_FEATURE_SMT |
    PPC_FEATURE_ICACHE_SNOOP |
    PPC_FEATURE_TRUE_LE |
    PPC_FEATURE_PSERIES_PERFMON_COMPAT) >>>
  0;
export const COMMON_USER2_POWER8 =
  (PPC_FEATURE2_ARCH_2_07 |
    PPC_FEATURE2_HTM |
    PPC_FEATURE2_HTM_NOSC |
    PPC_FEATURE2_DSCR |
    PPC_FEATURE2_ISEL |
    PPC_FEATURE2_TAR |
    PPC_FEATURE2_VEC_CRYPTO) >>>
  0;
export const COMMON_USER_POWER9 = COMMON_USER_POWER8;
export const COMMON_USER2_POWER9 =
  (COMMON_USER2_POWER8 |
    PPC_FEATURE2_ARCH_3_00 |
    PPC_FEATURE2_HAS_IEEE128 |
    PPC_FEATURE2_DARN |
    PPC_FEATURE2_SCV) >>>
  0;

/** MMU features read from ibm,pa-features (linux: arch/powerpc/include/asm/mmu.h). */
export const MMU_FTR_CI_LARGE_PAGE = 0x00001000n;
export const MMU_FTR_TYPE_RADIX = 0x00000040n;

// Logical ("architected") PVRs of the compatibility modes (linux: arch/powerpc/include/asm/reg.h).
export const PVR_ARCH_205 = 0x0f000002;
export const PVR_ARCH_206 = 0x0f000003;
export const PVR_ARCH_206p = 0x0f100003;
/** ISA 2.07 (POWER8) compatibility mode. */
export const PVR_ARCH_207 = 0x0f000004;
/** ISA 3.00 compatibility mode. */
export const PVR_ARCH_300 = 0x0f000005;

/** One entry of the cpu table (linux: struct cpu_spec, the fields this model uses). */
export interface CpuTableEntry {
  readonly pvrMask: number;
  readonly pvrValue: number;
  readonly cpuName: string;
  readonly cpuFeatures: bigint;
  /** cpu_user_features / cpu_user_features2 (AT_HWCAP / AT_HWCAP2). */
  readonly cpuUserFeatures: number;
  readonly cpuUserFeatures2: number;
  readonly platform: string;
}

function entry(
  pvrMask: number,
  pvrValue: number,
  cpuName: string,
  cpuFeatures: bigint,
  power9: boolean,
): CpuTableEntry {
  return {
    pvrMask,
    pvrValue,
    cpuName,
    cpuFeatures,
    cpuUserFeatures: power9 ? COMMON_USER_POWER9 : COMMON_USER_POWER8,
    cpuUserFeatures2: power9 ? COMMON_USER2_POWER9 : COMMON_USER2_POWER8,
    platform: power9 ? "power9" : "power8",
  };
}

// linux: arch/powerpc/kernel/cputable.c cpu_specs[] (the 64-bit server entries this model needs,
// in table order: the first match wins).
export const CPU_SPECS: readonly CpuTableEntry[] = [
  entry(0xffffffff, PVR_ARCH_207, "POWER8 (architected)", CPU_FTRS_POWER8, false),
  entry(0xffffffff, PVR_ARCH_300, "POWER9 (architected)", CPU_FTRS_POWER9, true),
  entry(0xffff0000, 0x004d0000, "POWER8 (raw)", CPU_FTRS_POWER8, false),
  entry(0xffffefff, 0x004e0200, "POWER9 (raw)", CPU_FTRS_POWER9_DD2_0, true),
  entry(0xffffefff, 0x004e0201, "POWER9 (raw)", CPU_FTRS_POWER9_DD2_1, true),
  entry(0xffff0000, 0x004e0000, "POWER9 (raw)", CPU_FTRS_POWER9_DD2_2, true),
  {
    pvrMask: 0x00000000,
    pvrValue: 0x00000000,
    cpuName: "POWER4 (compatible)",
    cpuFeatures: CPU_FTRS_COMPATIBLE,
    cpuUserFeatures: COMMON_USER_PPC64,
    cpuUserFeatures2: 0,
    platform: "power4",
  },
];

// linux: arch/powerpc/kernel/cputable.c identify_cpu
export function identifyCpu(pvr: number): CpuTableEntry {
  const p = pvr >>> 0;
  for (const s of CPU_SPECS) {
    if ((p & s.pvrMask) >>> 0 === s.pvrValue >>> 0) return s;
  }
  return CPU_SPECS[CPU_SPECS.length - 1];
}
