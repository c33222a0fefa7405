// Parsing of the device tree's CPU feature description, as
// linux: arch/powerpc/kernel/dt_cpu_ftrs.c does (dt_cpu_ftrs_scan_callback,
// process_cpufeatures_node, cpufeatures_process_feature, feat_try_enable_unknown,
// cpufeatures_deps_enable, cpufeatures_cpu_quirks), plus the seed design's "idle-stop-guest".
import type { DeviceTree, DtNode } from "@stopsim/devicetree";
import {
  LPCR_DPFD,
  LPCR_DPFD_SH,
  LPCR_HEIC,
  LPCR_HR,
  LPCR_HVICE,
  LPCR_ISL,
  LPCR_LPES0,
  LPCR_PECE_HVEE,
  LPCR_PECE0,
  LPCR_PECE1,
  LPCR_PECE2,
  LPCR_PECEDH,
  LPCR_UPRT,
  LPCR_VPM0,
  LPCR_VPM1,
  LPCR_VRMASD_SH,
} from "@stopsim/isa";
import {
  COMMON_USER_BASE,
  COMMON_USER_POWER9,
  COMMON_USER2_BASE,
  COMMON_USER2_POWER9,
  CPU_FTR_ALTIVEC,
  CPU_FTR_ARCH_300,
  CPU_FTR_CFAR,
  CPU_FTR_CTRL,
  CPU_FTR_DAWR,
  CPU_FTR_DBELL,
  CPU_FTR_DSCR,
  CPU_FTR_FPU_UNAVAILABLE,
  CPU_FTR_HAS_PPR,
  CPU_FTR_HVMODE,
  CPU_FTR_MMCRA,
  CPU_FTR_NODSISRALIGN,
  CPU_FTR_P9_RADIX_PREFETCH_BUG,
  CPU_FTR_P9_TIDR,
  CPU_FTR_P9_TLBIE_ERAT_BUG,
  CPU_FTR_P9_TLBIE_STQ_BUG,
  CPU_FTR_P9_TM_HV_ASSIST,
  CPU_FTR_P9_TM_XER_SO_BUG,
  CPU_FTR_PKEY,
  CPU_FTR_POWER9_DD2_1,
  CPU_FTR_PURR,
  CPU_FTR_REAL_LE,
  CPU_FTR_SAO,
  CPU_FTR_SMT,
  CPU_FTR_SPURR,
  CPU_FTR_TM,
  CPU_FTR_VMX_COPY,
  CPU_FTR_VSX,
  CPU_FTRS_DT_CPU_BASE,
  CPU_FTRS_POWER9,
  PPC_FEATURE_HAS_MMU,
  PPC_FEATURE_SMT,
  PPC_FEATURE_TRUE_LE,
  PPC_FEATURE2_ARCH_3_00,
} from "@stopsim/linux";
import type { KernelLog } from "./log.js";

/** linux: dt_cpu_ftrs.c device-tree visible constants */
export const ISA_V3_0B = 3000;
export const ISA_V3_1 = 3100;
export const USABLE_PR = 1 << 0;
export const USABLE_OS = 1 << 1;
export const USABLE_HV = 1 << 2;
export const HV_SUPPORT_HFSCR = 1 << 0;
export const OS_SUPPORT_FSCR = 1 << 0;
export const HV_SUPPORT_NONE = 0xffffffff;
export const OS_SUPPORT_NONE = 0xffffffff;

/** The seed design's dt-cpu-feature: guest `stop` is safe natively on this chip (DD2.3+). */
export const IDLE_STOP_GUEST = "idle-stop-guest";

/** One feature node, as struct dt_cpu_feature. */
export interface DtCpuFeature {
  readonly name: string;
  isa: number;
  usablePrivilege: number;
  hvSupport: number;
  osSupport: number;
  hfscrBitNr: number;
  fscrBitNr: number;
  hwcapBitNr: number;
  readonly node: DtNode;
  enabled: boolean;
  disabled: boolean;
}

