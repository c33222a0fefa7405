// The guest device tree of the pseries machine.
// qemu: hw/ppc/spapr.c spapr_build_fdt, spapr_dt_cpus, spapr_dt_cpu, spapr_dt_pa_features,
//       spapr_dt_memory, spapr_dt_chosen, spapr_dt_hypervisor, spapr_dt_rtas;
//       hw/ppc/spapr_rtas.c spapr_dt_rtas_tokens; hw/intc/xics_spapr.c spapr_dt_xics;
//       hw/intc/spapr_xive.c spapr_dt_xive; hw/ppc/spapr_ovec.c spapr_ovec_populate_dt;
//       hw/ppc/spapr_vio.c (vdevice, vty).
// QEMU edits a blob with libfdt, which inserts every new property and subnode in front of the
// existing ones (fdt_add_property_ / fdt_add_subnode_namelen); the blob therefore lists them in the
// reverse order of creation. FdtBuilder reproduces that so the blob reads like QEMU's.

import { DeviceTree, type DtNode, encodeDtb } from "@stopsim/devicetree";
import { SPAPR_XIVE_TM_BASE, TM_SHIFT, XIVE_TM_OS_PAGE, XIVE_TM_USER_PAGE } from "@stopsim/isa";
import {
  SPAPR_CAP_HPT_MAXPAGESIZE,
  SPAPR_CAP_HTM,
  SPAPR_CAP_LARGE_DECREMENTER,
  SPAPR_CAP_OFF,
  SPAPR_CAP_STOP_LITE,
} from "./caps.js";
import { type CpuModel, POWER9_CLASS, type SegmentPageSizes } from "./cpu-models.js";
import { type ActiveIntc, type IcMode, icModeOffers, ov5Property, platformSupportCells } from "./irq.js";
import type { MachineType, QemuBuild } from "./machine.js";
import type { SmpConfig } from "./options.js";
import { RTAS_CALL_NAMES, RTAS_TOKEN_BASE } from "./rtas-tokens.js";

/** The property by which the guest learns it may use stop0lite (this project's channel). */
export const STOP_LITE_PERMITTED_PROP = "ibm,stop-lite-permitted";

/** qemu: include/hw/ppc/spapr.h */
export const SPAPR_TIMEBASE_FREQ = 512000000;
export const SPAPR_MEMORY_BLOCK_SIZE = 1 << 28;
export const RTAS_ERROR_LOG_MAX = 2048;
export const RTAS_EVENT_SCAN_RATE = 1;
/** qemu: include/hw/ppc/spapr.h RTAS_MIN_SIZE: the RTAS blob itself (QEMU >= 6.1). */
export const RTAS_MIN_SIZE = 20;

/**
 * /rtas/rtas-size as QEMU computes it (qemu: hw/ppc/spapr.c spapr_dt_rtas): the RTAS blob, the
 * error log, a per-CPU FWNMI system-reset save area of two u64 and one more u64 ("Linux's FWNMI
 * error log check is off-by-one"): RTAS_MIN_SIZE + RTAS_ERROR_LOG_MAX + max_cpus * 16 + 8.
 * Checked against qemu-system-ppc64 7.2 dumpdtb: 0x83c at -smp 2, 0x85c at -smp 4.
 */
export function rtasSize(maxCpus: number): number {
  return RTAS_MIN_SIZE + RTAS_ERROR_LOG_MAX + maxCpus * 8 * 2 + 8;
}
/** qemu: include/hw/ppc/xics.h / spapr_irq.c: the XICS presentation controller phandle. */
export const PHANDLE_INTC = 0x00001111;
/** qemu: include/hw/ppc/spapr_drc.h DRC index of a CPU core: type CPU (0x1) << 28 | core id. */
export const SPAPR_DRC_CPU_BASE = 0x10000000;
export const SPAPR_VIO_VTY_REG = 0x71000000;

type PropValue = Uint8Array;

/** A node under construction with libfdt's insertion order. */
class FdtNode {
  readonly props: [string, PropValue][] = [];
  readonly children: FdtNode[] = [];
  constructor(readonly name: string) {}

