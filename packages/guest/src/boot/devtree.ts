// Early boot: what a pseries Linux guest reads from the flattened device tree it was handed.
// Follows linux: arch/powerpc/kernel/prom.c (early_init_dt_scan_cpus, scan_features,
// check_cpu_feature_properties), arch/powerpc/kernel/setup-common.c (smp_setup_cpu_maps),
// arch/powerpc/kernel/time.c (generic_calibrate_decr, init_decrementer_max),
// arch/powerpc/kernel/rtas.c (rtas_token) and arch/powerpc/platforms/pseries/firmware.c
// (fw_hypertas_feature_init).

import type { DeviceTree, DtNode } from "@stopsim/devicetree";
import {
  CPU_FTR_ALTIVEC,
  CPU_FTR_CTRL,
  CPU_FTR_HVMODE,
  CPU_FTR_NODSISRALIGN,
  CPU_FTR_NOEXECUTE,
  CPU_FTR_PURR,
  CPU_FTR_REAL_LE,
  CPU_FTR_SMT,
  CPU_FTR_SPURR,
  CPU_FTR_TM_COMP,
  CPU_FTR_VSX,
  type CpuTableEntry,
  identifyCpu,
  MMU_FTR_CI_LARGE_PAGE,
  MMU_FTR_TYPE_RADIX,
  PPC_FEATURE_HAS_ALTIVEC,
  PPC_FEATURE_HAS_DFP,
  PPC_FEATURE_HAS_FPU,
  PPC_FEATURE_HAS_MMU,
  PPC_FEATURE_HAS_VSX,
  PPC_FEATURE_TRUE_LE,
  PPC_FEATURE2_HTM,
  PPC_FEATURE2_HTM_NOSC,
} from "@stopsim/linux";
import type { KernelConsole } from "../kernel/console.js";
import { HYPERTAS_FW_FEATURES } from "../linux/papr.js";

/** The property by which the platform permits guest use of stop0lite (docs/ARCHITECTURE.md). */
export const STOP_LITE_PERMITTED_PROP = "ibm,stop-lite-permitted";

/** Timebase assumed when the tree has none (linux: arch/powerpc/include/asm/time.h). */
export const DEFAULT_TB_FREQ = 125_000_000;

/** A fatal condition found while booting; carries the kernel's own messages. */
export class GuestBootPanic extends Error {
  override readonly name = "GuestBootPanic";
  constructor(
    message: string,
    /** Lines the kernel prints before it dies (already in Linux's wording). */
    readonly consoleLines: readonly string[],
  ) {
    super(message);
  }
}

export interface CpuThread {
  /** Logical CPU number (order of smp_setup_cpu_maps). */
  readonly logical: number;
  /** Hardware id: the ibm,ppc-interrupt-server#s entry (PIR / XICS server number). */
  readonly hwId: number;
  /** Path of the cpu node. */
  readonly node: string;
  /** Index of the thread within its core (its cpu node). */
  readonly thread: number;
  /** Index of the core (cpu node) in tree order. */
  readonly core: number;
  /** status = "okay" (or no status). */
  readonly present: boolean;
}

export interface BootParams {
  readonly threads: readonly CpuThread[];
  readonly threadsPerCore: number;
  readonly bootCpu: CpuThread;
  /** The PVR read from the processor (mfspr PVR). */
  readonly pvr: number;
  /** cpu-version of the boot cpu node, if any. */
  readonly cpuVersion: number | undefined;
  /** The cpu table entry in effect (logical PVR if cpu-version is architected). */
  readonly cpuSpec: CpuTableEntry;
  readonly cpuFeatures: bigint;
  readonly mmuFeatures: bigint;
  /** AT_HWCAP (cpu_user_features) and AT_HWCAP2 (cpu_user_features2). */
  readonly userFeatures: number;
  readonly userFeatures2: number;
  readonly tbFreq: number;
  readonly decBits: number;
  /** RTAS service tokens by name (properties of /rtas). */
  readonly rtasTokens: ReadonlyMap<string, number>;
  /** /rtas has ibm,extended-os-term (rtas_os_term may return). */
  readonly extendedOsTerm: boolean;
  /** Firmware features from ibm,hypertas-functions. */
  readonly fwFeatures: ReadonlySet<string>;
  /** The boot cpu node carries ibm,stop-lite-permitted. */
  readonly stopLitePermitted: boolean;
  /**
   * The interrupt controller the guest drives: XIVE exploitation mode when the tree has an
   * `ibm,power-ivpe` node (pseries_init_irq: xive_spapr_init first, unless xive=off), else XICS
   * through hcalls, or none.
   */
  readonly interruptController: "xics" | "xive" | "none";
  /** The XIVE node's facts (null without one). */
  readonly xive: XiveTreeInfo | null;
  readonly memoryBytes: number;
}

