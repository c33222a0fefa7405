// The pseries interrupt controller mode and its negotiation at CAS.
// qemu: hw/ppc/spapr.c (the ic-mode property: spapr_get_ic_mode / spapr_set_ic_mode; the machine
// class default smc->irq: spapr_irq_dual from pseries-4.1, spapr_irq_xics before), hw/ppc/spapr_irq.c
// (spapr_irq_xics / _xive / _dual, spapr_irq_update_active_intc), hw/ppc/spapr_ovec.c (option
// vectors), hw/ppc/spapr_hcall.c (h_client_architecture_support, do_client_architecture_support,
// cas_check_pvr).
import { QemuError } from "./errors.js";

/** `-machine ic-mode=` */
export type IcMode = "xics" | "xive" | "dual";
/** The controller the guest talks to (spapr->active_intc). */
export type ActiveIntc = "xics" | "xive";

export const IC_MODES: readonly IcMode[] = ["xics", "xive", "dual"];

/** qemu: spapr_set_ic_mode */
export function parseIcMode(value: string): IcMode {
  if ((IC_MODES as readonly string[]).includes(value)) return value as IcMode;
  throw new QemuError('Bad value for "ic-mode" property');
}

/** Which controllers a mode offers (SpaprIrq.xics / .xive). */
export function icModeOffers(mode: IcMode): { xics: boolean; xive: boolean } {
  return { xics: mode !== "xive", xive: mode !== "xics" };
}

/**
 * The controller active at reset, before CAS (spapr_irq_update_active_intc with an empty
 * ov5_cas): XICS when the mode has it, else XIVE.
 */
export function initialIntc(mode: IcMode): ActiveIntc {
  return icModeOffers(mode).xics ? "xics" : "xive";
}

// qemu: include/hw/ppc/spapr_ovec.h, OV_BIT(byte, bit) = (byte - 1) * 8 + bit, bit 0 the MSB
/** OV5 byte 23: the interrupt controller (OV5_XIVE_EXPLOIT = OV_BIT(23, 1), OV5_XIVE_BOTH = OV_BIT(23, 0)). */
export const OV5_INTC_BYTE = 23;
export const OV5_XIVE_EXPLOIT = 0x40;
export const OV5_XIVE_BOTH = 0x80;
/** OV5 byte 24: MMU (OV5_MMU_RADIX_300 = OV_BIT(24, 1), OV5_MMU_BOTH = OV_BIT(24, 0)). */
export const OV5_MMU_BYTE = 24;
export const OV5_MMU_RADIX_300 = 0x40;
export const OV5_MMU_BOTH = 0x80;
/** OV5 byte 26: radix extensions (OV5_MMU_RADIX_GTSE = OV_BIT(26, 1)). */
export const OV5_RADIX_EXT_BYTE = 26;
export const OV5_MMU_RADIX_GTSE = 0x40;

/**
 * `ibm,arch-vec-5-platform-support` (spapr_dt_ov5_platform_support on a POWER9 KVM host): byte
 * pairs (OV5 byte, value): 23 = the interrupt modes (0x00 XICS only, 0x40 XIVE only, 0x80 both,
 * the SpaprIrq's ov5), 24 = MMU (0xc0: hash and radix), 25 = 0x00, 26 = 0x40 (GTSE).
 */
export function platformSupportCells(mode: IcMode): [number, number] {
  const intc = mode === "xics" ? 0x00 : mode === "xive" ? 0x40 : 0x80;
  return [((0x17 << 24) | (intc << 16) | (0x18 << 8) | 0xc0) >>> 0, 0x19001a40];
}

/**
 * The platform's own OV5 (spapr->ov5, the part the model negotiates): XIVE exploitation when the
 * mode offers XIVE, radix and GTSE on POWER9. Indexed by OV5 byte number (1-based, index 0 unused).
 */
export function platformOv5(mode: IcMode): Uint8Array {
  const ov5 = new Uint8Array(OV5_RADIX_EXT_BYTE + 1);
  if (icModeOffers(mode).xive) ov5[OV5_INTC_BYTE] |= OV5_XIVE_EXPLOIT;
  ov5[OV5_MMU_BYTE] |= OV5_MMU_RADIX_300;
  ov5[OV5_RADIX_EXT_BYTE] |= OV5_MMU_RADIX_GTSE;
  return ov5;
}

/**
 * `/chosen/ibm,architecture-vec-5` of an OV5 (spapr_ovec_populate_dt): the length minus one,
 * then the bytes 1..n up to the last non-zero one (one byte at least).
 */
export function ov5Property(ov5: Uint8Array): Uint8Array {
  let last = 0;
  for (let i = 1; i < ov5.length; i++) if (ov5[i] !== 0) last = i;
  const len = Math.max(1, last);
  const out = new Uint8Array(len + 1);
  out[0] = len - 1;
  for (let i = 1; i <= len; i++) out[i] = ov5[i] ?? 0;
  return out;
}

