// POWER9 CPU models of the pseries machine.
// qemu: target/ppc/cpu-models.c (POWERPC_DEF names and PVRs, ppc_cpu_aliases),
//       target/ppc/cpu_init.c (POWER9 class: L1 caches, SLB size, large decrementer bits),
//       target/ppc/mmu-hash64.c (ppc_hash64_opts_POWER7 segment/page sizes),
//       target/ppc/kvm.c kvm_ppc_register_host_cpu_type (under KVM the family alias means "host").

import { QemuError } from "./errors.js";

export interface PageSizeEncoding {
  readonly pageShift: number;
  readonly pteEnc: number;
}

/** One segment page size and the actual page sizes it allows (qemu: PPCHash64SegmentPageSizes). */
export interface SegmentPageSizes {
  readonly pageShift: number;
  readonly slbEnc: number;
  readonly enc: readonly PageSizeEncoding[];
}

export interface CpuModel {
  /** QEMU model name, e.g. "power9_v2.0" (or "host"). */
  readonly name: string;
  /** Human description as `-cpu help` prints it. */
  readonly description: string;
  /** Processor Version Register; for "host" the PVR of the host's CPU. */
  readonly pvr: number;
  /** QOM type name as query-machines shows it ("power9_v2.0-powerpc64-cpu"). */
  readonly typeName: string;
}

/** CPU_POWERPC_POWER9_* (qemu: target/ppc/cpu-models.h). */
export const CPU_POWERPC_POWER9_DD1 = 0x004e0100;
export const CPU_POWERPC_POWER9_DD20 = 0x004e1200;
export const CPU_POWERPC_POWER9_DD22 = 0x004e1202;
/** The PVR "logical" value of ISA 3.00 used for compat mode (qemu: cpu-models.h CPU_POWERPC_LOGICAL_3_00). */
export const CPU_POWERPC_LOGICAL_3_00 = 0x0f000005;

function model(name: string, pvr: number, description: string): CpuModel {
  return { name, pvr, description, typeName: `${name}-powerpc64-cpu` };
}

/** POWER9 models QEMU defines (power9_v2.2 appears in newer QEMU releases). */
export const POWER9_CPU_MODELS: readonly CpuModel[] = [
  model("power9_v1.0", CPU_POWERPC_POWER9_DD1, "POWER9 v1.0"),
  model("power9_v2.0", CPU_POWERPC_POWER9_DD20, "POWER9 v2.0"),
  model("power9_v2.2", CPU_POWERPC_POWER9_DD22, "POWER9 v2.2"),
];

/** The family alias: `-cpu POWER9` is power9_v2.0 under TCG (qemu: cpu-models.c ppc_cpu_aliases). */
export const POWER9_FAMILY_ALIAS = "power9";
export const POWER9_FAMILY_DEFAULT = "power9_v2.0";

/** POWER9 class constants (qemu: target/ppc/cpu_init.c POWERPC_FAMILY(POWER9)). */
export const POWER9_CLASS = {
  l1DcacheSize: 0x8000,
  l1IcacheSize: 0x8000,
  dcacheLineSize: 128,
  icacheLineSize: 128,
  slbSize: 32,
  /** pcc->lrg_decr_bits; the guest tree's ibm,dec-bits. */
  lrgDecrBits: 56,
  /** Radix AP encodings (qemu: target/ppc/cpu_init.c POWER9_radix_page_info): 4K, 64K, 2M, 1G. */
  radixApEncodings: [0x0000000c, 0xa0000010, 0x20000015, 0x4000001e] as readonly number[],
  /** qemu: target/ppc/mmu-hash64.c ppc_hash64_opts_POWER7 (POWER9 uses the same table). */
  segmentPageSizes: [
    {
      pageShift: 12,
      slbEnc: 0x000,
      enc: [
        { pageShift: 12, pteEnc: 0x0 },
        { pageShift: 16, pteEnc: 0x7 },
        { pageShift: 24, pteEnc: 0x38 },
      ],
    },
    {
      pageShift: 16,
      slbEnc: 0x110,
      enc: [
        { pageShift: 16, pteEnc: 0x1 },
        { pageShift: 24, pteEnc: 0x8 },
      ],
    },
    { pageShift: 24, slbEnc: 0x100, enc: [{ pageShift: 24, pteEnc: 0x0 }] },
    { pageShift: 34, slbEnc: 0x120, enc: [{ pageShift: 34, pteEnc: 0x3 }] },
  ] as readonly SegmentPageSizes[],
} as const;

/**
 * Resolves a `-cpu` name like ppc_cpu_class_by_name (case-insensitive, aliases). Under KVM the family
 * alias POWER9 (and "host") name the host CPU with the host's PVR, as kvm_ppc_register_host_cpu_type
 * rewrites the alias; a specific model (power9_v2.0) keeps its own PVR.
 */
export function resolveCpuModel(name: string, hostPvr: number | undefined): CpuModel {
  const key = name.toLowerCase();
  if (hostPvr !== undefined && (key === "host" || key === POWER9_FAMILY_ALIAS)) {
    if (hostPvr >>> 16 !== 0x004e) {
      throw new QemuError(`unable to find CPU model '${name}'`);
    }
    return { name: "host", pvr: hostPvr, description: "POWER9 (host)", typeName: "host-powerpc64-cpu" };
  }
  const target = key === POWER9_FAMILY_ALIAS ? POWER9_FAMILY_DEFAULT : key;
  const found = POWER9_CPU_MODELS.find((m) => m.name === target);
  if (!found) throw new QemuError(`unable to find CPU model '${name}'`);
  return found;
}

/** True for names `-cpu` accepts on any POWER9 host: the models, the family alias and "host". */
export function isKnownCpuModelName(name: string): boolean {
  const key = name.toLowerCase();
  return key === "host" || key === POWER9_FAMILY_ALIAS || POWER9_CPU_MODELS.some((m) => m.name === key);
}
