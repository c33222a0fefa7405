// /cpus/ibm,powerpc-cpu-features: the dt-cpu-features table and its gating by CPU and DD level.
// skiboot: core/cpufeatures.c (cpu_features_table, add_cpu_feature_nodeps,
// add_cpufeatures_dependencies, dt_add_cpufeatures), POWER8/POWER9 entries as of 2020 (the
// POWER10 entries added later do not match any POWER9 and are left out). Binding:
// linux: Documentation/devicetree/bindings/powerpc/ibm,powerpc-cpu-features.txt.

import type { ChipModel } from "@stopsim/isa";
import type { FirmwareVersion } from "./firmware.js";

/* Device-tree visible constants (skiboot: core/cpufeatures.c) */
export const ISA_BASE = 0;
export const ISA_V2_07B = 2070;
export const ISA_V3_0B = 3000;

export const USABLE_PR = 1 << 0;
export const USABLE_OS = 1 << 1;
export const USABLE_HV = 1 << 2;

export const HV_SUPPORT_HFSCR = 1 << 0;
export const OS_SUPPORT_FSCR = 1 << 0;

/* Match-table values (not the binding itself) */
export const HV_NONE = 0;
export const HV_CUSTOM = 1;
export const HV_HFSCR = 2;
export const OS_NONE = 0;
export const OS_CUSTOM = 1;
export const OS_FSCR = 2;

/* CPU bitmasks of the match table (skiboot: core/cpufeatures.c) */
export const CPU_P8_DD1 = 1 << 0;
export const CPU_P8_DD2 = 1 << 1;
export const CPU_P9_DD1 = 1 << 2;
/** POWER9 Nimbus DD2.0 or DD2.1 ("2.01 or 2.1" in skiboot). */
export const CPU_P9_DD2_0_1 = 1 << 3;
export const CPU_P9P = 1 << 4;
export const CPU_P9_DD2_2 = 1 << 5;
export const CPU_P9_DD2_3 = 1 << 6;
export const CPU_P9_DD2 = CPU_P9_DD2_0_1 | CPU_P9_DD2_2 | CPU_P9_DD2_3 | CPU_P9P;
export const CPU_P8 = CPU_P8_DD1 | CPU_P8_DD2;
export const CPU_P9 = CPU_P9_DD1 | CPU_P9_DD2 | CPU_P9P;
export const CPU_ALL = CPU_P8 | CPU_P9;

/** skiboot's PPC_BITLSHIFT(be): big-endian bit number -> LSB0 bit number. */
const PPC_BITLSHIFT = (be: number): number => 63 - be;

export interface CpuFeature {
  readonly name: string;
  readonly cpusSupported: number;
  readonly isa: number;
  readonly usablePrivilege: number;
  readonly hvSupport: number;
  readonly osSupport: number;
  /** -1 when the feature has no HFSCR / FSCR / hwcap bit. */
  readonly hfscrBitNr: number;
  readonly fscrBitNr: number;
  readonly hwcapBitNr: number;
  /** Names of features this one depends on. */
  readonly dependencies: readonly string[];
}

function f(
  name: string,
  cpusSupported: number,
  isa: number,
  usablePrivilege: number,
  hvSupport: number,
  osSupport: number,
  hfscrBitNr: number,
  fscrBitNr: number,
  hwcapBitNr: number,
  dependencies: readonly string[] = [],
): CpuFeature {
  return {
    name,
    cpusSupported,
    isa,
    usablePrivilege,
    hvSupport,
    osSupport,
    hfscrBitNr,
    fscrBitNr,
    hwcapBitNr,
    dependencies,
  };
}

const HOP = USABLE_HV | USABLE_OS | USABLE_PR;
const HO = USABLE_HV | USABLE_OS;