/** What xive_spapr_init reads from the tree. */
export interface XiveTreeInfo {
  /** The TIMA's OS page: the node's second reg ("Resource 1 is the OS ring TIMA"). */
  readonly timaOs: number;
  /** ibm,xive-lisn-ranges: (first, count) pairs the kernel may use for IPIs. */
  readonly lisnRanges: readonly (readonly [number, number])[];
  /** ibm,xive-eq-sizes (log2 of bytes). */
  readonly eqShifts: readonly number[];
  /** /ibm,plat-res-int-priorities: (first, count) pairs the platform reserves. */
  readonly reservedPrios: readonly (readonly [number, number])[];
}

export interface ScanOptions {
  /** PVR from mfspr on the boot thread. */
  readonly pvr: number;
  /** MSR[HV] of the boot thread. */
  readonly hypervisorMode: boolean;
  /** Physical id the boot cpu was started as (FDT header boot_cpuid_phys). */
  readonly bootCpuidPhys: number;
  readonly console: KernelConsole;
  /** The kernel uses XIVE when the tree offers it (default true; false is `xive=off`). */
  readonly xive?: boolean;
}

interface PaFeature {
  readonly pabyte: number;
  readonly pabit: number;
  readonly invert?: boolean;
  readonly cpu?: bigint;
  readonly mmu?: bigint;
  readonly user?: number;
  readonly user2?: number;
}

// linux: arch/powerpc/kernel/prom.c ibm_pa_features[] (v5.6, before MMU_FTR_GTSE and DAWR1)
export const IBM_PA_FEATURES: readonly PaFeature[] = [
  { pabyte: 0, pabit: 0, user: PPC_FEATURE_HAS_MMU },
  { pabyte: 0, pabit: 1, user: PPC_FEATURE_HAS_FPU },
  { pabyte: 0, pabit: 3, cpu: CPU_FTR_CTRL },
  { pabyte: 0, pabit: 6, cpu: CPU_FTR_NOEXECUTE },
  { pabyte: 1, pabit: 2, mmu: MMU_FTR_CI_LARGE_PAGE },
  { pabyte: 40, pabit: 0, mmu: MMU_FTR_TYPE_RADIX },
  { pabyte: 1, pabit: 1, invert: true, cpu: CPU_FTR_NODSISRALIGN },
  { pabyte: 5, pabit: 0, cpu: CPU_FTR_REAL_LE, user: PPC_FEATURE_TRUE_LE },
  // the *_COMP versions: a kernel built with CONFIG_PPC_TRANSACTIONAL_MEM (distribution kernels)
  { pabyte: 22, pabit: 0, cpu: CPU_FTR_TM_COMP, user2: PPC_FEATURE2_HTM | PPC_FEATURE2_HTM_NOSC },
];

interface FeatureSet {
  cpu: bigint;
  mmu: bigint;
  user: number;
  user2: number;
}

// linux: arch/powerpc/kernel/prom.c scan_features
export function scanFeatures(ftrs: Uint8Array, table: readonly PaFeature[], set: FeatureSet): void {
  let off = 0;
  let tablelen = ftrs.length;
  // find descriptor with type == 0
  for (;;) {
    if (tablelen < 3) return;
    const len = 2 + ftrs[off];
    if (tablelen < len) return;
    if (ftrs[off + 1] === 0) break;
    tablelen -= len;
    off += len;
  }
  const nbytes = ftrs[off];
  for (const fp of table) {
    if (fp.pabyte >= nbytes) continue;
    const bit = (ftrs[off + 2 + fp.pabyte] >> (7 - fp.pabit)) & 1;
    if ((bit === 1) !== (fp.invert === true)) {
      set.cpu |= fp.cpu ?? 0n;
      set.mmu |= fp.mmu ?? 0n;
      set.user = (set.user | (fp.user ?? 0)) >>> 0;
      set.user2 = (set.user2 | (fp.user2 ?? 0)) >>> 0;
    } else {
      set.cpu &= ~(fp.cpu ?? 0n);
      set.mmu &= ~(fp.mmu ?? 0n);
      set.user = (set.user & ~(fp.user ?? 0)) >>> 0;
      set.user2 = (set.user2 & ~(fp.user2 ?? 0)) >>> 0;
    }
  }
}

function u32Prop(node: DtNode, name: string): number | undefined {
  const p = node.getProp(name);
  if (p === undefined || p.length < 4) return undefined;
  return p.asU32Array()[0];
}

function cpuNodes(tree: DeviceTree): DtNode[] {
  const out: DtNode[] = [];
  for (const n of tree.root.walk()) {
    const t = n.getProp("device_type");
    if (t !== undefined && t.length > 0 && t.rawValue[t.length - 1] === 0 && t.asString() === "cpu")
      out.push(n);
  }
  return out;
}