  setprop(name: string, value: PropValue): void {
    const existing = this.props.find((p) => p[0] === name);
    if (existing) existing[1] = value;
    else this.props.unshift([name, value]);
  }
  setpropCells(name: string, ...cells: number[]): void {
    this.setprop(name, cellBytes(cells));
  }
  setpropString(name: string, value: string): void {
    this.setprop(name, strBytes([value]));
  }
  setpropEmpty(name: string): void {
    this.setprop(name, new Uint8Array(0));
  }
  addSubnode(name: string): FdtNode {
    const n = new FdtNode(name);
    this.children.unshift(n);
    return n;
  }
}

function cellBytes(cells: readonly number[]): Uint8Array {
  const b = new Uint8Array(cells.length * 4);
  const v = new DataView(b.buffer);
  cells.forEach((c, i) => {
    v.setUint32(i * 4, c >>> 0);
  });
  return b;
}

function u64Cells(...values: bigint[]): number[] {
  return values.flatMap((x) => [Number((x >> 32n) & 0xffffffffn), Number(x & 0xffffffffn)]);
}

function strBytes(values: readonly string[]): Uint8Array {
  const parts = values.map((s) => `${s}\0`).join("");
  const b = new Uint8Array(parts.length);
  for (let i = 0; i < parts.length; i++) b[i] = parts.charCodeAt(i) & 0xff;
  return b;
}

function materialise(src: FdtNode, dst: DtNode): void {
  for (const [name, value] of src.props) dst.setProp(name, value);
  for (const child of src.children) materialise(child, dst.addChild(child.name));
}

/** What the host tells QEMU under KVM (qemu: target/ppc/kvm.c kvmppc_get_tbfreq, kvmppc_read_int_cpu_dt). */
export interface HostCpuInfo {
  readonly timebaseFrequency: number;
  readonly clockFrequency: number;
  readonly dcacheSize: number;
  readonly icacheSize: number;
  /** KVM_CAP_PPC_FIXUP_HCALL: QEMU then publishes hcall-instructions in /hypervisor. */
  readonly fixupHcalls: boolean;
  /** KVM_CAP_STOP as the host reports it (read only by a build with probeKvmCapStop). */
  readonly kvmCapStop: boolean;
}

export interface SpaprFdtInput {
  readonly machineType: MachineType;
  readonly build: QemuBuild;
  /** Effective cap levels (spapr->eff). */
  readonly caps: readonly number[];
  readonly cpu: CpuModel;
  readonly smp: SmpConfig;
  readonly ramSize: number;
  readonly host: HostCpuInfo;
  /** 8 cells of /chosen/rng-seed (from the machine's seeded random stream). */
  readonly rngSeed: readonly number[];
  readonly bootargs?: string;
  /** Kernel loaded by QEMU: /chosen/qemu,boot-kernel = <addr size>. */
  readonly kernel?: { readonly addr: bigint; readonly size: bigint; readonly littleEndian: boolean };
  /**
   * The interrupt controller: ic-mode, the active controller and the OV5 negotiated at CAS
   * (spapr->ov5_cas; empty before CAS). Default: ic-mode=dual before CAS (XICS, empty OV5).
   */
  readonly irq?: { readonly mode: IcMode; readonly active: ActiveIntc; readonly ov5Cas?: Uint8Array };
}

/** qemu: hw/ppc/spapr.c spapr_hpt_shift_for_ramsize: an HPT of 1/128 of RAM, 2^18..2^46. */
export function spaprHptShiftForRamsize(ramSize: number): number {
  let pow2 = 1;
  let shift = 0;
  while (pow2 < ramSize) {
    pow2 *= 2;
    shift++;
  }
  return Math.min(Math.max(shift - 7, 18), 46);
}

/** qemu: target/ppc/mmu-hash64.c ppc_hash64_filter_pagesizes with spapr_caps.c spapr_pagesize_cb. */
export function filterPageSizes(maxShift: number): { sps: SegmentPageSizes[]; ciLargePage: boolean } {
  const sps: SegmentPageSizes[] = [];
  let ciLargePage = false;
  for (const seg of POWER9_CLASS.segmentPageSizes) {
    const enc = seg.enc.filter((ps) => {
      if (ps.pageShift > maxShift) return false;
      // KVM allows a different page size within a segment only for 16M pages
      return ps.pageShift === seg.pageShift || ps.pageShift === 24;
    });
    if (enc.some((ps) => ps.pageShift >= 16)) ciLargePage = true;
    if (enc.length > 0) sps.push({ pageShift: seg.pageShift, slbEnc: seg.slbEnc, enc });
  }
  return { sps, ciLargePage };
}