/** skiboot core/cpufeatures.c cpu_features_table, in table order (node order follows it). */
export const CPU_FEATURES_TABLE: readonly CpuFeature[] = [
  f("big-endian", CPU_ALL, ISA_BASE, HOP, HV_CUSTOM, OS_CUSTOM, -1, -1, -1),
  f("little-endian", CPU_ALL, ISA_BASE, HOP, HV_CUSTOM, OS_CUSTOM, -1, -1, -1),
  f("hypervisor", CPU_ALL, ISA_BASE, USABLE_HV, HV_CUSTOM, OS_NONE, -1, -1, -1),
  f("interrupt-facilities", CPU_ALL, ISA_BASE, HO, HV_CUSTOM, OS_CUSTOM, -1, -1, -1),
  f("smt", CPU_ALL, ISA_BASE, HOP, HV_CUSTOM, OS_CUSTOM, -1, -1, 14),
  f("program-priority-register", CPU_ALL, ISA_BASE, HOP, HV_NONE, OS_NONE, -1, -1, -1),
  f("virtual-page-class-key-protection", CPU_ALL, ISA_BASE, HOP, HV_CUSTOM, OS_CUSTOM, -1, -1, -1),
  f("strong-access-ordering", CPU_ALL & ~CPU_P9_DD1, ISA_BASE, HOP, HV_CUSTOM, OS_CUSTOM, -1, -1, -1),
  f("no-execute", CPU_ALL, ISA_BASE, HO, HV_CUSTOM, OS_CUSTOM, -1, -1, -1),
  f("cache-inhibited-large-page", CPU_ALL, ISA_BASE, HO, HV_CUSTOM, OS_CUSTOM, -1, -1, -1),
  f("debug-facilities", CPU_ALL, ISA_BASE, HO, HV_CUSTOM, OS_CUSTOM, -1, -1, -1),
  f("come-from-address-register", CPU_ALL, ISA_BASE, HO, HV_CUSTOM, OS_CUSTOM, -1, -1, -1, [
    "debug-facilities",
  ]),
  f("branch-tracing", CPU_ALL, ISA_BASE, HO, HV_CUSTOM, OS_CUSTOM, -1, -1, -1, ["debug-facilities"]),
  f("floating-point", CPU_ALL, ISA_BASE, HOP, HV_CUSTOM, OS_CUSTOM, PPC_BITLSHIFT(63), -1, 27),
  f("vector", CPU_ALL, ISA_BASE, HOP, HV_CUSTOM, OS_CUSTOM, PPC_BITLSHIFT(62), -1, 28, ["floating-point"]),
  f("vector-scalar", CPU_ALL, ISA_BASE, HOP, HV_CUSTOM, OS_CUSTOM, -1, -1, 7, ["vector"]),
  f("vector-crypto", CPU_ALL, ISA_BASE, HOP, HV_NONE, OS_NONE, -1, -1, 57, ["vector"]),
  f("quadword-load-store", CPU_ALL, ISA_BASE, HOP, HV_NONE, OS_NONE, -1, -1, -1),
  f("decimal-integer", CPU_ALL, ISA_BASE, HOP, HV_NONE, OS_NONE, -1, -1, -1),
  f("decimal-floating-point", CPU_ALL, ISA_BASE, HOP, HV_NONE, OS_NONE, -1, -1, 10, ["floating-point"]),
  f(
    "data-stream-control-register",
    CPU_ALL,
    ISA_BASE,
    HOP,
    HV_CUSTOM,
    OS_CUSTOM,
    PPC_BITLSHIFT(61),
    PPC_BITLSHIFT(61),
    61,
  ),
  f("branch-history-rolling-buffer", CPU_ALL, ISA_BASE, HOP, HV_CUSTOM, OS_CUSTOM, PPC_BITLSHIFT(59), -1, -1),
  // "P9 support is not enabled yet" (skiboot comment): transactional memory is POWER8 only.
  f("transactional-memory", CPU_P8, ISA_BASE, HOP, HV_CUSTOM, OS_CUSTOM, PPC_BITLSHIFT(58), -1, 62),
  f("transactional-memory-v3", 0, ISA_V3_0B, HOP, HV_NONE, OS_NONE, -1, -1, -1, ["transactional-memory"]),
  f(
    "event-based-branch",
    CPU_ALL,
    ISA_BASE,
    HOP,
    HV_CUSTOM,
    OS_CUSTOM,
    PPC_BITLSHIFT(56),
    PPC_BITLSHIFT(56),
    60,
  ),
  f(
    "target-address-register",
    CPU_ALL,
    ISA_BASE,
    HOP,
    HV_CUSTOM,
    OS_CUSTOM,
    PPC_BITLSHIFT(55),
    PPC_BITLSHIFT(55),
    58,
  ),
  f("control-register", CPU_ALL, ISA_BASE, HO, HV_CUSTOM, OS_CUSTOM, -1, -1, -1),
  f("processor-control-facility", CPU_P8_DD2, ISA_BASE, HO, HV_CUSTOM, OS_CUSTOM, -1, -1, -1),
  f("processor-utilization-of-resources-register", CPU_ALL, ISA_BASE, HO, HV_CUSTOM, OS_CUSTOM, -1, -1, -1),
  f("coprocessor-icswx", CPU_P8, ISA_BASE, HO, HV_CUSTOM, OS_CUSTOM, -1, -1, -1),
  f("mmu-hash", CPU_P8, ISA_BASE, HO, HV_CUSTOM, OS_CUSTOM, -1, -1, -1),
  f("machine-check-power8", CPU_P8, ISA_BASE, HO, HV_CUSTOM, OS_CUSTOM, -1, -1, -1),
  f("performance-monitor-power8", CPU_P8, ISA_BASE, HO, HV_CUSTOM, OS_CUSTOM, -1, -1, -1),
  f("alignment-interrupt-dsisr", 0, ISA_BASE, HO, HV_NONE, OS_NONE, -1, -1, -1),
  f("idle-nap", CPU_P8, ISA_BASE, USABLE_HV, HV_CUSTOM, OS_NONE, -1, -1, -1),
  f("wait", CPU_P8, ISA_BASE, HOP, HV_NONE, OS_NONE, -1, -1, -1),
  f("subcore", CPU_P8, ISA_BASE, HO, HV_CUSTOM, OS_CUSTOM, -1, -1, -1, ["smt"]),
  f("mmu-radix", CPU_P9, ISA_V3_0B, HO, HV_CUSTOM, OS_CUSTOM, -1, -1, -1),
  f("mmu-hash-v3", CPU_P9, ISA_V3_0B, HO, HV_CUSTOM, OS_CUSTOM, -1, -1, -1),
  f("wait-v3", CPU_P9, ISA_V3_0B, HOP, HV_NONE, OS_NONE, -1, -1, -1),
  f("idle-stop", CPU_P9, ISA_V3_0B, HO, HV_CUSTOM, OS_CUSTOM, -1, -1, -1),
  f("hypervisor-virtualization-interrupt", CPU_P9, ISA_V3_0B, USABLE_HV, HV_CUSTOM, OS_NONE, -1, -1, -1),
  f("machine-check-power9", CPU_P9, ISA_V3_0B, HO, HV_CUSTOM, OS_CUSTOM, -1, -1, -1),
  f("performance-monitor-power9", CPU_P9, ISA_V3_0B, HO, HV_CUSTOM, OS_CUSTOM, -1, -1, -1),
  f(
    "system-call-vectored",
    CPU_P9,
    ISA_V3_0B,
    USABLE_OS | USABLE_PR,
    HV_NONE,
    OS_CUSTOM,
    -1,
    PPC_BITLSHIFT(51),
    52,
  ),
  f("processor-control-facility-v3", CPU_P9, ISA_V3_0B, HO, HV_CUSTOM, OS_NONE, PPC_BITLSHIFT(53), -1, -1),
  f("pc-relative-addressing", CPU_P9, ISA_V3_0B, HOP, HV_NONE, OS_NONE, -1, -1, -1),
  f("timer-facilities", CPU_ALL, ISA_BASE, HO, HV_NONE, OS_NONE, -1, -1, -1),
  f("timer-facilities-v3", CPU_P9, ISA_V3_0B, HO, HV_NONE, OS_NONE, -1, -1, -1, ["timer-facilities"]),
  f("random-number-generator", CPU_P9, ISA_V3_0B, HOP, HV_NONE, OS_NONE, -1, -1, 53),
  f("fixed-point-v3", CPU_P9, ISA_V3_0B, HOP, HV_NONE, OS_NONE, -1, -1, -1),
  f("decimal-integer-v3", CPU_P9, ISA_V3_0B, HOP, HV_NONE, OS_NONE, -1, -1, -1, [
    "fixed-point-v3",
    "decimal-integer",
  ]),
  f("floating-point-v3", CPU_P9, ISA_V3_0B, HOP, HV_NONE, OS_NONE, -1, -1, -1, ["floating-point"]),
  f("decimal-floating-point-v3", CPU_P9, ISA_V3_0B, HOP, HV_NONE, OS_NONE, -1, -1, -1, [
    "floating-point-v3",
    "decimal-floating-point",
  ]),
  f("vector-v3", CPU_P9, ISA_V3_0B, HOP, HV_NONE, OS_NONE, -1, -1, -1, ["vector"]),
  f("vector-scalar-v3", CPU_P9, ISA_V3_0B, HOP, HV_NONE, OS_NONE, -1, -1, -1, ["vector-v3", "vector-scalar"]),
  f("vector-binary128", CPU_P9, ISA_V3_0B, HOP, HV_NONE, OS_NONE, -1, -1, 54, ["vector-scalar-v3"]),
  f("vector-binary16", CPU_P9, ISA_V3_0B, HOP, HV_NONE, OS_NONE, -1, -1, -1, ["vector-v3"]),
  f("event-based-branch-v3", CPU_P9, ISA_V3_0B, HOP, HV_NONE, OS_NONE, -1, -1, -1, ["event-based-branch"]),
  f("atomic-memory-operations", CPU_P9, ISA_V3_0B, HOP, HV_NONE, OS_NONE, -1, -1, -1),
  f("copy-paste", CPU_P9, ISA_V3_0B, HOP, HV_NONE, OS_NONE, -1, -1, -1),
  f("group-start-register", 0, ISA_V3_0B, HO, HV_NONE, OS_NONE, -1, -1, -1),
  // POWER9 TM hardware bugs the hypervisor must work around (see linux commit 4bb3c7a0208f).
  f(
    "tm-suspend-hypervisor-assist",
    CPU_P9_DD2_2 | CPU_P9_DD2_3 | CPU_P9P,
    ISA_V3_0B,
    USABLE_HV,
    HV_CUSTOM,
    OS_NONE,
    -1,
    -1,
    -1,
  ),
  f("tm-suspend-xer-so-bug", CPU_P9_DD2_2, ISA_V3_0B, USABLE_HV, HV_CUSTOM, OS_NONE, -1, -1, -1),
];