/** The kernel's view of the CPU after feature parsing (cur_cpu_spec + system_registers). */
export interface CpuSpec {
  /** Whether the features came from dt-cpu-features (false: the PVR cputable fallback). */
  readonly usingDtCpuFtrs: boolean;
  /** ISA level of the features node (3000 for POWER9), 0 with the cputable fallback. */
  readonly isa: number;
  cpuFeatures: bigint;
  cpuUserFeatures: number;
  cpuUserFeatures2: number;
  /** LPCR/HFSCR/FSCR the enable handlers built up (system_registers). */
  lpcr: bigint;
  hfscr: bigint;
  fscr: bigint;
  /** Seed design: set by the "idle-stop-guest" feature's enable handler. */
  enableGuestStop: boolean;
  readonly enabledFeatures: string[];
  readonly disabledFeatures: string[];
  displayName: string | undefined;
}

export interface DtCpuFtrsOptions {
  /** MSR[HV] of the booting thread (true on a powernv host). */
  readonly hvMode: boolean;
  /** The PVR of the boot CPU (cpufeatures_cpu_quirks). */
  readonly pvr: number;
  /** Whether this kernel build has an enable handler for "idle-stop-guest". */
  readonly knowsIdleStopGuest: boolean;
  /** dt_cpu_ftrs=known on the command line: do not enable unknown features. */
  readonly enableUnknown?: boolean;
}

type EnableFn = (f: DtCpuFeature, s: CpuSpec, o: DtCpuFtrsOptions, log: KernelLog) => boolean;

function bit(n: number): bigint {
  return 1n << BigInt(n);
}

// linux: dt_cpu_ftrs.c feat_enable
const featEnable: EnableFn = (f, s, _o, log) => {
  if (f.hvSupport !== HV_SUPPORT_NONE && f.hfscrBitNr !== -1) s.hfscr |= bit(f.hfscrBitNr);
  if (f.osSupport !== OS_SUPPORT_NONE && f.fscrBitNr !== -1) s.fscr |= bit(f.fscrBitNr);
  advertiseHwcap(f, s, log, `CPU feature: ${f.name} could not advertise to user (no hwcap bits)`);
  return true;
};

function advertiseHwcap(f: DtCpuFeature, s: CpuSpec, log: KernelLog, msg: string): void {
  if ((f.usablePrivilege & USABLE_PR) !== 0 && f.hwcapBitNr !== -1) {
    const word = Math.floor(f.hwcapBitNr / 32);
    const b = f.hwcapBitNr % 32;
    if (word === 0) s.cpuUserFeatures = (s.cpuUserFeatures | (1 << b)) >>> 0;
    else if (word === 1) s.cpuUserFeatures2 = (s.cpuUserFeatures2 | (1 << b)) >>> 0;
    else log.err(`dt-cpu-ftrs: ${msg}`);
  }
}

// linux: dt_cpu_ftrs.c feat_try_enable_unknown
function featTryEnableUnknown(f: DtCpuFeature, s: CpuSpec, log: KernelLog): boolean {
  if (f.hvSupport === HV_SUPPORT_NONE) {
    // nothing to do
  } else if ((f.hvSupport & HV_SUPPORT_HFSCR) !== 0) {
    s.hfscr |= bit(f.hfscrBitNr);
  } else {
    return false; // no known recipe
  }
  if (f.osSupport === OS_SUPPORT_NONE) {
    // nothing to do
  } else if ((f.osSupport & OS_SUPPORT_FSCR) !== 0) {
    s.fscr |= bit(f.fscrBitNr);
  } else {
    return false;
  }
  advertiseHwcap(f, s, log, `${f.name} could not advertise to user (no hwcap bits)`);
  return true;
}

const featDisable: EnableFn = () => false;

const featEnableHv: EnableFn = (_f, s, o, log) => {
  if (!o.hvMode) {
    log.err(
      "dt-cpu-ftrs: CPU feature hypervisor present in device tree but HV mode not enabled in the CPU. Ignoring.",
    );
    return false;
  }
  s.lpcr &= ~LPCR_LPES0; // HV external interrupts
  s.cpuFeatures |= CPU_FTR_HVMODE;
  return true;
};