// qemu: hw/ppc/spapr.c spapr_dt_pa_features, the ISA 3.00 table (66 attribute bytes)
const PA_FEATURES_300: readonly number[] = [
  66, 0, /* 0: MMU|FPU|SLB|RUN|DABR|NX, 1: fri[nz]ma|sso, 2: pm */ 0xf6, 0x1f, 0xc7, 0xc0, 0x80, 0xf0,
  /* 6: DS207 */ 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, /* 16: Vector */ 0x00, 0x00, 0x00, 0x00, 0x80, 0x00,
  /* 18: Vec. Scalar, 20: Vec. XOR, 22: HTM */ 0x80, 0x00, 0x80, 0x00, 0x00, 0x00,
  /* 24: Ext. Dec, 26: 64 bit ftrs, 28: PM ftrs */ 0x80, 0x00, 0x80, 0x00, 0x80, 0x00,
  /* 30: MMR, 32: LE atomic, 34: EBB + ext EBB */ 0x80, 0x00, 0x80, 0x00, 0xc0, 0x00,
  /* 36: SPR SO, 38: Copy/Paste, 40: Radix MMU */ 0x80, 0x00, 0x80, 0x00, 0x80, 0x00,
  /* 42: PM, 44: PC RA, 46: SC vec'd */ 0x80, 0x00, 0x80, 0x00, 0x80, 0x00,
  /* 48: SIMD, 50: QP BFP, 52: String */ 0x80, 0x00, 0x80, 0x00, 0x80, 0x00,
  /* 54: DecFP, 56: DecI, 58: SHA */ 0x80, 0x00, 0x80, 0x00, 0x80, 0x00, /* 60: NM atomic, 62: RNG */ 0x80,
  0x00, 0x80, 0x00, 0x00, 0x00,
];

/** The pa-features bytes for the caps (qemu: hw/ppc/spapr.c spapr_dt_pa_features). */
export function paFeatures(caps: readonly number[], ciLargePage: boolean): Uint8Array {
  const pa = Uint8Array.from(PA_FEATURES_300);
  if (ciLargePage) pa[3] |= 0x20;
  if (caps[SPAPR_CAP_HTM] !== SPAPR_CAP_OFF) pa[24] |= 0x80; // Transactional memory support
  return pa;
}

/** Whether this guest may use stop0lite, as the lite-stop channel tells it. */
export function stopLitePermitted(build: QemuBuild, caps: readonly number[], host: HostCpuInfo): boolean {
  if (build.stopLiteCap && caps[SPAPR_CAP_STOP_LITE] !== SPAPR_CAP_OFF) return true;
  // the host-probed design: whatever the host reports goes straight to the guest
  return build.probeKvmCapStop && host.kvmCapStop;
}

/** vCPU id of thread `thread` of core `core` (qemu: hw/ppc/spapr.c spapr_vcpu_id, VSMT = threads). */
export function spaprVcpuId(smp: SmpConfig, core: number, thread: number): number {
  return core * smp.threads + thread;
}