/**
 * "idle-stop-guest": NOT in upstream skiboot. It is the feature of the 2020 RFC design ("On
 * Procs >= DD2.3 : we publish a dt-cpu-feature idle-stop-guest"): a guest (MSR[HV]=0) may run
 * `stop` with PSSCR[ESL]=PSSCR[EC]=0 natively. Values chosen for the model:
 * - cpus: POWER9 DD2.3 and POWER9P (the RFC: "DD2.3 and later");
 * - isa 3000 (the stop instruction and PSSCR are ISA v3.0B);
 * - usable-privilege HV|OS: the instruction is used by a (guest) OS kernel, set up by the HV;
 * - hv-support present with no bits (HV_CUSTOM): the hypervisor needs explicit support, it must
 *   clear PSSCR[ESL|EC] on guest entry; no HFSCR bit enables it;
 * - no os-support property (OS_NONE): the OS needs no enable bit; no hwcap (not usable by PR);
 * - dependencies: "idle-stop".
 * Added after the upstream table entries, so its node is the last feature node.
 */
export const IDLE_STOP_GUEST_FEATURE: CpuFeature = f(
  "idle-stop-guest",
  CPU_P9_DD2_3 | CPU_P9P,
  ISA_V3_0B,
  USABLE_HV | USABLE_OS,
  HV_CUSTOM,
  OS_NONE,
  -1,
  -1,
  -1,
  ["idle-stop"],
);