// feat_enable_idle_stop: PECE wakeup modes for ISA v3.0B
const featEnableIdleStop: EnableFn = (_f, s) => {
  s.lpcr |= LPCR_PECE0 | LPCR_PECE1 | LPCR_PECE2;
  return true;
};

// feat_enable_mmu_hash_v3: LPCR bits for hash, and PPC_FEATURE_HAS_MMU
const featEnableMmuHashV3: EnableFn = (_f, s) => {
  s.cpuUserFeatures = (s.cpuUserFeatures | PPC_FEATURE_HAS_MMU) >>> 0;
  s.lpcr &= ~(LPCR_ISL | LPCR_UPRT | LPCR_HR);
  return true;
};

// feat_enable_mmu_radix: MMU_FTR_TYPE_RADIX and PPC_FEATURE_HAS_MMU
const featEnableMmuRadix: EnableFn = (_f, s) => {
  s.cpuUserFeatures = (s.cpuUserFeatures | PPC_FEATURE_HAS_MMU) >>> 0;
  return true;
};

// feat_enable_mmu_hash: LPCR bits for hash, and PPC_FEATURE_HAS_MMU
const featEnableMmuHash: EnableFn = (_f, s) => {
  s.cpuUserFeatures = (s.cpuUserFeatures | PPC_FEATURE_HAS_MMU) >>> 0;
  s.lpcr &= ~LPCR_ISL;
  s.lpcr |= LPCR_VPM0;
  s.lpcr &= ~LPCR_VPM1;
  s.lpcr |= 0x10n << LPCR_VRMASD_SH;
  return true;
};

const featEnableDscr: EnableFn = (f, s, o, log) => {
  f.fscrBitNr = -1; // Linux tracks DSCR use through the facility unavailable interrupt
  featEnable(f, s, o, log);
  s.lpcr = (s.lpcr & ~LPCR_DPFD) | (4n << LPCR_DPFD_SH);
  return true;
};

const featEnableDbell: EnableFn = (f, s, o, log) => {
  featEnable(f, s, o, log);
  s.cpuFeatures |= CPU_FTR_DBELL;
  s.lpcr |= LPCR_PECEDH; // hypervisor doorbell wakeup
  return true;
};

// feat_enable_hvi: XIVE interrupts arrive as hypervisor virtualization interrupts
const featEnableHvi: EnableFn = (_f, s) => {
  s.lpcr |= LPCR_HVICE | LPCR_HEIC | LPCR_PECE_HVEE;
  return true;
};

const withFtr =
  (fn: EnableFn, ftr: bigint): EnableFn =>
  (f, s, o, log) => {
    const r = fn(f, s, o, log);
    if (r) s.cpuFeatures |= ftr;
    return r;
  };

const featEnableLe: EnableFn = (_f, s) => {
  s.cpuUserFeatures = (s.cpuUserFeatures | PPC_FEATURE_TRUE_LE) >>> 0;
  return true;
};

// feat_enable_smt: CPU_FTR_SMT and PPC_FEATURE_SMT
const featEnableSmt: EnableFn = (_f, s) => {
  s.cpuFeatures |= CPU_FTR_SMT;
  s.cpuUserFeatures = (s.cpuUserFeatures | PPC_FEATURE_SMT) >>> 0;
  return true;
};
const featEnableFp: EnableFn = (f, s, o, log) => {
  featEnable(f, s, o, log);
  s.cpuFeatures &= ~CPU_FTR_FPU_UNAVAILABLE;
  return true;
};
const featEnablePurr: EnableFn = (_f, s) => {
  s.cpuFeatures |= CPU_FTR_PURR | CPU_FTR_SPURR;
  return true;
};
const featEnableAlignDsisr: EnableFn = (_f, s) => {
  s.cpuFeatures &= ~CPU_FTR_NODSISRALIGN;
  return true;
};
const featEnablePmuPower9: EnableFn = (_f, s) => {
  s.hfscr |= 1n << 3n; // hfscr_pmu_enable: PPC_BIT(60), HFSCR[PM]
  s.cpuFeatures |= CPU_FTR_MMCRA;
  return true;
};