function interruptServers(node: DtNode): number[] {
  const p = node.getProp("ibm,ppc-interrupt-server#s") ?? node.getProp("reg");
  if (p === undefined || p.length < 4) return [];
  return p.asU32Array().slice(0, Math.floor(p.length / 4));
}

/**
 * Scans the device tree the way early_init_devtree and setup_arch do. Warnings go to the console
 * with Linux's wording; fatal problems throw GuestBootPanic with the kernel's last messages.
 */
export function scanBootDevicetree(tree: DeviceTree, opts: ScanOptions): BootParams {
  const con = opts.console;
  const nodes = cpuNodes(tree);

  // smp_setup_cpu_maps: logical numbering over all threads of all cpu nodes.
  const threads: CpuThread[] = [];
  nodes.forEach((n, core) => {
    const status = n.getProp("status");
    const present = status === undefined || status.length === 0 || ["okay", "ok"].includes(status.asString());
    interruptServers(n).forEach((hwId, thread) => {
      threads.push({ logical: threads.length, hwId, node: n.path, thread, core, present });
    });
  });

  // early_init_dt_scan_cpus: the boot cpu is the thread whose server number is boot_cpuid_phys.
  const bootCpu = threads.find((t) => t.hwId === opts.bootCpuidPhys);
  if (bootCpu === undefined) {
    throw new GuestBootPanic("Failed to identify boot CPU", ["Failed to identify boot CPU !"]);
  }
  const bootNode = nodes[bootCpu.core];
  const nthreads = interruptServers(bootNode).length;

  // identify_cpu(0, mfspr(SPRN_PVR)); then the PAPR logical PVR if cpu-version is architected.
  let cpuSpec = identifyCpu(opts.pvr);
  const cpuVersion = u32Prop(bootNode, "cpu-version");
  if (cpuVersion !== undefined && (cpuVersion & 0xff000000) >>> 0 === 0x0f000000) {
    cpuSpec = identifyCpu(cpuVersion);
  }
  // the cpu_spec's base user features (cpu_user_features / cpu_user_features2), then the tree's
  const set: FeatureSet = {
    cpu: cpuSpec.cpuFeatures,
    mmu: 0n,
    user: cpuSpec.cpuUserFeatures,
    user2: cpuSpec.cpuUserFeatures2,
  };
  if (!opts.hypervisorMode) set.cpu &= ~CPU_FTR_HVMODE;

  // check_cpu_feature_properties
  const featureProps: Array<[string, number, bigint, number]> = [
    ["ibm,vmx", 1, CPU_FTR_ALTIVEC, PPC_FEATURE_HAS_ALTIVEC],
    ["ibm,vmx", 2, CPU_FTR_VSX, PPC_FEATURE_HAS_VSX],
    ["ibm,dfp", 1, 0n, PPC_FEATURE_HAS_DFP],
    ["ibm,purr", 1, CPU_FTR_PURR, 0],
    ["ibm,spurr", 1, CPU_FTR_SPURR, 0],
  ];
  for (const [name, min, cpu, user] of featureProps) {
    const v = u32Prop(bootNode, name);
    if (v !== undefined && v >= min) {
      set.cpu |= cpu;
      set.user = (set.user | user) >>> 0;
    }
  }
  const pa = bootNode.getProp("ibm,pa-features");
  if (pa !== undefined) scanFeatures(pa.rawValue, IBM_PA_FEATURES, set);
  if (nthreads === 1) set.cpu &= ~CPU_FTR_SMT;
  else set.cpu |= CPU_FTR_SMT;

  // generic_calibrate_decr: the first cpu node's timebase frequency.
  const first = nodes[0];
  let tbFreq = DEFAULT_TB_FREQ;
  const ext = first.getProp("ibm,extended-timebase-frequency");
  const tbp = first.getProp("timebase-frequency");
  if (ext !== undefined && ext.length >= 8) {
    tbFreq = Number(ext.asU64Array()[0]);
  } else if (tbp !== undefined && tbp.length >= 4) {
    tbFreq = tbp.asU32Array()[0];
  } else {
    con.printk("err", "WARNING: Estimating decrementer frequency (not found)");
  }
  if (tbFreq === 0) {
    throw new GuestBootPanic("timebase frequency is zero", [
      "time_init: timebase-frequency of 0 in the device tree; the decrementer cannot be programmed",
    ]);
  }

  // init_decrementer_max
  let decBits = 32;
  const db = u32Prop(bootNode, "ibm,dec-bits");
  if (db !== undefined) {
    if (db > 64 || db < 32) {
      con.printk("warning", `time_init: firmware supplied invalid ibm,dec-bits`);
    } else {
      decBits = db;
    }
  }

  // rtas_token(): every 4-byte property of /rtas is a service token.
  const rtasTokens = new Map<string, number>();
  let extendedOsTerm = false;
  const fwFeatures = new Set<string>();
  const rtas = tree.getNode("/rtas");
  if (rtas === undefined) {
    con.printk("warning", "rtas: no /rtas node in the device tree: RTAS services unavailable");
  } else {
    for (const p of rtas.properties) {
      if (p.length === 4) rtasTokens.set(p.name, p.asU32());
    }
    extendedOsTerm = rtas.hasProp("ibm,extended-os-term");
    const ht = rtas.getProp("ibm,hypertas-functions");
    if (ht !== undefined && ht.length > 0 && ht.rawValue[ht.length - 1] === 0) {
      for (const s of ht.asStringList()) {
        const f = HYPERTAS_FW_FEATURES[s];
        if (f !== undefined) for (const name of f.split(" | ")) fwFeatures.add(name);
      }
    }
  }

  // pseries_init_irq: xive_spapr_init looks for "ibm,power-ivpe" (linux: sysdev/xive/spapr.c)
  let xive: XiveTreeInfo | null = null;
  for (const n of tree.root.walk()) {
    const c = n.getProp("compatible");
    const compat = c !== undefined && c.length > 0 && c.rawValue[c.length - 1] === 0 ? c.asStringList() : [];
    if (!compat.includes("ibm,power-ivpe")) continue;
    const reg = n.getProp("reg");
    if (reg === undefined || reg.length < 32 || reg.length % 16 !== 0) {
      con.printk("err", "xive: Failed to get thread mgmnt area resource");
      break;
    }
    const cells = (name: string): number[] => {
      const p = n.getProp(name);
      return p !== undefined && p.length % 4 === 0 ? p.asU32Array() : [];
    };
    const pairs = (v: number[]): [number, number][] => {
      const out: [number, number][] = [];
      for (let i = 0; i + 1 < v.length; i += 2) out.push([v[i], v[i + 1]]);
      return out;
    };
    const res = tree.root.getProp("ibm,plat-res-int-priorities");
    xive = {
      timaOs: Number(reg.asU64Array()[2]),
      lisnRanges: pairs(cells("ibm,xive-lisn-ranges")),
      eqShifts: cells("ibm,xive-eq-sizes"),
      reservedPrios: res !== undefined && res.length % 4 === 0 ? pairs(res.asU32Array()) : [],
    };
    break;
  }
  // xics: icp_hv_init looks for the presentation controller.
  let interruptController: "xics" | "xive" | "none" = "none";
  for (const n of tree.root.walk()) {
    const c = n.getProp("compatible");
    const t = n.getProp("device_type");
    const compat = c !== undefined && c.length > 0 && c.rawValue[c.length - 1] === 0 ? c.asStringList() : [];
    const type = t !== undefined && t.length > 0 && t.rawValue[t.length - 1] === 0 ? t.asString() : "";
    if (
      compat.some((s) => s.toLowerCase() === "ibm,ppc-xicp") ||
      type === "PowerPC-External-Interrupt-Presentation"
    ) {
      interruptController = "xics";
      break;
    }
  }
  // xive_spapr_disabled: xive=off is ignored when the platform offers XIVE only (OV5 byte 23 of
  // ibm,arch-vec-5-platform-support is OV5_XIVE_EXPLOIT)
  let xiveOnly = false;
  const ps = tree.getNode("/chosen")?.getProp("ibm,arch-vec-5-platform-support")?.rawValue;
  for (let i = 0; ps !== undefined && i + 1 < ps.length; i += 2)
    if (ps[i] === 23) xiveOnly = ps[i + 1] === 0x40;
  if (xive !== null && opts.xive === false && xiveOnly) {
    con.printk("warning", "WARNING: Ignoring cmdline option xive=off");
  }
  if (xive !== null && (opts.xive !== false || xiveOnly)) interruptController = "xive";
  else if (interruptController === "none") {
    con.printk("warning", "XICS: Cannot find a Presentation Controller !");
  }

  let memoryBytes = 0;
  for (const n of tree.root.children) {
    if (n.baseName !== "memory") continue;
    const reg = n.getProp("reg");
    if (reg !== undefined && reg.length % 16 === 0) {
      const cells = reg.asU64Array();
      for (let i = 1; i < cells.length; i += 2) memoryBytes += Number(cells[i]);
    }
  }

  return {
    threads,
    threadsPerCore: nthreads,
    bootCpu,
    pvr: opts.pvr >>> 0,
    cpuVersion,
    cpuSpec,
    cpuFeatures: set.cpu,
    mmuFeatures: set.mmu,
    userFeatures: set.user,
    userFeatures2: set.user2,
    tbFreq,
    decBits,
    rtasTokens,
    extendedOsTerm,
    fwFeatures,
    stopLitePermitted: bootNode.hasProp(STOP_LITE_PERMITTED_PROP),
    interruptController,
    xive,
    memoryBytes,
  };
}