// qemu: hw/ppc/spapr.c spapr_dt_cpu
function spaprDtCpu(cpus: FdtNode, input: SpaprFdtInput, core: number): void {
  const { smp, caps, cpu, host } = input;
  const index = spaprVcpuId(smp, core, 0);
  const node = cpus.addSubnode(`PowerPC,POWER9@${index.toString(16)}`);
  const vcpusPerSocket = smp.cores * smp.threads;
  const cpuIndex = core * smp.threads;
  const { sps, ciLargePage } = filterPageSizes(caps[SPAPR_CAP_HPT_MAXPAGESIZE]);

  node.setpropCells("ibm,my-drc-index", SPAPR_DRC_CPU_BASE + index);
  node.setpropCells("reg", index);
  node.setpropString("device_type", "cpu");
  node.setpropCells("cpu-version", cpu.pvr);
  node.setpropCells("d-cache-block-size", POWER9_CLASS.dcacheLineSize);
  node.setpropCells("d-cache-line-size", POWER9_CLASS.dcacheLineSize);
  node.setpropCells("i-cache-block-size", POWER9_CLASS.icacheLineSize);
  node.setpropCells("i-cache-line-size", POWER9_CLASS.icacheLineSize);
  node.setpropCells("d-cache-size", host.dcacheSize);
  node.setpropCells("i-cache-size", host.icacheSize);
  node.setpropCells("timebase-frequency", host.timebaseFrequency);
  node.setpropCells("clock-frequency", host.clockFrequency);
  node.setpropCells("slb-size", POWER9_CLASS.slbSize);
  node.setpropCells("ibm,slb-size", POWER9_CLASS.slbSize);
  node.setpropString("status", "okay");
  node.setpropEmpty("64-bit");
  node.setpropCells("ibm,purr", 1);
  node.setpropCells("ibm,spurr", 1);
  node.setpropCells("ibm,processor-segment-sizes", 28, 40, 0xffffffff, 0xffffffff);
  node.setpropCells("ibm,vmx", 2); // VSX
  node.setpropCells("ibm,dfp", 1);
  node.setpropCells(
    "ibm,segment-page-sizes",
    ...sps.flatMap((s) => [
      s.pageShift,
      s.slbEnc,
      s.enc.length,
      ...s.enc.flatMap((e) => [e.pageShift, e.pteEnc]),
    ]),
  );
  node.setprop("ibm,pa-features", paFeatures(caps, ciLargePage));
  node.setpropCells("ibm,chip-id", Math.floor(cpuIndex / vcpusPerSocket));
  node.setpropCells("ibm,pft-size", 0, spaprHptShiftForRamsize(input.ramSize));
  const servers: number[] = [];
  const gservers: number[] = [];
  for (let t = 0; t < smp.threads; t++) {
    const id = spaprVcpuId(smp, core, t);
    if (id >= smp.cpus) break;
    servers.push(id);
    gservers.push(id, 0);
  }
  node.setpropCells("ibm,ppc-interrupt-server#s", ...servers);
  node.setpropCells("ibm,ppc-interrupt-gserver#s", ...gservers);
  node.setpropCells("ibm,processor-radix-AP-encodings", ...POWER9_CLASS.radixApEncodings);
  if (caps[SPAPR_CAP_LARGE_DECREMENTER] !== SPAPR_CAP_OFF) {
    node.setpropCells("ibm,dec-bits", POWER9_CLASS.lrgDecrBits);
  }
  if (stopLitePermitted(input.build, caps, host)) node.setpropEmpty(STOP_LITE_PERMITTED_PROP);
}

// qemu: hw/ppc/spapr.c spapr_dt_cpus (cores in reverse so that they read in order)
function spaprDtCpus(root: FdtNode, input: SpaprFdtInput): void {
  const cpus = root.addSubnode("cpus");
  cpus.setpropCells("#address-cells", 1);
  cpus.setpropCells("#size-cells", 0);
  const nCores = Math.ceil(input.smp.cpus / input.smp.threads);
  for (let core = nCores - 1; core >= 0; core--) spaprDtCpu(cpus, input, core);
}

const XICS_RTAS_CALLS: ReadonlySet<string> = new Set([
  "ibm,set-xive",
  "ibm,get-xive",
  "ibm,int-off",
  "ibm,int-on",
]);

