// The host device tree OPAL (skiboot) hands to the host kernel, for a POWER9 PowerNV host.
// Node and property order follow skiboot: hdata/pcia.c add_core_node, hdata/cpu-common.c
// add_core_common and add_core_cache_info, core/cpu.c init_all_cpus (ibm,dec-bits),
// core/opal.c add_opal_node, core/cpufeatures.c dt_add_cpufeatures, hw/slw.c
// add_cpu_idle_state_properties, hdata/memory.c (memory nodes). Every node gets a phandle at
// creation (skiboot core/device.c new_node: ++last_phandle) and core/fdt.c writes it as the
// node's first property; the blob is written with libfdt's sequential-write API (core/fdt.c
// create_dtb), which encodeDtb reproduces with layout "libfdt-sw".

import { DeviceTree, type DtNode, encodeDtb } from "@stopsim/devicetree";
import { type PnvMachine, SPRN_PIR, SPRN_PVR } from "@stopsim/isa";
import { type CpuFeature, cpuFeatureCells, selectCpuFeatures } from "./cpufeatures.js";
import type { FirmwareVersion } from "./firmware.js";
import { hostbootIplFeatures, skibootFwFeatureName } from "./fw-features.js";
import { type IdleStateConfig, type IdleStateSelection, selectIdleStates } from "./idle-states.js";

/* skiboot include/mem-map.h */
export const SKIBOOT_BASE = 0x30000000n;
export const SKIBOOT_SIZE = 0x01c10000n;
export const STACK_SHIFT = 15n;
/**
 * Address of opal_entry inside the skiboot image. The real address depends on the build; the
 * model dispatches OPAL calls through Opal.call, so this is only the value the tree carries.
 */
export const OPAL_ENTRY_OFFSET = 0x10n;
/** skiboot include/opal-internal.h OPAL_MAX_ASYNC_COMP and sizeof(struct opal_msg). */
export const OPAL_MAX_ASYNC_COMP = 8;
export const OPAL_MSG_SIZE = 72;

/** POWER9 large decrementer width skiboot puts in "ibm,dec-bits" (core/cpu.c). */
export const P9_DEC_BITS = 56;
/** Timebase frequency skiboot hardcodes (hdata/cpu-common.c: "FIXME: Hardcoding is bad"). */
export const TIMEBASE_FREQUENCY = 512_000_000;

/**
 * Cache and TLB geometry hostboot reports in HDAT (sppcia_cpu_cache) and skiboot copies into cpu
 * and cache nodes. Model values for POWER9: 32 KiB 8-way L1 I and D with 128-byte blocks (the
 * same sizes QEMU's POWER9 model reports), 512 KiB L2 and 10 MiB L3 per core pair, 1024-entry
 * 4-way TLB, 128-byte reservation granule.
 */
export const POWER9_CACHE = {
  icacheSize: 32 * 1024,
  l1DcacheSize: 32 * 1024,
  icacheBlockSize: 128,
  dcacheBlockSize: 128,
  icacheAssocSets: 8,
  dcacheAssocSets: 8,
  l2Size: 512 * 1024,
  l3Size: 10 * 1024 * 1024,
  l2AssocSets: 8,
  reservationSize: 128,
  tlbEntries: 1024,
  tlbAssocSets: 4,
} as const;

/** hdata/cpu-common.c pa_features_p9 (identical bytes for DD2.0 in that table). */
const PA_FEATURES_P9 = Uint8Array.from([
  64, 0, 0xf6, 0x3f, 0xc7, 0xc0, 0x80, 0xd0, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80,
  0x00, 0x80, 0x00, 0x80, 0x00, 0x00, 0x00, 0x80, 0x00, 0x80, 0x00, 0x80, 0x00, 0x00, 0x00, 0x80, 0x00, 0x80,
  0x00, 0x00, 0x00, 0x80, 0x00, 0x80, 0x00, 0x80, 0x00, 0x80, 0x00, 0x80, 0x00, 0x80, 0x00, 0x80, 0x00, 0x80,
  0x00, 0x80, 0x00, 0x80, 0x00, 0x80, 0x00, 0x80, 0x00, 0x80, 0x00,
]);