/**
 * The seed design's handler: "If 'idle-stop-guest' dt-cpu-feature is discovered, then we set
 * bool enable_guest_stop = true" (linuxppc-dev, 2020-04-03).
 */
const featEnableIdleStopGuest: EnableFn = (_f, s) => {
  s.enableGuestStop = true;
  return true;
};

interface Match {
  readonly enable: EnableFn;
  readonly ftr: bigint;
}

// linux: dt_cpu_ftrs.c dt_cpu_feature_match_table (features a POWER9 tree carries)
function matchTable(o: DtCpuFtrsOptions): Map<string, Match> {
  const t = new Map<string, Match>([
    ["hypervisor", { enable: featEnableHv, ftr: 0n }],
    ["big-endian", { enable: featEnable, ftr: 0n }],
    ["little-endian", { enable: featEnableLe, ftr: CPU_FTR_REAL_LE }],
    ["smt", { enable: featEnableSmt, ftr: 0n }],
    ["interrupt-facilities", { enable: featEnable, ftr: 0n }],
    ["timer-facilities", { enable: featEnable, ftr: 0n }],
    ["timer-facilities-v3", { enable: featEnable, ftr: 0n }],
    ["debug-facilities", { enable: featEnable, ftr: 0n }],
    ["come-from-address-register", { enable: featEnable, ftr: CPU_FTR_CFAR }],
    ["branch-tracing", { enable: featEnable, ftr: 0n }],
    ["floating-point", { enable: featEnableFp, ftr: 0n }],
    ["vector", { enable: withFtr(featEnable, CPU_FTR_ALTIVEC | CPU_FTR_VMX_COPY), ftr: 0n }],
    ["vector-scalar", { enable: withFtr(featEnable, CPU_FTR_VSX), ftr: 0n }],
    ["vector-scalar-v3", { enable: featEnable, ftr: 0n }],
    ["decimal-floating-point", { enable: featEnable, ftr: 0n }],
    ["decimal-integer", { enable: featEnable, ftr: 0n }],
    ["quadword-load-store", { enable: featEnable, ftr: 0n }],
    ["vector-crypto", { enable: featEnable, ftr: 0n }],
    ["mmu-hash", { enable: featEnableMmuHash, ftr: 0n }],
    ["mmu-radix", { enable: featEnableMmuRadix, ftr: 0n }],
    ["mmu-hash-v3", { enable: featEnableMmuHashV3, ftr: 0n }],
    ["virtual-page-class-key-protection", { enable: featEnable, ftr: 0n }],
    ["transactional-memory", { enable: featEnable, ftr: CPU_FTR_TM }],
    ["transactional-memory-v3", { enable: featEnable, ftr: 0n }],
    ["tm-suspend-hypervisor-assist", { enable: featEnable, ftr: CPU_FTR_P9_TM_HV_ASSIST }],
    ["tm-suspend-xer-so-bug", { enable: featEnable, ftr: CPU_FTR_P9_TM_XER_SO_BUG }],
    ["idle-nap", { enable: featEnableIdleStop, ftr: 0n }],
    ["alignment-interrupt-dsisr", { enable: featEnableAlignDsisr, ftr: 0n }],
    ["idle-stop", { enable: featEnableIdleStop, ftr: 0n }],
    ["machine-check-power8", { enable: featEnable, ftr: 0n }],
    ["performance-monitor-power8", { enable: featEnablePmuPower9, ftr: 0n }],
    ["data-stream-control-register", { enable: featEnableDscr, ftr: CPU_FTR_DSCR }],
    ["event-based-branch", { enable: featEnable, ftr: 0n }],
    ["target-address-register", { enable: featEnable, ftr: 0n }],
    ["branch-history-rolling-buffer", { enable: featEnable, ftr: 0n }],
    ["control-register", { enable: featEnable, ftr: CPU_FTR_CTRL }],
    ["processor-control-facility", { enable: featEnableDbell, ftr: CPU_FTR_DBELL }],
    ["processor-control-facility-v3", { enable: featEnableDbell, ftr: CPU_FTR_DBELL }],
    ["processor-utilization-of-resources-register", { enable: featEnablePurr, ftr: 0n }],
    ["no-execute", { enable: featEnable, ftr: 0n }],
    ["strong-access-ordering", { enable: featEnable, ftr: CPU_FTR_SAO }],
    ["cache-inhibited-large-page", { enable: featEnable, ftr: 0n }],
    ["coprocessor-icswx", { enable: featEnable, ftr: 0n }],
    ["hypervisor-virtualization-interrupt", { enable: featEnableHvi, ftr: 0n }],
    ["program-priority-register", { enable: featEnable, ftr: CPU_FTR_HAS_PPR }],
    ["wait", { enable: featEnable, ftr: 0n }],
    ["atomic-memory-operations", { enable: featEnable, ftr: 0n }],
    ["branch-v3", { enable: featEnable, ftr: 0n }],
    ["copy-paste", { enable: featEnable, ftr: 0n }],
    ["decimal-floating-point-v3", { enable: featEnable, ftr: 0n }],
    ["decimal-integer-v3", { enable: featEnable, ftr: 0n }],
    ["fixed-point-v3", { enable: featEnable, ftr: 0n }],
    ["floating-point-v3", { enable: featEnable, ftr: 0n }],
    ["group-start-register", { enable: featEnable, ftr: 0n }],
    ["pc-relative-addressing", { enable: featEnable, ftr: 0n }],
    ["machine-check-power9", { enable: featEnable, ftr: 0n }],
    ["performance-monitor-power9", { enable: featEnablePmuPower9, ftr: 0n }],
    ["event-based-branch-v3", { enable: featEnable, ftr: 0n }],
    ["random-number-generator", { enable: featEnable, ftr: 0n }],
    ["system-call-vectored", { enable: featDisable, ftr: 0n }],
    ["trace-interrupt-v3", { enable: featEnable, ftr: 0n }],
    ["vector-v3", { enable: featEnable, ftr: 0n }],
    ["vector-binary128", { enable: featEnable, ftr: 0n }],
    ["vector-binary16", { enable: featEnable, ftr: 0n }],
    ["wait-v3", { enable: featEnable, ftr: 0n }],
  ]);
  if (o.knowsIdleStopGuest) t.set(IDLE_STOP_GUEST, { enable: featEnableIdleStopGuest, ftr: 0n });
  return t;
}