/** The PVR type of POWER9 Nimbus/Cumulus (skiboot: include/processor.h PVR_TYPE_P9). */
export const PVR_TYPE_P9 = 0x004e;

/**
 * skiboot dt_add_cpufeatures: the CPU bit of the match table for a POWER9 Nimbus PVR (the boot
 * CPU's mfspr(SPR_PVR); a chip model stands for its PVR).
 */
export function cpuFeatureCpuMask(cpu: number | Pick<ChipModel, "pvr">): number {
  const pvr = (typeof cpu === "number" ? cpu : cpu.pvr) >>> 0;
  if (pvr >>> 16 !== PVR_TYPE_P9) {
    throw new RangeError(`PVR 0x${pvr.toString(16)} is not a POWER9 (type 0x${PVR_TYPE_P9.toString(16)})`);
  }
  // skiboot include/processor.h: PVR_VERS_MAJ = bits 8-11, PVR_VERS_MIN = bits 0-7;
  // is_power9n(): bit 13 clear (Nimbus, scale-out).
  const major = (pvr >>> 8) & 0xf;
  const minor = pvr & 0xff;
  if ((pvr >>> 13) & 1 || major !== 2) {
    throw new RangeError(
      `PVR 0x${pvr.toString(16)}: only POWER9 Nimbus DD2.x is modelled (skiboot asserts otherwise)`,
    );
  }
  switch (minor) {
    case 0:
    case 1:
      return CPU_P9_DD2_0_1;
    case 2:
      return CPU_P9_DD2_2;
    case 3:
      return CPU_P9_DD2_3;
    default:
      throw new RangeError(`PVR 0x${pvr.toString(16)}: unknown POWER9 DD2.${minor} (skiboot asserts)`);
  }
}