export class HostConfigError extends Error {
  override readonly name = "HostConfigError";
}

export interface HostOptions extends IdleStateConfig {
  /**
   * The machine skiboot boots on: its chips, cores and threads are probed (PIR and PVR read from
   * each thread), never passed as a table.
   */
  readonly machine: PnvMachine;
  readonly firmware: FirmwareVersion;
}

export interface HostThread {
  /** Processor Identification Register value (skiboot include/chip.h P9 PIR layout). */
  readonly pir: number;
  readonly chipId: number;
  readonly coreId: number;
  readonly thread: number;
}

export interface HostCore {
  readonly chipId: number;
  readonly coreId: number;
  /** PIR of thread 0: the unit address of the cpu node. */
  readonly pir: number;
  /** The core's PVR as its thread 0 reads it (mfspr PVR): the node's cpu-version. */
  readonly pvr: number;
  readonly threads: readonly HostThread[];
}

export interface HostTopology {
  readonly chipIds: readonly number[];
  readonly cores: readonly HostCore[];
  readonly threads: readonly HostThread[];
  /** Memory per chip, bytes, in chip order. */
  readonly chipMemoryBytes: readonly bigint[];
  readonly memoryBytes: bigint;
  readonly maxPir: number;
  /** The boot thread's PVR (skiboot reads mfspr(SPR_PVR) on the boot CPU). */
  readonly bootPvr: number;
  /** Core clock, MHz. */
  readonly clockMhz: number;
}

/** The chip's name as the PVR gives it (PVR_VERS_MAJ . PVR_VERS_MIN, skiboot include/processor.h). */
function p9Name(pvr: number): string {
  return `POWER9 DD${(pvr >>> 8) & 0xf}.${pvr & 0xff}`;
}

/** skiboot include/chip.h: P9 PIR = chip id << 8 | core id << 2 | thread. */
export function p9Pir(chipId: number, coreId: number, thread: number): number {
  return (chipId << 8) | (coreId << 2) | thread;
}

/**
 * What skiboot learns of the machine: chips, cores and threads (hdata/pcia.c pcia_parse walks
 * hostboot's per-core entries; core/cpu.c init_boot_cpu / init_all_cpus read PVR and PIR with
 * mfspr on the threads themselves).
 */
export function hostTopology(machine: PnvMachine): HostTopology {
  if (typeof machine !== "object" || machine === null || machine.chips === undefined) {
    throw new HostConfigError(
      "machine is required: build one with new PnvMachine(sim, { chip: chipById(...) })",
    );
  }
  const coreList: HostCore[] = [];
  for (const chip of machine.chips) {
    for (const core of chip.cores) {
      const ts = core.threads.map((t) => ({
        pir: Number(t.getSpr(SPRN_PIR)),
        chipId: chip.chipId,
        coreId: core.coreId,
        thread: t.index,
      }));
      // a PnvMachine core has at least one thread, a machine at least one core (isa validates)
      coreList.push({
        chipId: chip.chipId,
        coreId: core.coreId,
        pir: ts[0].pir,
        pvr: Number(core.threads[0].getSpr(SPRN_PVR)) >>> 0,
        threads: ts,
      });
    }
  }
  const all = coreList.flatMap((c) => c.threads);
  return {
    chipIds: machine.chips.map((c) => c.chipId),
    cores: coreList,
    threads: all,
    chipMemoryBytes: machine.chips.map((c) => c.memoryBytes),
    memoryBytes: machine.memoryBytes,
    maxPir: Math.max(...all.map((t) => t.pir)),
    bootPvr: coreList[0].pvr,
    clockMhz: machine.clockMhz,
  };
}

/** skiboot's dt_new with its phandle allocation (core/device.c new_node). */
class SkibootDt {
  readonly tree = new DeviceTree();
  private lastPhandle = 0;

  constructor() {
    this.tree.root.setPropU32("phandle", ++this.lastPhandle);
  }