/** The first big-endian cell of a property, as the kernel's be32_to_cpup(of_get_flat_dt_prop())
 * reads it: trailing bytes of a malformed value are ignored. */
function u32Prop(node: DtNode, name: string): number | undefined {
  const p = node.getProp(name);
  if (p === undefined || p.length < 4) return undefined;
  const b = p.rawValue;
  return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
}

const asSigned = (v: number): number => (v === 0xffffffff ? -1 : v);

// linux: dt_cpu_ftrs.c cpufeatures_process_feature
function processFeature(
  f: DtCpuFeature,
  s: CpuSpec,
  table: Map<string, Match>,
  o: DtCpuFtrsOptions,
  log: KernelLog,
): boolean {
  const m = table.get(f.name);
  if (m !== undefined) {
    if (m.enable(f, s, o, log)) {
      s.cpuFeatures |= m.ftr;
      log.debug(`dt-cpu-ftrs: enabling: ${f.name}`);
      return true;
    }
    log.info(`dt-cpu-ftrs: not enabling: ${f.name} (disabled or unsupported by kernel)`);
    return false;
  }
  if (!(o.enableUnknown ?? true) || !featTryEnableUnknown(f, s, log)) {
    log.info(`dt-cpu-ftrs: not enabling: ${f.name} (unknown and unsupported by kernel)`);
    return false;
  }
  log.debug(`dt-cpu-ftrs: enabling: ${f.name} (unknown)`);
  return true;
}