// qemu: hw/ppc/spapr.c spapr_dt_rtas + hw/ppc/spapr_rtas.c spapr_dt_rtas_tokens
function spaprDtRtas(root: FdtNode, input: SpaprFdtInput): void {
  const rtas = root.addSubnode("rtas");
  const hypertas = [
    "hcall-pft",
    "hcall-term",
    "hcall-dabr",
    "hcall-interrupt",
    "hcall-tce",
    "hcall-vio",
    "hcall-splpar",
    "hcall-join",
    "hcall-bulk",
    "hcall-set-mode",
    "hcall-sprg0",
    "hcall-copy",
    "hcall-debug",
    "hcall-vphn",
    "hcall-multi-tce",
    "hcall-hpt-resize",
  ];
  rtas.setprop("ibm,hypertas-functions", strBytes(hypertas));
  rtas.setprop("qemu,hypertas-functions", strBytes(["hcall-memop1"]));
  // pseries-5.1 added a third reference point (smc->pre_5_1_assoc_refpoints for older types)
  const refpoints = input.machineType.name === "pseries-5.1" ? [4, 4, 2] : [4, 4];
  rtas.setpropCells("ibm,associativity-reference-points", ...refpoints);
  rtas.setpropCells("ibm,max-associativity-domains", 4, 0, 0, 0, 1);
  rtas.setpropCells("rtas-size", rtasSize(input.smp.maxCpus));
  rtas.setpropCells("rtas-error-log-max", RTAS_ERROR_LOG_MAX);
  rtas.setpropCells("rtas-event-scan-rate", RTAS_EVENT_SCAN_RATE);
  rtas.setpropEmpty("ibm,change-msix-capable");
  rtas.setpropEmpty("ibm,extended-os-term");
  const maxCores = Math.ceil(input.smp.maxCpus / input.smp.threads);
  rtas.setpropCells("ibm,lrdr-capacity", ...u64Cells(0n, BigInt(SPAPR_MEMORY_BLOCK_SIZE)), maxCores);
  // the XICS RTAS calls exist only on a machine with a XICS (qemu: hw/intc/xics_spapr.c
  // ics_spapr_realize registers them); QEMU 7.2's ic-mode=xive dumpdtb has none of the four
  const xics = icModeOffers(input.irq?.mode ?? "dual").xics;
  for (const [i, name] of RTAS_CALL_NAMES.entries()) {
    if (xics || !XICS_RTAS_CALLS.has(name)) rtas.setpropCells(name, RTAS_TOKEN_BASE + i);
  }
}

// qemu: hw/ppc/spapr.c spapr_dt_chosen
function spaprDtChosen(root: FdtNode, input: SpaprFdtInput): void {
  const chosen = root.addSubnode("chosen");
  if (input.bootargs !== undefined) chosen.setpropString("bootargs", input.bootargs);
  if (input.kernel) {
    chosen.setpropCells("qemu,boot-kernel", ...u64Cells(input.kernel.addr, input.kernel.size));
    if (input.kernel.littleEndian) chosen.setpropEmpty("qemu,boot-kernel-le");
  }
  chosen.setpropCells("qemu,graphic-width", 800);
  chosen.setpropCells("qemu,graphic-height", 600);
  chosen.setpropCells("qemu,graphic-depth", 32);
  const vty = `/vdevice/vty@${SPAPR_VIO_VTY_REG.toString(16)}`;
  chosen.setpropString("linux,stdout-path", vty);
  chosen.setpropString("stdout-path", vty);
  chosen.setpropCells("linux,pci-probe-only", 0);
  chosen.setpropCells("ibm,arch-vec-5-platform-support", ...platformSupportCells(input.irq?.mode ?? "dual"));
  chosen.setpropCells("rng-seed", ...input.rngSeed);
  // spapr_dt_ovec: the OV5 negotiated at CAS (one zero byte before CAS), written last, after
  // rng-seed (so libfdt lists it first, as QEMU 7.2's dumpdtb shows)
  chosen.setprop("ibm,architecture-vec-5", ov5Property(input.irq?.ov5Cas ?? new Uint8Array(2)));
}

/**
 * qemu: target/ppc/kvm.c kvmppc_get_hypercall fallback (KVM HV has no KVM_PPC_GET_PVINFO): hcalls
 * through this page fail in either endianness.
 */
const HCALL_FALLBACK = [0x08000048, 0x3860ffff, 0x48000008, 0xffff6038];

// qemu: hw/ppc/spapr.c spapr_dt_hypervisor (KVM only)
function spaprDtHypervisor(root: FdtNode, input: SpaprFdtInput): void {
  const hv = root.addSubnode("hypervisor");
  hv.setpropString("compatible", "linux,kvm");
  if (input.host.fixupHcalls) hv.setpropCells("hcall-instructions", ...HCALL_FALLBACK);
}