  newNode(parent: DtNode, name: string): DtNode {
    const n = parent.addChild(name);
    n.setPropU32("phandle", ++this.lastPhandle);
    return n;
  }
}

const hex = (n: number | bigint): string => n.toString(16);

export interface HostBuild {
  readonly tree: DeviceTree;
  readonly topology: HostTopology;
  readonly features: readonly CpuFeature[];
  readonly idle: IdleStateSelection;
}

/** Builds the host device tree skiboot would hand to Linux (see file header for the sources). */
export function buildHost(opts: HostOptions): HostBuild {
  if (!opts.firmware) throw new HostConfigError("firmware is required (parseFirmwareVersion(...))");
  const topo = hostTopology(opts.machine);
  const clockMhz = topo.clockMhz;
  const dt = new SkibootDt();
  const root = dt.tree.root;
  root.setPropU32("#address-cells", 2);
  root.setPropU32("#size-cells", 2);
  root.setPropStrings("compatible", ["ibm,powernv"]);
  root.setPropString("model", `stopsim ${p9Name(topo.bootPvr)} host`);
  dt.tree.bootCpuidPhys = topo.threads[0].pir;

  // /cpus (hdata/pcia.c pcia_parse)
  const cpus = dt.newNode(root, "cpus");
  cpus.setPropU32("#address-cells", 1);
  cpus.setPropU32("#size-cells", 0);
  const c = POWER9_CACHE;
  const l2ByPair = new Map<number, DtNode>();
  const cpuNodes: DtNode[] = [];
  for (const core of topo.cores) {
    const cpu = dt.newNode(cpus, `PowerPC,POWER9@${hex(core.pir)}`);
    cpuNodes.push(cpu);
    // hdata/cpu-common.c add_core_common
    cpu.setPropString("device_type", "cpu");
    cpu.setPropString("status", "okay");
    cpu.setPropU32("reg", core.pir);
    cpu.setPropU32("cpu-version", core.pvr);
    cpu.setPropEmpty("64-bit");
    cpu.setPropEmpty("32-64-bridge");
    cpu.setPropEmpty("graphics");
    cpu.setPropEmpty("general-purpose");
    cpu.setPropU32("ibm,processor-segment-sizes", 0x1c, 0x28, 0xffffffff, 0xffffffff);
    cpu.setPropU32("ibm,processor-page-sizes", 0xc, 0x10, 0x18, 0x22);
    cpu.setPropU32("ibm,processor-radix-AP-encodings", 0x0000000c, 0xa0000010, 0x20000015, 0x4000001e);
    // biome-ignore format: one line per segment size, as in skiboot
    cpu.setPropU32("ibm,segment-page-sizes",
      0x0c, 0x000, 3, 0x0c, 0x0000, 0x10, 0x0007, 0x18, 0x0038, // 4K segment: 4K, 64K, 16M pages
      0x10, 0x110, 2, 0x10, 0x0001, 0x18, 0x0008, // 64K segment: 64K, 16M pages
      0x18, 0x100, 1, 0x18, 0x0000, // 16M segment: 16M pages
      0x22, 0x120, 1, 0x22, 0x0003); // 16G segment: 16G pages
    cpu.setPropBytes("ibm,pa-features", PA_FEATURES_P9);
    cpu.setPropU32("ibm,slb-size", 0x20);
    cpu.setPropU32("ibm,vmx", 0x2);
    cpu.setPropU32("ibm,dfp", 0x2);
    cpu.setPropU32("ibm,purr", 0x1);
    cpu.setPropU32("ibm,spurr", 0x1);
    const freq = BigInt(clockMhz) * 1_000_000n;
    if (freq <= 0xffffffffn) cpu.setPropU32("clock-frequency", Number(freq));
    cpu.setPropU64("ibm,extended-clock-frequency", freq);
    cpu.setPropU32("timebase-frequency", TIMEBASE_FREQUENCY);
    cpu.setPropU32("ibm,extended-timebase-frequency", 0, TIMEBASE_FREQUENCY);
    cpu.setPropU32("reservation-granule-size", c.reservationSize);
    cpu.setPropU32("d-tlb-size", c.tlbEntries);
    cpu.setPropU32("i-tlb-size", c.tlbEntries);
    cpu.setPropU32("tlb-size", c.tlbEntries);
    cpu.setPropU32("d-tlb-sets", c.tlbAssocSets);
    cpu.setPropU32("i-tlb-sets", c.tlbAssocSets);
    cpu.setPropU32("tlb-sets", c.tlbAssocSets);
    cpu.setPropU32("d-cache-block-size", c.dcacheBlockSize);
    cpu.setPropU32("i-cache-block-size", c.icacheBlockSize);
    cpu.setPropU32("d-cache-size", c.l1DcacheSize);
    cpu.setPropU32("i-cache-size", c.icacheSize);
    cpu.setPropU32("i-cache-sets", c.icacheAssocSets);
    cpu.setPropU32("d-cache-sets", c.dcacheAssocSets);
    // (i/d-cache-line-size only when the line size differs from the block size: not on POWER9)

    // hdata/cpu-common.c add_core_cache_info: the L2 is shared by a core pair, one node per pair.
    const pairPir = core.pir & ~0x7;
    let l2 = l2ByPair.get(pairPir);
    if (!l2) {
      l2 = cacheNode(dt, cpus, "l2-cache", (0x20 << 24) | pairPir, c.l2Size);
      const l3 = cacheNode(dt, cpus, "l3-cache", (0x30 << 24) | pairPir, c.l3Size);
      l2.setPropU32("l2-cache", l3.phandle ?? 0);
      l2ByPair.set(pairPir, l2);
    }
    cpu.setPropU32("l2-cache", l2.phandle ?? 0);
    // hdata/pcia.c add_core_node
    cpu.setPropU32("ibm,pir", core.pir);
    cpu.setPropU32("ibm,chip-id", core.chipId);
    cpu.setPropU32("ibm,ppc-interrupt-server#s", ...core.threads.map((t) => t.pir));
  }

  // hdata/memory.c: one memory node per chip
  topo.chipIds.forEach((chipId, i) => {
    const perChip = topo.chipMemoryBytes[i];
    const base = BigInt(i) * 0x200000000000n; // model: each chip's memory at its own 32 TiB window
    const mem = dt.newNode(root, `memory@${hex(base)}`);
    mem.setPropString("device_type", "memory");
    mem.setPropU64("reg", base, perChip);
    mem.setPropU32("ibm,chip-id", chipId);
  });

  // HDAT parsing creates /ibm,opal/power-mgt with the stop levels hostboot reports; core/opal.c
  // add_opal_node then fills /ibm,opal and adds its firmware node.
  const idle = selectIdleStates(opts);
  const opal = dt.newNode(root, "ibm,opal");
  // hdata/spira.c add_iplparams_features: hostboot's IPL feature settings, one node each
  const fwFeatures = dt.newNode(opal, "fw-features");
  for (const f of hostbootIplFeatures(topo.bootPvr)) {
    dt.newNode(fwFeatures, skibootFwFeatureName(f.name)).setPropEmpty(f.enabled ? "enabled" : "disabled");
  }
  // hdata/spira.c add_stop_levels
  const pm = dt.newNode(opal, "power-mgt");
  pm.setPropU32("ibm,enabled-stop-levels", idle.enabledStopLevels);
  opal.setPropU32("#address-cells", 0);
  opal.setPropU32("#size-cells", 0);
  opal.setPropStrings("compatible", ["ibm,opal-v3"]);
  opal.setPropU32("opal-msg-async-num", OPAL_MAX_ASYNC_COMP);
  opal.setPropU32("opal-msg-size", OPAL_MSG_SIZE);
  opal.setPropU64("opal-base-address", SKIBOOT_BASE);
  opal.setPropU64("opal-entry-address", SKIBOOT_BASE + OPAL_ENTRY_OFFSET);
  opal.setPropU64("opal-runtime-size", SKIBOOT_SIZE + (BigInt(topo.maxPir) + 1n) * (1n << STACK_SHIFT));
  const fw = dt.newNode(opal, "firmware");
  fw.setPropString("compatible", "ibm,opal-firmware");
  fw.setPropString("name", "firmware");
  fw.setPropString("version", opts.firmware.versionString);

  // core/init.c -> core/cpu.c init_all_cpus: decrementer width on every cpu node
  for (const cpu of cpuNodes) cpu.setPropU32("ibm,dec-bits", P9_DEC_BITS);

  // core/cpufeatures.c dt_add_cpufeatures
  const features = selectCpuFeatures(topo.bootPvr, opts.firmware);
  const featNode = dt.newNode(cpus, "ibm,powerpc-cpu-features");
  featNode.setPropU32("isa", 3000);
  featNode.setPropString("device_type", "cpu-features");
  featNode.setPropString("compatible", "ibm,powerpc-cpu-features");
  featNode.setPropString("display-name", "POWER9");
  const featureNodes: DtNode[] = [];
  for (const feat of features) {
    const n = dt.newNode(featNode, feat.name);
    for (const [name, value] of cpuFeatureCells(feat)) n.setPropU32(name, value);
    if (feat.dependencies.length > 0) n.setPropEmpty("dependencies");
    featureNodes.push(n);
  }
  // add_cpufeatures_dependencies: each name matches the first feature node whose name starts
  // with it (skiboot compares with strncmp over the dependency name's length).
  features.forEach((feat, i) => {
    if (feat.dependencies.length === 0) return;
    const phandles = feat.dependencies.map((dep) => {
      const target = featureNodes.find((n) => n.name.startsWith(dep));
      if (target?.phandle === undefined) {
        throw new Error(`cpu feature table: ${feat.name} depends on ${dep}, which is not published`);
      }
      return target.phandle;
    });
    featureNodes[i].setPropU32("dependencies", ...phandles);
  });

  // hw/slw.c add_cpu_idle_state_properties
  pm.setPropStrings(
    "ibm,cpu-idle-state-names",
    idle.states.map((s) => s.name),
  );
  pm.setPropU32("ibm,cpu-idle-state-latencies-ns", ...idle.states.map((s) => s.latencyNs));
  pm.setPropU32("ibm,cpu-idle-state-residency-ns", ...idle.states.map((s) => s.residencyNs));
  pm.setPropU32("ibm,cpu-idle-state-flags", ...idle.states.map((s) => s.flags));
  pm.setPropU64("ibm,cpu-idle-state-psscr", ...idle.states.map((s) => s.psscr));
  pm.setPropU64("ibm,cpu-idle-state-psscr-mask", ...idle.states.map((s) => s.psscrMask));

  return { tree: dt.tree, topology: topo, features, idle };
}

function cacheNode(dt: SkibootDt, cpus: DtNode, name: string, unit: number, size: number): DtNode {
  // hdata/cpu-common.c create_cache_node + l2_cache_node / l3_cache_node
  const n = dt.newNode(cpus, `${name}@${hex(unit >>> 0)}`);
  n.setPropString("device_type", "cache");
  n.setPropU32("reg", unit >>> 0);
  n.setPropString("status", "okay");
  n.setPropEmpty("cache-unified");
  n.setPropU32("d-cache-sets", POWER9_CACHE.l2AssocSets);
  n.setPropU32("i-cache-sets", POWER9_CACHE.l2AssocSets);
  n.setPropU32("d-cache-size", size);
  n.setPropU32("i-cache-size", size);
  return n;
}

/** The host device tree object (see buildHost for everything else the boot produces). */
export function buildHostTree(opts: HostOptions): DeviceTree {
  return buildHost(opts).tree;
}

/** The host DTB bytes, written as skiboot's create_dtb() writes them (libfdt sequential write). */
export function buildHostDtb(opts: HostOptions): Uint8Array {
  return encodeDtb(buildHostTree(opts), { layout: "libfdt-sw" });
}