/** The features the firmware publishes for a CPU of this PVR (or chip model), in node order. */
export function selectCpuFeatures(
  cpu: number | Pick<ChipModel, "pvr">,
  firmware: FirmwareVersion,
): CpuFeature[] {
  const mask = cpuFeatureCpuMask(cpu);
  const table = firmware.idleStopGuest
    ? [...CPU_FEATURES_TABLE, IDLE_STOP_GUEST_FEATURE]
    : CPU_FEATURES_TABLE;
  return table.filter((feat) => (feat.cpusSupported & mask) !== 0);
}

/** The properties skiboot's add_cpu_feature_nodeps() gives a feature node, in order (no dependencies). */
export function cpuFeatureCells(feat: CpuFeature): [string, number][] {
  const props: [string, number][] = [
    ["isa", feat.isa],
    ["usable-privilege", feat.usablePrivilege],
  ];
  if (feat.usablePrivilege & USABLE_HV && feat.hvSupport !== HV_NONE) {
    props.push(["hv-support", feat.hvSupport === HV_HFSCR ? HV_SUPPORT_HFSCR : 0]);
    if (feat.hfscrBitNr !== -1) props.push(["hfscr-bit-nr", feat.hfscrBitNr]);
  }
  if (feat.usablePrivilege & USABLE_OS && feat.osSupport !== OS_NONE) {
    props.push(["os-support", feat.osSupport === OS_FSCR ? OS_SUPPORT_FSCR : 0]);
    if (feat.fscrBitNr !== -1) props.push(["fscr-bit-nr", feat.fscrBitNr]);
  }
  if (feat.usablePrivilege & USABLE_PR && feat.hwcapBitNr !== -1)
    props.push(["hwcap-bit-nr", feat.hwcapBitNr]);
  return props;
}