// qemu: hw/intc/spapr_xive.c spapr_dt_xive: the TIMA's user and OS pages, the queue sizes, the
// IPI interrupt numbers (one per possible vCPU), and the priorities the hypervisor reserves
function spaprDtXive(root: FdtNode, input: SpaprFdtInput): void {
  const user = BigInt(SPAPR_XIVE_TM_BASE + (XIVE_TM_USER_PAGE << TM_SHIFT));
  const os = BigInt(SPAPR_XIVE_TM_BASE + (XIVE_TM_OS_PAGE << TM_SHIFT));
  const page = BigInt(1 << TM_SHIFT);
  const intc = root.addSubnode(`interrupt-controller@${user.toString(16)}`);
  intc.setpropString("device_type", "power-ivpe");
  intc.setpropCells("reg", ...u64Cells(user, page, os, page));
  intc.setpropString("compatible", "ibm,power-ivpe");
  intc.setpropCells("ibm,xive-eq-sizes", 16); // 64 KiB queues: what Linux uses
  intc.setpropCells("ibm,xive-lisn-ranges", 0, input.smp.maxCpus);
  intc.setpropEmpty("interrupt-controller");
  intc.setpropCells("#interrupt-cells", 2);
  intc.setpropCells("linux,phandle", PHANDLE_INTC);
  intc.setpropCells("phandle", PHANDLE_INTC);
  root.setpropCells("ibm,plat-res-int-priorities", 7, 0xf8);
}

/** Builds the guest device tree (qemu: hw/ppc/spapr.c spapr_build_fdt). */
export function spaprBuildFdt(input: SpaprFdtInput): DeviceTree {
  const root = new FdtNode("");
  root.setpropString("device_type", "chrp");
  root.setpropString("model", "IBM pSeries (emulated by qemu)");
  root.setpropString("compatible", "qemu,pseries");
  root.setpropString("vm,uuid", "00000000-0000-0000-0000-000000000000");
  root.setpropCells("#address-cells", 2);
  root.setpropCells("#size-cells", 2);

  if ((input.irq?.active ?? "xics") === "xive") spaprDtXive(root, input);
  else {
    // qemu: hw/intc/xics_spapr.c spapr_dt_xics
    const intc = root.addSubnode("interrupt-controller");
    intc.setpropString("device_type", "PowerPC-External-Interrupt-Presentation");
    intc.setpropString("compatible", "IBM,ppc-xicp");
    intc.setpropEmpty("interrupt-controller");
    intc.setpropCells("ibm,interrupt-server-ranges", 0, input.smp.maxCpus);
    intc.setpropCells("#interrupt-cells", 2);
    intc.setpropCells("linux,phandle", PHANDLE_INTC);
    intc.setpropCells("phandle", PHANDLE_INTC);
  }

  // qemu: hw/ppc/spapr.c spapr_dt_memory (one NUMA node: memory@0 covers all of RAM)
  const mem = root.addSubnode("memory@0");
  mem.setpropString("device_type", "memory");
  mem.setpropCells("reg", ...u64Cells(0n, BigInt(input.ramSize)));
  mem.setpropCells("ibm,associativity", 4, 0, 0, 0, 0);

  // qemu: hw/ppc/spapr_vio.c spapr_dt_vdevice with the console (spapr-vty)
  const vdev = root.addSubnode("vdevice");
  vdev.setpropString("device_type", "vdevice");
  vdev.setpropString("compatible", "IBM,vdevice");
  vdev.setpropCells("#address-cells", 1);
  vdev.setpropCells("#size-cells", 0);
  vdev.setpropCells("#interrupt-cells", 2);
  vdev.setpropEmpty("interrupt-controller");
  const vty = vdev.addSubnode(`vty@${SPAPR_VIO_VTY_REG.toString(16)}`);
  vty.setpropCells("reg", SPAPR_VIO_VTY_REG);
  vty.setpropString("device_type", "serial");
  vty.setpropString("compatible", "hvterm1");
  vty.setpropCells("interrupts", 0x1100, 0);

  spaprDtCpus(root, input);
  spaprDtRtas(root, input);
  spaprDtChosen(root, input);
  spaprDtHypervisor(root, input);

  const tree = new DeviceTree();
  materialise(root, tree.root);
  return tree;
}

/** The guest DTB bytes (what dumpdtb writes and what QEMU copies into guest RAM). */
export function spaprBuildDtb(input: SpaprFdtInput): Uint8Array {
  return encodeDtb(spaprBuildFdt(input));
}