// linux: dt_cpu_ftrs.c process_cpufeatures_node (validation + first pass)
function readFeature(node: DtNode, o: DtCpuFtrsOptions, log: KernelLog): DtCpuFeature | undefined {
  const name = node.name;
  const isa = u32Prop(node, "isa");
  if (isa === undefined) {
    log.warn(`dt-cpu-ftrs: ${name}: missing isa property`);
    return undefined;
  }
  const usable = u32Prop(node, "usable-privilege");
  if (usable === undefined) {
    log.warn(`dt-cpu-ftrs: ${name}: missing usable-privilege property`);
    return undefined;
  }
  const f: DtCpuFeature = {
    name,
    isa,
    usablePrivilege: usable,
    hvSupport: u32Prop(node, "hv-support") ?? HV_SUPPORT_NONE,
    osSupport: u32Prop(node, "os-support") ?? OS_SUPPORT_NONE,
    hfscrBitNr: asSigned(u32Prop(node, "hfscr-bit-nr") ?? 0xffffffff),
    fscrBitNr: asSigned(u32Prop(node, "fscr-bit-nr") ?? 0xffffffff),
    hwcapBitNr: asSigned(u32Prop(node, "hwcap-bit-nr") ?? 0xffffffff),
    node,
    enabled: false,
    disabled: false,
  };
  // a facility bit number is -1 (none) or a bit of the 64-bit (H)FSCR / HWCAP word; anything else
  // is a corrupt tree (the kernel would shift by it: undefined behaviour), skipped like the other
  // malformed nodes
  for (const [prop, nr] of [
    ["hfscr_bit_nr", f.hfscrBitNr],
    ["fscr_bit_nr", f.fscrBitNr],
    ["hwcap_bit_nr", f.hwcapBitNr],
  ] as const) {
    if (nr !== -1 && !(nr >= 0 && nr < 64)) {
      log.warn(`dt-cpu-ftrs: ${name}: bad ${prop} ${nr}`);
      return undefined;
    }
  }
  if ((f.usablePrivilege & USABLE_HV) !== 0) {
    if (!o.hvMode) {
      log.warn(`dt-cpu-ftrs: ${name}: HV feature passed to guest`);
      return undefined;
    }
    if (f.hvSupport === HV_SUPPORT_NONE && f.hfscrBitNr !== -1) {
      log.warn(`dt-cpu-ftrs: ${name}: unwanted hfscr_bit_nr`);
      return undefined;
    }
    if (f.hvSupport === HV_SUPPORT_HFSCR && f.hfscrBitNr === -1) {
      log.warn(`dt-cpu-ftrs: ${name}: missing hfscr_bit_nr`);
      return undefined;
    }
  } else if (f.hvSupport !== HV_SUPPORT_NONE || f.hfscrBitNr !== -1) {
    log.warn(`dt-cpu-ftrs: ${name}: unwanted hv_support/hfscr_bit_nr`);
    return undefined;
  }
  if ((f.usablePrivilege & USABLE_OS) !== 0) {
    if (f.osSupport === OS_SUPPORT_NONE && f.fscrBitNr !== -1) {
      log.warn(`dt-cpu-ftrs: ${name}: unwanted fscr_bit_nr`);
      return undefined;
    }
    if (f.osSupport === OS_SUPPORT_FSCR && f.fscrBitNr === -1) {
      log.warn(`dt-cpu-ftrs: ${name}: missing fscr_bit_nr`);
      return undefined;
    }
  } else if (f.osSupport !== OS_SUPPORT_NONE || f.fscrBitNr !== -1) {
    log.warn(`dt-cpu-ftrs: ${name}: unwanted os_support/fscr_bit_nr`);
    return undefined;
  }
  if ((f.usablePrivilege & USABLE_PR) === 0 && f.hwcapBitNr !== -1) {
    log.warn(`dt-cpu-ftrs: ${name}: unwanted hwcap_bit_nr`);
    return undefined;
  }
  return f;
}

