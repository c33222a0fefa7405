// qemu: target/ppc/translate.c gen_set_Rc0, gen_op_arith_compute_ca/ov, gen_set_access_type: CR0,
// XER[CA/OV] and CR field updates, and the 64-bit arithmetic on halves they and the interpreter
// share (results in module scratch: R_HI/R_LO and the carry and overflow flags).

import { facUnavail, hFacUnavail } from "../excp.js";
import { MSRH_HV, MSRH_SF, MSRL_PR } from "../halves.js";
import type { ExecResult, HwThread } from "../thread.js";

// ExecResult values (thread.ts exports them; repeated here as literals to avoid an import cycle)
export const OK = 0 as ExecResult;
export const INTERRUPT = 2 as ExecResult;

// XER bits (low word): SO, OV, CA, OV32, CA32
export const XER_SO = 0x80000000;
export const XER_OV = 0x40000000;
export const XER_CA = 0x20000000;
export const XER_OV32 = 0x00080000;
export const XER_CA32 = 0x00040000;

export let R_HI = 0;
export let R_LO = 0;
export let CARRY = 0;
export let CARRY32 = 0;
export let OVF = 0;
export let OVF32 = 0;

/** a + b + cin with carry and signed overflow out (64-bit and 32-bit). */
export function add64(aH: number, aL: number, bH: number, bL: number, cin: number): void {
  const lo = (aL >>> 0) + (bL >>> 0) + cin;
  const c32 = lo > 0xffffffff ? 1 : 0;
  const hi = (aH >>> 0) + (bH >>> 0) + c32;
  R_LO = lo >>> 0;
  R_HI = hi >>> 0;
  CARRY = hi > 0xffffffff ? 1 : 0;
  CARRY32 = c32;
  OVF = ((aH ^ R_HI) & (bH ^ R_HI)) >>> 31;
  OVF32 = ((aL ^ R_LO) & (bL ^ R_LO)) >>> 31;
}

export const big = (hi: number, lo: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
export const sbig = (hi: number, lo: number): bigint => BigInt.asIntN(64, big(hi, lo));

export function setGprBig(t: HwThread, rt: number, v: bigint): void {
  const u = BigInt.asUintN(64, v);
  t.gprHi[rt] = Number(u >> 32n);
  t.gprLo[rt] = Number(u & 0xffffffffn);
}

/** Rotate-left of a 64-bit value; result in R_HI/R_LO. */
export function rotl64(hi: number, lo: number, n: number): void {
  n &= 63;
  if (n >= 32) {
    const t = hi;
    hi = lo;
    lo = t;
    n -= 32;
  }
  if (n === 0) {
    R_HI = hi >>> 0;
    R_LO = lo >>> 0;
  } else {
    R_HI = ((hi << n) | (lo >>> (32 - n))) >>> 0;
    R_LO = ((lo << n) | (hi >>> (32 - n))) >>> 0;
  }
}

/** Whether the thread runs in 64-bit mode (MSR[SF]); 32-bit mode truncates addresses and CR0. */
export const sf = (t: HwThread): boolean => (t.msrHi & MSRH_SF) !== 0;

export function setCr0(t: HwThread, hi: number, lo: number): void {
  if (sf(t)) t.setCr0(hi, lo);
  else t.setCr0(lo >> 31 ? 0xffffffff : 0, lo);
}

export function setXerCa(t: HwThread, ca: number, ca32: number): void {
  const s = t.xerSlot;
  t.sprLo[s] = ((t.sprLo[s] & ~(XER_CA | XER_CA32)) | (ca ? XER_CA : 0) | (ca32 ? XER_CA32 : 0)) >>> 0;
}

export function setXerOv(t: HwThread, ov: number, ov32: number): void {
  const s = t.xerSlot;
  t.sprLo[s] =
    ((t.sprLo[s] & ~(XER_OV | XER_OV32)) | (ov ? XER_OV | XER_SO : 0) | (ov32 ? XER_OV32 : 0)) >>> 0;
}

/**
 * XER[CA/CA32] and, with OE, XER[OV/OV32/SO] after an add of the family (add64's flags): in 32-bit
 * mode CA is the carry out of bit 32 and OV the overflow of the low word (Book I 3.3.9; qemu:
 * target/ppc/translate.c gen_op_arith_add and gen_op_arith_compute_ov, NARROW_MODE).
 */
export function setXerCaOfAdd(t: HwThread): void {
  setXerCa(t, sf(t) ? CARRY : CARRY32, CARRY32);
}

export function setXerOvOfAdd(t: HwThread): void {
  setXerOv(t, sf(t) ? OVF : OVF32, OVF32);
}

export const xerCa = (t: HwThread): number => (t.sprLo[t.xerSlot] >>> 29) & 1;

export function branchTo(t: HwThread, hi: number, lo: number): void {
  t.pcHi = sf(t) ? hi >>> 0 : 0;
  t.pcLo = (lo & ~3) >>> 0;
}

/** Facility checks for TAR/EBB/SCV: HFSCR in guest state, FSCR in problem state. */
export function facility(t: HwThread, bit: number): number {
  if (!(t.msrHi & MSRH_HV) && !(t.sprLo[t.hfscrSlot] & (1 << bit))) return hFacUnavail(t, bit);
  if (t.msrLo & MSRL_PR && !(t.sprLo[t.fscrSlot] & (1 << bit))) return facUnavail(t, bit);
  return -1;
}

export function setCrBits(t: HwThread, bf: number, bits: number, withSo = false): void {
  const so = withSo ? (t.sprLo[t.xerSlot] >>> 31) & 1 : 0;
  const shift = 28 - 4 * bf;
  t.cr = ((t.cr & ~(0xf << shift)) | ((bits | so) << shift)) >>> 0;
}

export function cmpNum(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Signed comparison of two 64-bit values held in halves: -1, 0 or 1. */
export function cmpS64(aH: number, aL: number, bH: number, bL: number): number {
  const ah = aH | 0;
  const bh = bH | 0;
  if (ah !== bh) return ah < bh ? -1 : 1;
  return cmpNum(aL >>> 0, bL >>> 0);
}

export function cmpU64(aH: number, aL: number, bH: number, bL: number): number {
  if (aH >>> 0 !== bH >>> 0) return aH >>> 0 < bH >>> 0 ? -1 : 1;
  return cmpNum(aL >>> 0, bL >>> 0);
}