/** What the guest sent to ibm,client-architecture-support (its ibm,architecture-vec). */
export interface ArchitectureVector {
  /** (mask, value) pairs before the terminator (cas_check_pvr). */
  readonly pvrs: readonly { readonly mask: number; readonly value: number }[];
  /** Option vectors by number (1-based), each indexed by byte number (1-based, index 0 unused). */
  readonly vectors: ReadonlyMap<number, Uint8Array>;
}

/**
 * Reads an ibm,architecture-vec from guest memory (cas_check_pvr + spapr_ovec_parse_vector): up to
 * 512 PVR (mask, value) pairs, big-endian, ended by a record with `~mask & value` non-zero; then the
 * number of option vectors minus one, and each vector as its length minus one and its bytes.
 */
export function readArchitectureVector(read8: (addr: number) => number, addr: number): ArchitectureVector {
  const read32 = (a: number) =>
    ((read8(a) << 24) | (read8(a + 1) << 16) | (read8(a + 2) << 8) | read8(a + 3)) >>> 0;
  const pvrs: { mask: number; value: number }[] = [];
  let a = addr;
  for (let i = 0; i < 512; i++) {
    const mask = read32(a);
    const value = read32(a + 4);
    a += 8;
    if ((~mask & value) >>> 0 !== 0) break; // terminator record
    pvrs.push({ mask, value });
  }
  const vectors = new Map<number, Uint8Array>();
  const count = read8(a) + 1;
  a += 1;
  for (let v = 1; v <= count; v++) {
    const len = read8(a) + 1;
    const bytes = new Uint8Array(len + 1);
    for (let i = 1; i <= len; i++) bytes[i] = read8(a + i);
    vectors.set(v, bytes);
    a += len + 1;
  }
  return { pvrs, vectors };
}

/** The outcome of CAS for the interrupt controller and the negotiated OV5 (spapr->ov5_cas). */
export type CasResult =
  | {
      readonly kind: "ok";
      readonly intc: ActiveIntc;
      readonly ov5Cas: Uint8Array;
      readonly guestXive: boolean;
    }
  /** The guest gets H_PARAMETER back (a vector missing: QEMU warns and returns). */
  | { readonly kind: "h_parameter"; readonly warning: string }
  /** QEMU prints the error and exits (error_report + exit(EXIT_FAILURE)). */
  | { readonly kind: "exit"; readonly error: string };

/** do_client_architecture_support, the part about OV5 and the interrupt mode. */
export function negotiateCas(mode: IcMode, vec: ArchitectureVector): CasResult {
  if (!vec.vectors.has(1)) return { kind: "h_parameter", warning: "guest didn't provide option vector 1" };
  const ov5Guest = vec.vectors.get(5);
  if (ov5Guest === undefined) return { kind: "h_parameter", warning: "guest didn't provide option vector 5" };
  const g = (byte: number) => ov5Guest[byte] ?? 0;
  if ((g(OV5_MMU_BYTE) & OV5_MMU_BOTH) !== 0) {
    return { kind: "exit", error: "guest requested hash and radix MMU, which is invalid." };
  }
  if ((g(OV5_INTC_BYTE) & OV5_XIVE_BOTH) !== 0)
    return { kind: "exit", error: "guest requested an invalid interrupt mode" };
  const guestXive = (g(OV5_INTC_BYTE) & OV5_XIVE_EXPLOIT) !== 0;
  // full range of negotiated ov5 capabilities: spapr_ovec_intersect(ov5_cas, spapr->ov5, ov5_guest)
  const platform = platformOv5(mode);
  const ov5Cas = new Uint8Array(platform.length);
  for (let i = 1; i < platform.length; i++) ov5Cas[i] = platform[i] & g(i);
  const offers = icModeOffers(mode);
  if (guestXive && !offers.xive) {
    return {
      kind: "exit",
      error:
        "Guest requested unavailable interrupt mode (XIVE), try the ic-mode=xive or ic-mode=dual machine property",
    };
  }
  if (!guestXive && !offers.xics) {
    return {
      kind: "exit",
      error:
        "Guest requested unavailable interrupt mode (XICS), either don't set the ic-mode machine property or try ic-mode=xics or ic-mode=dual",
    };
  }
  // spapr_irq_update_active_intc: XIVE iff OV5_XIVE_EXPLOIT was negotiated
  return {
    kind: "ok",
    intc: (ov5Cas[OV5_INTC_BYTE] & OV5_XIVE_EXPLOIT) !== 0 ? "xive" : "xics",
    ov5Cas,
    guestXive,
  };
}

/** Why CAS chose the controller it chose, in words (for `stopsim boot`). */
export function casReason(mode: IcMode, r: { intc: ActiveIntc; guestXive: boolean }): string {
  const offer =
    mode === "dual" ? "both XICS and XIVE (ic-mode=dual)" : `only ${mode.toUpperCase()} (ic-mode=${mode})`;
  const asked = r.guestXive
    ? "asked for XIVE exploitation (OV5 byte 23 = 0x40)"
    : "did not ask for XIVE (OV5 byte 23 = 0x00)";
  return `the platform offered ${offer}; the guest ${asked}`;
}

/** SpaprDeviceTreeUpdateHeader { uint32_t version_id = 1 } written before the new tree. */
export const CAS_FDT_HEADER_SIZE = 4;