/** Finds the node compatible with "ibm,powerpc-cpu-features" that has an "isa" property. */
export function findCpuFeaturesNode(tree: DeviceTree): DtNode | undefined {
  for (const node of tree.nodes()) {
    const compat = node.getProp("compatible");
    if (compat === undefined || !node.hasProp("isa")) continue;
    let list: string[];
    try {
      list = compat.asStringList();
    } catch {
      continue;
    }
    if (list.includes("ibm,powerpc-cpu-features")) return node;
  }
  return undefined;
}

// linux: dt_cpu_ftrs.c cpufeatures_cpu_quirks (POWER9 Nimbus/Cumulus part)
function cpuQuirks(s: CpuSpec, pvr: number): void {
  const version = pvr >>> 0;
  const masked = (version & 0xffffefff) >>> 0;
  if (masked === 0x004e0200) {
    s.cpuFeatures |= CPU_FTR_P9_RADIX_PREFETCH_BUG;
  } else if (masked === 0x004e0201) {
    s.cpuFeatures |= CPU_FTR_POWER9_DD2_1 | CPU_FTR_P9_RADIX_PREFETCH_BUG;
  } else if (masked === 0x004e0202) {
    s.cpuFeatures |= CPU_FTR_P9_TM_HV_ASSIST | CPU_FTR_P9_TM_XER_SO_BUG | CPU_FTR_POWER9_DD2_1;
  } else if ((version & 0xffff0000) >>> 0 === 0x004e0000) {
    s.cpuFeatures |= CPU_FTR_POWER9_DD2_1;
  }
  if ((version & 0xffff0000) >>> 0 === 0x004e0000) {
    s.cpuFeatures &= ~CPU_FTR_DAWR;
    s.cpuFeatures |= CPU_FTR_P9_TIDR;
    // update_tlbie_feature_flag: Nimbus below DD2.3 has the tlbie store-queue bug
    if ((version & 0xe000) === 0) {
      if ((version & 0xfff) < 0x203) s.cpuFeatures |= CPU_FTR_P9_TLBIE_STQ_BUG;
    } else if ((version & 0xc000) === 0) {
      if ((version & 0xfff) < 0x103) s.cpuFeatures |= CPU_FTR_P9_TLBIE_STQ_BUG;
    } else {
      s.cpuFeatures |= CPU_FTR_P9_TLBIE_STQ_BUG;
    }
    s.cpuFeatures |= CPU_FTR_P9_TLBIE_ERAT_BUG;
  }
  s.cpuFeatures |= CPU_FTR_PKEY;
}

/**
 * dt_cpu_ftrs_init + dt_cpu_ftrs_scan: builds the CPU spec from the tree's features node, or
 * from the PVR table when the tree has none (identify_cpu fallback).
 */
