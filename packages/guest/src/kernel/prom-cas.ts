// prom_init's ibm,client-architecture-support call, as a guest booted by SLOF makes it through
// the firmware (which passes it on as KVMPPC_H_CAS): the PVRs the kernel supports, its option
// vectors (OV5 byte 23: the interrupt controller it wants, bytes 24/26: the MMU), and a buffer
// where the platform writes the tree the kernel then boots from.
// linux: arch/powerpc/kernel/prom_init.c (ibm_architecture_vec, prom_check_platform_support,
// prom_parse_xive_model, prom_parse_mmu_model, prom_send_capabilities); qemu: hw/ppc/spapr_hcall.c
// h_client_architecture_support (the buffer gets a 4-byte update header, then the tree).
import { decodeDtb } from "@stopsim/devicetree";
import type { Memory } from "@stopsim/isa";
import { KVMPPC_H_CAS, PVR_ARCH_300 } from "@stopsim/linux";
import type { KernelConsole } from "./console.js";
import type { GuestCpu, KOp } from "./cpu.js";

/** Where the kernel puts its architecture vector and the CAS buffer (prom_init's static storage). */
export const PROM_CAS_VEC = 0x3c000;
export const PROM_CAS_BUF = 0x800000;
export const PROM_CAS_BUF_SIZE = 0x100000;

/** OV5 bytes (1-based, as prom_init.c's struct option_vector5 names them). */
const OV5_INTARCH = 23;
const OV5_MMU = 24;
const OV5_RADIX_EXT = 26;
const OV5_FEAT_XIVE_EXPLOIT = 0x40;
const OV5_FEAT_XIVE_EITHER = 0x80;
const OV5_FEAT_MMU_RADIX = 0x40;
const OV5_FEAT_RADIX_GTSE = 0x40;

export interface CasHost {
  readonly cpu: GuestCpu;
  readonly ram: Memory;
  readonly console: KernelConsole;
  /** The kernel was booted with xive=off. */
  readonly xiveOff: boolean;
}

/** The OV5 bytes prom_init asks for, from the platform's ibm,arch-vec-5-platform-support pairs. */
export function promOv5Request(platformSupport: Uint8Array, xiveOff: boolean): Uint8Array {
  const ov5 = new Uint8Array(OV5_RADIX_EXT + 1);
  for (let i = 0; i + 1 < platformSupport.length; i += 2) {
    const index = platformSupport[i];
    const val = platformSupport[i + 1];
    if (index === OV5_INTARCH) {
      // prom_parse_xive_model: "either" -> XIVE unless xive=off; "exploitation only" -> XIVE
      if ((val === OV5_FEAT_XIVE_EITHER && !xiveOff) || val === OV5_FEAT_XIVE_EXPLOIT) {
        ov5[OV5_INTARCH] = OV5_FEAT_XIVE_EXPLOIT;
      }
    } else if (index === OV5_MMU && (val & OV5_FEAT_MMU_RADIX) !== 0) {
      // prom_parse_mmu_model: radix when offered (the POWER9 default)
      ov5[OV5_MMU] = OV5_FEAT_MMU_RADIX;
    } else if (index === OV5_RADIX_EXT && (val & OV5_FEAT_RADIX_GTSE) !== 0) {
      ov5[OV5_RADIX_EXT] = OV5_FEAT_RADIX_GTSE;
    }
  }
  return ov5;
}

/**
 * prom_send_capabilities: writes ibm_architecture_vec (PVR pairs ended by a terminator record,
 * then six option vectors as length-1 and bytes) and calls CAS. Returns where the tree the kernel
 * boots from is: the platform's new tree in the buffer, or the old one when CAS failed.
 */
export function* promCas(h: CasHost, dtbAddr: number): Generator<KOp, number, void> {
  const { ram, console: con } = h;
  let support: Uint8Array = new Uint8Array(0);
  try {
    const total = ram.read32(dtbAddr + 4, false);
    const bytes = new Uint8Array(total);
    for (let i = 0; i < total; i++) bytes[i] = ram.read8(dtbAddr + i);
    support =
      decodeDtb(bytes).getNode("/chosen")?.getProp("ibm,arch-vec-5-platform-support")?.rawValue ?? support;
  } catch {
    return dtbAddr; // no readable tree: the kernel reports it itself
  }
  const ov5 = promOv5Request(support, h.xiveOff);
  let a = PROM_CAS_VEC;
  const w32 = (v: number) => {
    ram.write32(a, v, false);
    a += 4;
  };
  w32(0xffff0000); // POWER9 (raw)
  w32(0x004e0000);
  w32(0xffffffff); // architecture 3.00 (logical PVR)
  w32(PVR_ARCH_300);
  w32(0x00000000); // terminator: ~mask & value != 0
  w32(0xffffffff);
  const vectors: Uint8Array[] = [
    Uint8Array.of(0x80), // OV1: OV1_PPC_3_00
    new Uint8Array(1),
    new Uint8Array(1),
    new Uint8Array(1),
    ov5.subarray(1),
    new Uint8Array(3), // OV6: OS name
  ];
  ram.write8(a++, vectors.length - 1);
  for (const v of vectors) {
    ram.write8(a++, v.length - 1);
    for (const b of v) ram.write8(a++, b);
  }
  con.printk("info", "Calling ibm,client-architecture-support...");
  const [rc] = yield* h.cpu.hcall(
    KVMPPC_H_CAS,
    BigInt(PROM_CAS_VEC),
    BigInt(PROM_CAS_BUF),
    BigInt(PROM_CAS_BUF_SIZE),
  );
  if (rc !== 0n || ram.read32(PROM_CAS_BUF, false) !== 1) {
    con.printk("warning", "WARNING: ibm,client-architecture-support call FAILED!");
    return dtbAddr;
  }
  con.printk("info", ` done (interrupt controller ${ov5[OV5_INTARCH] !== 0 ? "XIVE" : "XICS"} requested)`);
  return PROM_CAS_BUF + 4;
}