export function scanDtCpuFeatures(tree: DeviceTree, o: DtCpuFtrsOptions, log: KernelLog): CpuSpec {
  const node = findCpuFeaturesNode(tree);
  if (node === undefined) {
    log.info("dt-cpu-ftrs: no ibm,powerpc-cpu-features node: using the PVR cputable");
    const s: CpuSpec = {
      usingDtCpuFtrs: false,
      isa: 0,
      cpuFeatures: CPU_FTRS_POWER9,
      cpuUserFeatures: COMMON_USER_POWER9,
      cpuUserFeatures2: COMMON_USER2_POWER9,
      lpcr: LPCR_PECE0 | LPCR_PECE1 | LPCR_PECE2 | LPCR_PECEDH | LPCR_HVICE | LPCR_HEIC | LPCR_PECE_HVEE,
      hfscr: 0n,
      fscr: 0n,
      enableGuestStop: false,
      enabledFeatures: [],
      disabledFeatures: [],
      displayName: undefined,
    };
    cpuQuirks(s, o.pvr);
    return s;
  }
  const isa = u32Prop(node, "isa") ?? 0;
  const s: CpuSpec = {
    usingDtCpuFtrs: true,
    isa,
    cpuFeatures: CPU_FTRS_DT_CPU_BASE | (o.hvMode ? CPU_FTR_HVMODE : 0n),
    cpuUserFeatures: COMMON_USER_BASE,
    cpuUserFeatures2: COMMON_USER2_BASE,
    lpcr: 0n,
    hfscr: 0n,
    fscr: 0n,
    enableGuestStop: false,
    enabledFeatures: [],
    disabledFeatures: [],
    displayName: undefined,
  };
  // cpufeatures_setup_start
  log.info(`dt-cpu-ftrs: setup for ISA ${isa}`);
  if (isa >= ISA_V3_0B) {
    s.cpuFeatures |= CPU_FTR_ARCH_300;
    s.cpuUserFeatures2 = (s.cpuUserFeatures2 | PPC_FEATURE2_ARCH_3_00) >>> 0;
  }

  const table = matchTable(o);
  const all: (DtCpuFeature | undefined)[] = [];
  const byPhandle = new Map<number, DtCpuFeature>();
  for (const child of node.children) {
    const f = readFeature(child, o, log);
    all.push(f);
    if (f === undefined) continue;
    const ph = child.phandle;
    if (ph !== undefined) byPhandle.set(ph, f);
    // first pass: features without dependencies
    if (!child.hasProp("dependencies")) {
      if (processFeature(f, s, table, o, log)) f.enabled = true;
      else f.disabled = true;
    }
  }
  // linux: cpufeatures_deps_enable (recursive over phandles)
  const depsEnable = (f: DtCpuFeature, seen: Set<DtCpuFeature>): void => {
    if (f.enabled || f.disabled || seen.has(f)) return;
    seen.add(f);
    const prop = f.node.getProp("dependencies");
    if (prop === undefined) {
      log.warn(`dt-cpu-ftrs: ${f.name}: missing dependencies property`);
      return;
    }
    const deps = prop.length % 4 === 0 ? prop.asU32Array() : [];
    for (const ph of deps) {
      const d = byPhandle.get(ph);
      if (d === undefined) continue;
      depsEnable(d, seen);
      if (d.disabled) {
        f.disabled = true;
        return;
      }
    }
    if (processFeature(f, s, table, o, log)) f.enabled = true;
    else f.disabled = true;
  };
  for (const f of all) if (f !== undefined) depsEnable(f, new Set());

  for (const f of all) {
    if (f === undefined) continue;
    if (f.enabled) s.enabledFeatures.push(f.name);
    else s.disabledFeatures.push(f.name);
  }
  const dn = node.getProp("display-name");
  if (dn !== undefined) {
    try {
      const name = dn.asString();
      if (name.length > 0) s.displayName = name;
    } catch {
      // not a string: ignored, as strlen() of garbage would be
    }
  }
  // cpufeatures_setup_finished
  cpuQuirks(s, o.pvr);
  if (o.hvMode && (s.cpuFeatures & CPU_FTR_HVMODE) === 0n) {
    log.err(
      "dt-cpu-ftrs: hypervisor not present in device tree but HV mode is enabled in the CPU. Enabling.",
    );
    s.cpuFeatures |= CPU_FTR_HVMODE;
  }
  log.info(`dt-cpu-ftrs: final cpu/mmu features = 0x${s.cpuFeatures.toString(16).padStart(16, "0")}`);
  if (table.has(IDLE_STOP_GUEST)) {
    log.info(`dt-cpu-ftrs: enable_guest_stop = ${s.enableGuestStop ? "true" : "false"}`);
  }
  return s;
}

/** True when the spec has CPU_FTR_ARCH_300. */
export const hasArch300 = (s: CpuSpec): boolean => (s.cpuFeatures & CPU_FTR_ARCH_300) !== 0n;
